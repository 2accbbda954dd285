"""Unsigned extra files: a forged page beside the signed ones is refused, naming the file.

What is tolerated (and why) is written down in docs/verification-policy.md, "Unsigned files".
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from support.tuf_release import sample_files, verify_files
from tamizdat.errors import TamperedError
from tamizdat.layout import METADATA_DIR, TARGETS_DIR, WELL_KNOWN, by_hash_path
from tamizdat.trust.sources import DirectorySource, ListableSource, MemorySource, Source
from tamizdat.trust.verify import verify_release

FORGED = "news/2026/forged/index.html"
FORGED_PAGE = b"<p>the minister never said this</p>"


def test_injected_page_in_release_directory_refused(publisher, tmp_path: Path) -> None:
    release = publisher.publish(sample_files())
    copy = release.write(tmp_path / "usb")
    (copy / "news/2026/forged").mkdir(parents=True)
    (copy / FORGED).write_bytes(FORGED_PAGE)
    source = DirectorySource(copy, name="usb-stick")
    with pytest.raises(TamperedError) as info:
        verify_release(source, fingerprint=release.fingerprint)
    assert info.value.message == f"unsigned file {FORGED}: not published by this publisher"
    assert info.value.where == f"usb-stick: {FORGED}"


def test_injected_page_in_memory_copy_refused_with_the_others_counted(publisher) -> None:
    release = publisher.publish(sample_files())
    for path in (FORGED, "about/index.html", "news/2026/fake2/index.html"):
        release.files[path] = FORGED_PAGE
    with pytest.raises(
        TamperedError,
        match=r"unsigned file about/index.html: not published by this publisher "
        r"\(and 2 more: news/2026/fake2/index.html, news/2026/forged/index.html\)",
    ):
        verify_files(release.files, release.fingerprint)


@pytest.mark.parametrize(
    "path",
    [
        f"{WELL_KNOWN}/notice.html",
        f"{METADATA_DIR}/evil.html",
        f"{METADATA_DIR}/sub/1.targets.json",
        f"{TARGETS_DIR}/news/index.html",  # not named <sha256>.<name>
    ],
)
def test_unsigned_file_inside_well_known_refused(publisher, path: str) -> None:
    release = publisher.publish(sample_files())
    release.files[path] = FORGED_PAGE
    with pytest.raises(TamperedError, match=rf"unsigned file {path}: not published"):
        verify_files(release.files, release.fingerprint)


def test_by_hash_looking_object_is_tolerated_and_counted(publisher, state_dir) -> None:
    # Content-addressed: its name commits to its bytes, so it cannot pass for a signed page
    # (verifying clients fetch only hashes the signed metadata names). Tolerated, counted.
    release = publisher.publish(sample_files())
    injected = by_hash_path(FORGED, hashlib.sha256(FORGED_PAGE).hexdigest())
    release.files[injected] = FORGED_PAGE
    report = verify_files(release.files, release.fingerprint, state_dir)
    assert report.outcome == "current"
    assert report.listing_checked
    assert report.unreferenced_objects == 1


def test_by_hash_object_whose_bytes_differ_from_its_name_refused(publisher) -> None:
    release = publisher.publish(sample_files())
    injected = by_hash_path(FORGED, hashlib.sha256(b"something else").hexdigest())
    release.files[injected] = FORGED_PAGE
    with pytest.raises(TamperedError, match=r"does not match the hash in its name") as info:
        verify_files(release.files, release.fingerprint)
    assert info.value.where == f"mirror-A: {injected}"


def test_previous_release_objects_and_metadata_kept_for_mirrors_mid_update(publisher) -> None:
    first = publisher.publish(sample_files("one"))
    second = publisher.publish(sample_files("two"))
    # What release/ holds after the second sign: both releases' objects and metadata,
    # the natural paths of the second only.
    kept = {p: d for p, d in first.files.items() if p.startswith(f"{WELL_KNOWN}/")}
    report = verify_files({**kept, **second.files}, second.fingerprint)
    assert report.outcome == "current"
    assert report.unreferenced_objects == 4  # home, feed, election report, log of release 1


def test_desktop_litter_and_bookkeeping_tolerated(publisher) -> None:
    release = publisher.publish(sample_files())
    release.files["news/.DS_Store"] = b"\0\0\0\1Bud1"
    release.files["Thumbs.db"] = b"\xd0\xcf"
    release.files[f"{WELL_KNOWN}/bundle.json"] = b'{"format": "tamizdat-bundle/1"}'
    assert verify_files(release.files, release.fingerprint).outcome == "current"


def test_symlinked_folder_refused_not_followed(publisher, tmp_path: Path) -> None:
    """A link is never followed or listed as a file: the copy is tampered, naming it
    (the whole class is in test_planted_files.py)."""
    release = publisher.publish(sample_files())
    copy = release.write(tmp_path / "copy")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "index.html").write_bytes(FORGED_PAGE)
    os.symlink(elsewhere, copy / "news/2026/linked")
    with pytest.raises(TamperedError, match=r"news/2026/linked: .* symbolic link"):
        list(DirectorySource(copy).list_files())
    with pytest.raises(TamperedError, match=r"news/2026/linked: .* symbolic link"):
        verify_release(DirectorySource(copy), fingerprint=release.fingerprint)


def test_sample_check_does_not_audit_the_listing(publisher) -> None:
    release = publisher.publish(sample_files())
    release.files[FORGED] = FORGED_PAGE
    report = verify_files(release.files, release.fingerprint, check="sample", sample_size=2)
    assert report.outcome == "current"
    assert not report.listing_checked


class _FetchOnly:
    """A source without the listing capability (like an HTTP mirror)."""

    remote = False
    wire_bytes = None

    def __init__(self, files: dict[str, bytes]) -> None:
        self._inner = MemorySource(files, "fetch-only")
        self.name = "fetch-only"

    def fetch(self, path: str, max_length: int) -> bytes:
        return self._inner.fetch(path, max_length)


def test_source_without_listing_still_verifies(publisher) -> None:
    release = publisher.publish(sample_files())
    release.files[FORGED] = FORGED_PAGE
    source = _FetchOnly(release.files)
    assert isinstance(source, Source)
    assert not isinstance(source, ListableSource)
    report = verify_release(source, fingerprint=release.fingerprint)
    assert report.outcome == "current"
    assert not report.listing_checked
    assert isinstance(MemorySource({}), ListableSource)
    assert isinstance(DirectorySource(Path(".")), ListableSource)
