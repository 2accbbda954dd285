"""Signatures are checked over python-tuf's canonical bytes, computed fast (checks.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import DelegatedRole, Delegations, Metadata, TargetFile, Targets

from tamizdat.errors import BadSignatureError
from tamizdat.trust.verify.checks import signed_bytes, verify_signatures


def _targets(paths: list[str], extra: dict[str, Any] | None = None) -> Metadata[Targets]:
    files = {p: TargetFile(3, {"sha256": "ab" * 32}, p) for p in paths}
    signed = Targets(7, None, datetime(2030, 1, 1, tzinfo=UTC), files, None, extra or {})
    return Metadata(signed)


@pytest.mark.parametrize(
    ("paths", "extra"),
    [
        (["index.html", "новости/2026/статья/index.html"], None),
        (['say "hi"/index.html', "back\\slash.html", "emoji-\U0001f4f0.html"], None),
        (["a.html"], {"x-note": "line one\nline two\ttab \x01 \x7f"}),  # control characters
        (["a.html"], {"x-deep": {"b": [1, True, None, "z"], "a": {"\u2028": "é"}}}),
    ],
    ids=["unicode", "quotes-backslashes", "control-chars", "nested"],
)
def test_signed_bytes_equal_python_tufs_canonical_json(
    paths: list[str], extra: dict[str, Any] | None
) -> None:
    md = _targets(paths, extra)
    assert signed_bytes(md) == md.signed_bytes


def test_signature_over_canonical_bytes_verifies_and_an_edit_does_not() -> None:
    signer = CryptoSigner.generate_ed25519()
    root_like = _targets(["index.html"])
    md = _targets(["новости/index.html"], {"x-note": "a\nb"})
    delegating = root_like.signed
    delegating.delegations = Delegations(
        {signer.public_key.keyid: signer.public_key},
        {"desk": DelegatedRole("desk", [signer.public_key.keyid], 1, True, ["*"])},
    )
    md.sign(signer)
    verify_signatures(delegating, "desk", md, "desk.json")
    md.signed.unrecognized_fields["x-note"] = "a\nc"
    with pytest.raises(BadSignatureError):
        verify_signatures(delegating, "desk", md, "desk.json")
