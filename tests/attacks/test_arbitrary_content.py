"""Arbitrary content: one changed byte anywhere is refused, naming the file and the source."""

from __future__ import annotations

import pytest

from support.tuf_release import sample_files, verify_files
from tamizdat.errors import BadSignatureError, TamperedError
from tamizdat.layout import METADATA_DIR, by_hash_path

PAGE = "news/2026/election/index.html"


def _flip(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 1])


def test_changed_byte_in_natural_path_page_is_tampered(publisher) -> None:
    release = publisher.publish(sample_files())
    release.files[PAGE] = _flip(release.files[PAGE])
    with pytest.raises(TamperedError, match=r"differs from the signed copy") as info:
        verify_files(release.files, release.fingerprint)
    assert info.value.where == f"mirror-A: {PAGE}"


def test_changed_byte_in_by_hash_object_is_tampered(publisher) -> None:
    release = publisher.publish(sample_files())
    sha = __import__("hashlib").sha256(release.files[PAGE]).hexdigest()
    obj = by_hash_path(PAGE, sha)
    release.files[obj] = _flip(release.files[obj])
    with pytest.raises(TamperedError, match=rf"{PAGE} differs from the signed copy") as info:
        verify_files(release.files, release.fingerprint)
    assert info.value.where == f"mirror-A: {obj}"


def test_changed_byte_in_metadata_breaks_its_signature(publisher) -> None:
    release = publisher.publish(sample_files())
    name = f"{METADATA_DIR}/1.news.json"
    release.files[name] = release.files[name].replace(b'"length": ', b'"length": 1', 1)
    # The snapshot lists only versions, so the edit reaches the signature check.
    with pytest.raises(BadSignatureError, match=r"found 0") as info:
        verify_files(release.files, release.fingerprint)
    assert info.value.where == f"mirror-A: {name}"


def test_changed_byte_in_snapshot_differs_from_timestamp_hash(publisher) -> None:
    release = publisher.publish(sample_files())
    name = f"{METADATA_DIR}/1.snapshot.json"
    release.files[name] = release.files[name].replace(b"\n ", b"\t ", 1)
    with pytest.raises(TamperedError, match=r"expected snapshot metadata as signed by timestamp"):
        verify_files(release.files, release.fingerprint)


def test_missing_signed_file_is_tampered(publisher) -> None:
    release = publisher.publish(sample_files())
    del release.files[PAGE]
    with pytest.raises(TamperedError, match=r"missing from the source"):
        verify_files(release.files, release.fingerprint)
