"""The reader's sync checks the publication log as `tamizdat verify` does, before storing.

A log that is shorter than the one this store saw is a rollback; a log that rewrites an
entry is a fork. Either way the outcome names it and the store keeps its release.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from support.tuf_release import now, rewritten_log, sample_files
from tamizdat.layout import LOG_JSON, by_hash_path
from tamizdat.reader.client import add_subscription
from tamizdat.reader.store import Store
from tamizdat.reader.sync import SyncReport, update_store
from tamizdat.transport.failover import MirrorPool
from tamizdat.transport.sources import MemorySource


def _store(tmp_path: Path, publisher) -> Store:  # type: ignore[no-untyped-def]
    return add_subscription("news", fingerprint=publisher.fingerprint, store_dir=tmp_path)


def _sync(store: Store, release) -> SyncReport:  # type: ignore[no-untyped-def]
    return update_store(store, MirrorPool([MemorySource(release.files, "mirror-A")]))


def _synced_to_two(tmp_path: Path, publisher) -> Store:  # type: ignore[no-untyped-def]
    store = _store(tmp_path, publisher)
    assert _sync(store, publisher.publish(sample_files("one"))).outcome == "current"
    assert _sync(store, publisher.publish(sample_files("two"))).version == 2
    return store


def test_sync_remembers_the_log_head_role_keys_and_the_signing_time(tmp_path, publisher) -> None:
    store = _store(tmp_path, publisher)
    when = now() - timedelta(hours=5)
    release = publisher.publish(sample_files("one"), when=when)
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
    third = publisher.publish(sample_files("three"), log=short)
    report = _sync(store, third)
    assert report.outcome == "rollback"
    assert "publication log of at least 2 entries" in (report.problem or "")
    assert report.where is not None
    assert report.where.endswith(".log.json")  # the same bytes as release 1's log, held
    assert store.release is not None
    assert store.release.version == 2


def test_sync_refuses_a_log_that_rewrites_history(tmp_path, publisher) -> None:
    store = _synced_to_two(tmp_path, publisher)
    third = publisher.publish(sample_files("three"), log=rewritten_log(2))
    report = _sync(store, third)
    assert report.outcome == "rollback"
    assert "expected the log to extend entry 1" in (report.problem or "")
    assert store.release is not None
    assert store.release.version == 2
    assert not any(b"three" in p.read_bytes() for p in store.objects.rglob("*.html"))


def test_sync_accepts_the_honest_next_log(tmp_path, publisher) -> None:
    store = _synced_to_two(tmp_path, publisher)
    report = _sync(store, publisher.publish(sample_files("three")))
    assert report.outcome == "current"
    assert store.seen is not None
    assert store.seen.log_head is not None
    assert store.seen.log_head[0] == 2


class _Recording(MemorySource):
    """A mirror that remembers which files it was asked for."""

    def __init__(self, files: dict[str, bytes], name: str) -> None:
        super().__init__(files, name)
        self.asked: list[str] = []

    def fetch(self, path: str, max_length: int) -> bytes:
        self.asked.append(path)
        return super().fetch(path, max_length)


def test_sync_one_release_later_fetches_only_the_new_head_and_entry(tmp_path, publisher) -> None:
    store = _synced_to_two(tmp_path, publisher)
    third = publisher.publish(sample_files("three"))
    mirror = _Recording(third.files, "mirror-A")
    assert update_store(store, MirrorPool([mirror])).outcome == "current"
    log_files = [p for p in mirror.asked if p.endswith(".log.json") or "/tamizdat/log/" in p]
    head = publisher.log.entries[-1]
    assert sorted(log_files) == sorted(  # each once: the object download reuses them
        [by_hash_path(LOG_JSON, _sha(third.files[LOG_JSON])), by_hash_path(head.path, head.hash)]
    )


def test_a_mirror_serving_an_altered_entry_is_skipped_for_an_honest_one(
    tmp_path, publisher
) -> None:  # type: ignore[no-untyped-def]
    store = _synced_to_two(tmp_path, publisher)
    third = publisher.publish(sample_files("three"))
    head = publisher.log.entries[-1]
    location = by_hash_path(head.path, head.hash)
    lying = dict(third.files)
    lying[location] = lying[location].replace(b'"version":3', b'"version":9')
    report = update_store(
        store,
        MirrorPool([MemorySource(lying, "mirror-A"), MemorySource(third.files, "mirror-B")]),
        quorum=1,
    )
    assert report.outcome == "current"
    assert report.version == 3
    assert any(n.mirror == "mirror-A" and n.path == location for n in report.notes)
    assert store.read(location) == third.files[location]


def test_sync_refuses_a_log_whose_only_copy_of_an_entry_is_altered(tmp_path, publisher) -> None:
    store = _synced_to_two(tmp_path, publisher)
    third = publisher.publish(sample_files("three"))
    head = publisher.log.entries[-1]
    location = by_hash_path(head.path, head.hash)
    third.files[location] = third.files[location].replace(b'"version":3', b'"version":9')
    report = _sync(store, third)
    assert report.outcome == "tampered"
    assert store.release is not None
    assert store.release.version == 2


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
