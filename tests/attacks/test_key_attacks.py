"""Signatures and keys: thresholds, unauthorised keys, desks, rotation, revocation, pinning."""

from __future__ import annotations

import pytest

from support.tuf_release import ReleaseFactory, new_key, sample_files, verify_files
from tamizdat.errors import BadSignatureError, NotThisPublisherError, UnauthorizedPathError
from tamizdat.layout import METADATA_DIR


def test_root_below_threshold_refused(publisher) -> None:
    # Root v2 signed by one of the two required old root keys (plus the new keys).
    publisher.rotate_root(signers=[publisher.root_keys[0]])
    release = publisher.publish(sample_files())
    with pytest.raises(
        BadSignatureError, match=r"expected valid signatures by 2 .* root, found 1"
    ) as info:
        verify_files(release.files, release.fingerprint)
    assert info.value.where == f"mirror-A: {METADATA_DIR}/2.root.json"


def test_key_not_authorised_for_role_refused(publisher) -> None:
    # The snapshot key (a real publisher key) signs the timestamp.
    release = publisher.publish(
        sample_files(), signed_by={"timestamp": [publisher.keys["snapshot"]]}
    )
    with pytest.raises(
        BadSignatureError, match=r"found 0, plus 1 by keys not authorised for timestamp"
    ):
        verify_files(release.files, release.fingerprint)


def test_desk_key_cannot_sign_another_desk(publisher) -> None:
    release = publisher.publish(sample_files(), signed_by={"opinion": [publisher.keys["news"]]})
    with pytest.raises(BadSignatureError, match=r"authorised for opinion"):
        verify_files(release.files, release.fingerprint)


def test_desk_signing_outside_its_section_refused(publisher) -> None:
    files = sample_files()
    files["opinion/forged/index.html"] = b"<p>forged column</p>"
    release = publisher.publish(files, assign={"opinion/forged/index.html": "news"})
    with pytest.raises(
        UnauthorizedPathError, match=r"role news signed opinion/forged/index.html, outside"
    ):
        verify_files(release.files, release.fingerprint)


def test_key_rotation_followed_root_v1_to_v3(publisher, state_dir) -> None:
    publisher.rotate_root(role="timestamp")
    publisher.rotate_root(new_root_keys=[new_key() for _ in range(3)])
    release = publisher.publish(sample_files())
    report = verify_files(release.files, release.fingerprint, state_dir)
    assert report.outcome == "current"
    assert release.files[f"{METADATA_DIR}/3.root.json"]


def test_revoked_timestamp_key_refused(publisher) -> None:
    old_timestamp_key = publisher.keys["timestamp"]
    publisher.rotate_root(role="timestamp")
    release = publisher.publish(sample_files(), signed_by={"timestamp": [old_timestamp_key]})
    with pytest.raises(BadSignatureError, match=r"timestamp"):
        verify_files(release.files, release.fingerprint)


def test_revoked_root_keys_cannot_sign_next_root(publisher) -> None:
    old_root_keys = list(publisher.root_keys)
    publisher.rotate_root(new_root_keys=[new_key() for _ in range(3)])
    # The old holders (revoked) try to sign root v3 alone.
    publisher.rotate_root(role="snapshot", signers=old_root_keys)
    release = publisher.publish(sample_files())
    with pytest.raises(BadSignatureError, match=r"3.root.json") as info:
        verify_files(release.files, release.fingerprint)
    assert "root, found 0" in info.value.message


def test_wrong_fingerprint_is_not_this_publisher(publisher) -> None:
    release = publisher.publish(sample_files())
    other = ReleaseFactory.newsroom()
    with pytest.raises(
        NotThisPublisherError, match=rf"expected the root with fingerprint {other.fingerprint}"
    ):
        verify_files(release.files, other.fingerprint)
