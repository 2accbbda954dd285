"""Bundles as copies to verify: a changed byte or an added page in the file is refused.

A bundle stores each file once at its natural path; the verifier reads the by-hash view
from those entries with hashes from the signed metadata, and audits the entry list for
files no role signed, as it does for a release directory.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from support.tuf_release import sample_files
from tamizdat.channels.bundle import open_bundle, write_bundle
from tamizdat.channels.zipwrite import CanonicalZipWriter
from tamizdat.errors import TamperedError
from tamizdat.trust.verify.whole import verify_release

ELECTION = "news/2026/election/index.html"


def _bundle(publisher, tmp_path: Path) -> tuple[Path, str]:  # type: ignore[no-untyped-def]
    release = publisher.publish(sample_files())
    out = tmp_path / "news.zip"
    write_bundle(release.write(tmp_path / "release"), out)
    return out, release.fingerprint


def _rewrite(bundle: Path, out: Path, changes: dict[str, bytes]) -> Path:
    """The same bundle with entries replaced or added (an attacker's edit), written in the
    canonical ZIP form: the attacker has tamizdat too, so only the verifier can catch it."""
    with open_bundle(bundle) as source:
        files = {name: source.fetch(name, 1 << 20) for name in source.names()}
    files.update(changes)
    with out.open("wb") as handle:
        writer = CanonicalZipWriter(handle, str(out))
        for name in sorted(files):
            writer.add(name, files[name], deflate=True)
        writer.finish()
    return out


def test_honest_bundle_verifies_with_its_listing_audited(publisher, tmp_path: Path) -> None:
    bundle, fingerprint = _bundle(publisher, tmp_path)
    with open_bundle(bundle) as source:
        report = verify_release(source, fingerprint=fingerprint)
    assert report.outcome == "current"
    assert report.listing_checked
    assert report.files_checked == len(sample_files()) + 2  # and the log head, entry


def test_changed_byte_in_a_bundled_page_refused_naming_it(publisher, tmp_path: Path) -> None:
    bundle, fingerprint = _bundle(publisher, tmp_path)
    forged = _rewrite(bundle, tmp_path / "forged.zip", {ELECTION: b"<p>election reporT one</p>"})
    with open_bundle(forged) as source, pytest.raises(TamperedError) as info:
        verify_release(source, fingerprint=fingerprint)
    assert f"{ELECTION} differs from the signed copy" in info.value.message
    assert info.value.where is not None
    assert info.value.where.startswith("bundle forged.zip: ")
    assert info.value.where.endswith(".index.html")


def test_page_added_to_a_bundle_refused_as_unsigned(publisher, tmp_path: Path) -> None:
    bundle, fingerprint = _bundle(publisher, tmp_path)
    page = "news/2026/forged/index.html"
    forged = _rewrite(bundle, tmp_path / "added.zip", {page: b"<p>never said</p>"})
    with open_bundle(forged) as source, pytest.raises(TamperedError) as info:
        verify_release(source, fingerprint=fingerprint)
    assert info.value.message == f"unsigned file {page}: not published by this publisher"
    assert info.value.where == f"bundle added.zip: {page}"
