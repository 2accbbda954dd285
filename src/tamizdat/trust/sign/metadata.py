"""Small helpers over python-tuf's metadata API: signing, wire bytes, expiry dates.

Invariant: the bytes we sign are exactly the OLPC canonical JSON python-tuf verifies with
(``CanonicalJSONSerializer``). :class:`FastCanonicalSerializer` produces them with the C
``json`` encoder and falls back to securesystemslib's encoder whenever the two could
differ (any JSON escape other than ``\\\\`` and ``\\"``, i.e. control characters), so large
targets roles sign in milliseconds instead of seconds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from securesystemslib.formats import encode_canonical
from securesystemslib.signer import Signer
from tuf.api.metadata import Metadata, Signed
from tuf.api.serialization import SignedSerializer
from tuf.api.serialization.json import JSONSerializer

__all__ = [
    "FastCanonicalSerializer",
    "expiry_after",
    "sign_metadata",
    "to_wire",
    "utc_now",
]

# Only \\ and \" are escapes canonical JSON shares with the json module; anything else
# (\n, \t, \u00XX, …) means a control character, which canonical JSON writes raw.
_OTHER_ESCAPE = re.compile(r'\\[^\\"]')
_WIRE = JSONSerializer(compact=True)


class FastCanonicalSerializer(SignedSerializer):
    """OLPC canonical JSON of ``Signed`` (same bytes as python-tuf's, computed faster)."""

    def serialize(self, signed_obj: Signed) -> bytes:
        data: dict[str, Any] = signed_obj.to_dict()
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if _OTHER_ESCAPE.search(text):
            return str(encode_canonical(data)).encode("utf-8")
        return text.encode("utf-8")


_CANONICAL = FastCanonicalSerializer()


def sign_metadata(metadata: Metadata[Any], signers: Sequence[Signer]) -> None:
    """Replace the signatures of ``metadata`` with one by each signer (TUF §4.2)."""
    metadata.signatures.clear()
    for signer in signers:
        metadata.sign(signer, append=True, signed_serializer=_CANONICAL)


def to_wire(metadata: Metadata[Any]) -> bytes:
    """Compact JSON bytes as written to disk (sorted keys, no whitespace)."""
    return _WIRE.serialize(metadata)


def utc_now() -> datetime:
    """Now, in UTC, to the second (TUF dates carry no fractions)."""
    return datetime.now(UTC).replace(microsecond=0)


def expiry_after(now: datetime, days: int) -> datetime:
    """``now`` plus ``days``, to the second, in UTC."""
    return (now.astimezone(UTC) + timedelta(days=days)).replace(microsecond=0)
