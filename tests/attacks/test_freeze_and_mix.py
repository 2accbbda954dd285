"""Freeze (an expired timestamp is stale, never current) and mix-and-match."""

from __future__ import annotations

from datetime import timedelta

import pytest

from support.tuf_release import now, sample_files, verify_files
from tamizdat.errors import ExpiredMetadataError, MixAndMatchError
from tamizdat.layout import METADATA_DIR
from tamizdat.trust.verify.policy import TrustPolicy


def test_frozen_mirror_is_stale_never_current(publisher, state_dir) -> None:
    release = publisher.publish(sample_files(), timestamp_expires=now() - timedelta(hours=1))
    report = verify_files(release.files, release.fingerprint, state_dir)
    assert report.outcome == "stale"
    assert report.stale_roles == ("timestamp",)
    assert report.expires < now()
    assert report.published is not None


def test_old_usb_copy_is_stale_later(publisher) -> None:
    release = publisher.publish(sample_files())
    later = now() + timedelta(days=30)
    report = verify_files(release.files, release.fingerprint, now=later)
    assert report.outcome == "stale"
    assert set(report.stale_roles) == {"timestamp", "snapshot"}


def test_frozen_timestamp_refused_in_strict_mode(publisher) -> None:
    release = publisher.publish(sample_files(), timestamp_expires=now() - timedelta(hours=1))
    policy = TrustPolicy(release.files[f"{METADATA_DIR}/1.root.json"], now=now(), allow_stale=False)
    with pytest.raises(ExpiredMetadataError, match=r"timestamp expired"):
        policy.update_timestamp(release.files[f"{METADATA_DIR}/timestamp.json"])


def test_snapshot_of_another_release_refused(publisher) -> None:
    first = publisher.publish(sample_files("one"))
    second = publisher.publish(sample_files("two"))
    mixed = dict(second.files)
    # The mirror serves release 1's snapshot under release 2's name.
    mixed[f"{METADATA_DIR}/2.snapshot.json"] = first.files[f"{METADATA_DIR}/1.snapshot.json"]
    with pytest.raises(MixAndMatchError, match=r"expected snapshot version 2 .* found version 1"):
        verify_files(mixed, second.fingerprint)


def test_targets_role_of_another_release_refused(publisher) -> None:
    first = publisher.publish(sample_files("one"))
    second = publisher.publish(sample_files("two"))
    mixed = dict(second.files)
    mixed[f"{METADATA_DIR}/2.news.json"] = first.files[f"{METADATA_DIR}/1.news.json"]
    with pytest.raises(MixAndMatchError, match=r"expected news version 2 .* found 1"):
        verify_files(mixed, second.fingerprint)
