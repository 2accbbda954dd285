"""Publication time: the report's date is the release's own signed log entry, nothing else."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import tamizdat_test_release_builder as builder

from tamizdat.errors import TamperedError
from tamizdat.layout import LOG_JSON, by_hash_path


def test_published_is_the_signing_time_of_this_release(publisher) -> None:
    signed_at = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    publisher.publish(builder.sample_files("one"), when=signed_at - timedelta(days=2))
    release = publisher.publish(builder.sample_files("two"), when=signed_at)
    report = builder.verify(release.files, release.fingerprint, now=signed_at)
    assert report.published == signed_at


def test_published_never_borrowed_from_an_older_entry(publisher) -> None:
    first = datetime(2026, 3, 1, tzinfo=UTC)
    publisher.publish(builder.sample_files("one"), when=first)
    # Release 2's (signed) log has no entry of its own: its time is unknown, not release 1's.
    release = publisher.publish(builder.sample_files("two"), log=publisher.log, when=first)
    report = builder.verify(release.files, release.fingerprint, now=first)
    assert report.outcome == "current"
    assert report.log_head == (0, publisher.log.entries[0].hash)
    assert report.published is None


def test_forged_publication_time_is_tampered(publisher) -> None:
    when = datetime(2026, 3, 1, tzinfo=UTC)
    release = publisher.publish(builder.sample_files(), when=when)
    # Backdate the release in the log (same length: only the hash can tell).
    forged = release.files[LOG_JSON].replace(b"2026-03-01T00:00:00Z", b"2025-03-01T00:00:00Z")
    assert forged != release.files[LOG_JSON]
    release.files[LOG_JSON] = forged
    release.files[by_hash_path(LOG_JSON, hashlib.sha256(forged).hexdigest())] = forged
    with pytest.raises(TamperedError, match=rf"{LOG_JSON} differs from the signed copy"):
        builder.verify(release.files, release.fingerprint, now=when)
