"""Publication time: the report's date is the release's own signed log entry, nothing else."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from support.tuf_release import sample_files, verify_files
from tamizdat.errors import TamperedError
from tamizdat.layout import LOG_JSON, by_hash_path, log_entry_path


def test_published_is_the_signing_time_of_this_release(publisher) -> None:
    signed_at = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    publisher.publish(sample_files("one"), when=signed_at - timedelta(days=2))
    release = publisher.publish(sample_files("two"), when=signed_at)
    report = verify_files(release.files, release.fingerprint, now=signed_at)
    assert report.published == signed_at


def test_published_never_borrowed_from_an_older_entry(publisher) -> None:
    first = datetime(2026, 3, 1, tzinfo=UTC)
    publisher.publish(sample_files("one"), when=first)
    # Release 2's (signed) log has no entry of its own: its time is unknown, not release 1's.
    release = publisher.publish(sample_files("two"), log=publisher.log, when=first)
    report = verify_files(release.files, release.fingerprint, now=first)
    assert report.outcome == "current"
    assert report.log_head == (0, publisher.log.entries[0].hash)
    assert report.published is None


def _backdated(release, publisher) -> tuple[str, bytes]:  # type: ignore[no-untyped-def]
    """The head entry's by-hash path and its bytes with the year moved back (same length)."""
    entry = publisher.log.entries[-1]
    location = by_hash_path(log_entry_path(entry.index), entry.hash)
    forged = release.files[location].replace(b"2026-03-01T00:00:00Z", b"2025-03-01T00:00:00Z")
    assert forged != release.files[location]
    return location, forged


def test_forged_publication_time_is_tampered(publisher) -> None:
    when = datetime(2026, 3, 1, tzinfo=UTC)
    release = publisher.publish(sample_files(), when=when)
    # Backdate the release in its log entry, in place: the signed head names other bytes.
    location, forged = _backdated(release, publisher)
    release.files[location] = forged
    with pytest.raises(TamperedError, match=r"log chain names") as caught:
        verify_files(release.files, release.fingerprint, now=when)
    assert caught.value.where == f"mirror-A: {location}"


def test_forged_entry_with_a_rewritten_head_is_tampered(publisher) -> None:
    when = datetime(2026, 3, 1, tzinfo=UTC)
    release = publisher.publish(sample_files(), when=when)
    # Backdate the entry and point the head at it: the head is a signed target.
    _location, forged = _backdated(release, publisher)
    digest = hashlib.sha256(forged).hexdigest()
    release.files[by_hash_path(log_entry_path(0), digest)] = forged
    head = release.files[LOG_JSON].replace(publisher.log.entries[-1].hash.encode(), digest.encode())
    release.files[LOG_JSON] = head
    release.files[by_hash_path(LOG_JSON, hashlib.sha256(head).hexdigest())] = head
    with pytest.raises(TamperedError, match=rf"{LOG_JSON} differs from the signed copy"):
        verify_files(release.files, release.fingerprint, now=when)
