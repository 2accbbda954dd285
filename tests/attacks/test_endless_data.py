"""Endless data: metadata past its hard limit and files past their signed length."""

from __future__ import annotations

import hashlib

import pytest

from support.tuf_release import sample_files, verify_files
from tamizdat.errors import OversizeError
from tamizdat.layout import METADATA_DIR, by_hash_path
from tamizdat.trust.verify.policy import Limits


def test_oversized_timestamp_refused(publisher) -> None:
    release = publisher.publish(sample_files())
    release.files[f"{METADATA_DIR}/timestamp.json"] += b" " * (20 * 1024)
    with pytest.raises(OversizeError, match=r"expected at most 16384 bytes"):
        verify_files(release.files, release.fingerprint)


def test_oversized_root_refused_by_limit(publisher) -> None:
    publisher.rotate_root(role="timestamp")
    release = publisher.publish(sample_files())
    release.files[f"{METADATA_DIR}/2.root.json"] += b" " * 4096
    with pytest.raises(OversizeError, match=r"2.root.json"):
        verify_files(release.files, release.fingerprint, limits=Limits(root_max_bytes=4096))


def test_endless_root_chain_refused(publisher) -> None:
    for _ in range(3):
        publisher.rotate_root()
    release = publisher.publish(sample_files())
    with pytest.raises(OversizeError, match=r"at most 2 root rotations"):
        verify_files(release.files, release.fingerprint, limits=Limits(max_root_rotations=2))


def test_target_longer_than_signed_refused(publisher) -> None:
    release = publisher.publish(sample_files())
    page = "news/2026/flood/index.html"
    obj = by_hash_path(page, hashlib.sha256(release.files[page]).hexdigest())
    release.files[obj] += b"\0" * 10_000_000
    with pytest.raises(OversizeError, match=r"expected the signed 19 bytes, found more") as info:
        verify_files(release.files, release.fingerprint)
    assert info.value.where == f"mirror-A: {obj}"
