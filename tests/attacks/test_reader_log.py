"""The reader's sync checks the publication log as `tamizdat verify` does, before storing.

A log that is shorter than the one this store saw is a rollback; a log that rewrites an
entry is a fork. Either way the outcome names it and the store keeps its release.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import tamizdat_test_release_builder as builder

from tamizdat.reader.client import add_subscription
from tamizdat.reader.mirrors import MirrorPool
from tamizdat.reader.store import Store
from tamizdat.reader.sync import SyncReport, update_store
from tamizdat.trust.sources import MemorySource


def _store(tmp_path: Path, publisher) -> Store:  # type: ignore[no-untyped-def]
    return add_subscription("news", fingerprint=publisher.fingerprint, store_dir=tmp_path)


def _sync(store: Store, release) -> SyncReport:  # type: ignore[no-untyped-def]
    return update_store(store, MirrorPool([MemorySource(release.files, "mirror-A")]))


def _synced_to_two(tmp_path: Path, publisher) -> Store:  # type: ignore[no-untyped-def]
    store = _store(tmp_path, publisher)
    assert _sync(store, publisher.publish(builder.sample_files("one"))).outcome == "current"
    assert _sync(store, publisher.publish(builder.sample_files("two"))).version == 2
    return store


def test_sync_remembers_the_log_head_role_keys_and_the_signing_time(tmp_path, publisher) -> None:
    store = _store(tmp_path, publisher)
    when = builder.now() - timedelta(hours=5)
    release = publisher.publish(builder.sample_files("one"), when=when)
    report = _sync(store, release)
    assert report.outcome == "current"
    assert report.published == when.isoformat()
    seen = store.seen
    assert seen is not None
    head = publisher.log.entries[-1]
    assert seen.log_head == (0, head.hash)
    assert seen.role_keys["news"] == (publisher.keys["news"].public_key.keyid,)
    assert set(seen.role_keys) == {"targets", "news", "opinion"}


def test_sync_refuses_a_shorter_log_and_keeps_the_release(tmp_path, publisher) -> None:
    store = _synced_to_two(tmp_path, publisher)
    short = type(publisher.log)(publisher.log.entries[:1])
    third = publisher.publish(builder.sample_files("three"), log=short)
    report = _sync(store, third)
    assert report.outcome == "rollback"
    assert "publication log of at least 2 entries" in (report.problem or "")
    assert report.where is not None
    assert report.where.endswith(".log.json")  # the same bytes as release 1's log, held
    assert store.release is not None
    assert store.release.version == 2


def test_sync_refuses_a_log_that_rewrites_history(tmp_path, publisher) -> None:
    store = _synced_to_two(tmp_path, publisher)
    forged = builder.append_entry(
        type(publisher.log)(),
        version=1,
        time="2026-01-01T00:00:00Z",
        snapshot_sha256="0" * 64,
        added=["news/2026/election/index.html"],
    )
    forged = builder.append_entry(
        forged, version=2, time="2026-01-02T00:00:00Z", snapshot_sha256="1" * 64
    )
    third = publisher.publish(builder.sample_files("three"), log=forged)
    report = _sync(store, third)
    assert report.outcome == "rollback"
    assert "expected the log to extend entry 1" in (report.problem or "")
    assert store.release is not None
    assert store.release.version == 2
    assert not any(b"three" in p.read_bytes() for p in store.objects.rglob("*.html"))


def test_sync_accepts_the_honest_next_log(tmp_path, publisher) -> None:
    store = _synced_to_two(tmp_path, publisher)
    report = _sync(store, publisher.publish(builder.sample_files("three")))
    assert report.outcome == "current"
    assert store.seen is not None
    assert store.seen.log_head is not None
    assert store.seen.log_head[0] == 2
