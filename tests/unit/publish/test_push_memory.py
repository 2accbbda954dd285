"""publish_release against in-memory stores: order, incrementality, pruning, failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from releasekit import article_files, check_consistent, write_release

from tamizdat.config.mirrors import MirrorSettings
from tamizdat.errors import UserError
from tamizdat.layout import TARGETS_DIR
from tamizdat.publish.headers import PUBLISH_STATE, Phase, classify
from tamizdat.publish.push import RetryPolicy, publish_release, select_mirrors
from tamizdat.publish.stores import MemoryStore, Store, StoredObject

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FAST = RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0)


def mirror(name: str, **kw: object) -> MirrorSettings:
    base = {
        "name": name,
        "url": f"file:///srv/{name}",
        "public_url": f"https://{name}.example/",
        "tags": (),
        "enabled": True,
        "retired": None,
        "created": None,
    }
    base.update(kw)
    return MirrorSettings(**base)  # type: ignore[arg-type]


def reader(store: MemoryStore):  # type: ignore[no-untyped-def]
    return lambda path: store.objects[path].data if path in store.objects else None


def push(release: Path, stores: dict[str, MemoryStore], tmp: Path, **kw: object):  # type: ignore[no-untyped-def]
    def open_store(m: MirrorSettings) -> Store:
        return stores[m.name]

    options: dict[str, object] = {
        "open_store": open_store,
        "state_dir": tmp / "journal",
        "retry": FAST,
        "now": NOW,
        "sleep": lambda _s: None,
    }
    options.update(kw)
    return publish_release(release, [mirror(n) for n in stores], **options)  # type: ignore[arg-type]


def test_first_push_uploads_everything_in_phase_order_timestamp_last(tmp_path: Path) -> None:
    release = tmp_path / "release"
    files = write_release(release, 1, article_files(1))
    store = MemoryStore("a")
    report = push(release, {"a": store}, tmp_path, max_workers_per_mirror=1)
    assert report.mirrors[0].ok, report.mirrors[0].error
    assert set(files) <= set(store.objects)
    phases = [classify(p) for p in store.puts]
    assert phases == sorted(phases), "a later phase started before an earlier one ended"
    assert store.puts[-1].endswith("timestamp.json")
    assert store.puts[-2] == PUBLISH_STATE
    assert check_consistent(reader(store)) == 1


def test_headers_by_phase(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_release(release, 1, article_files(1))
    store = MemoryStore("a")
    push(release, {"a": store}, tmp_path)
    by_hash = next(p for p in store.objects if classify(p) is Phase.BY_HASH)
    assert "immutable" in store.objects[by_hash].cache_control
    stamp = store.objects[".well-known/tamizdat/metadata/timestamp.json"]
    assert stamp.cache_control.startswith("no-cache")
    assert stamp.content_type == "application/json"
    page = store.objects["index.html"]
    assert page.content_type.startswith("text/html")
    assert "max-age=300" in page.cache_control


def test_republish_moves_only_changes_and_second_run_moves_nothing(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_release(release, 1, article_files(1, count=20))
    store = MemoryStore("a")
    push(release, {"a": store}, tmp_path)
    first = len(store.puts)
    write_release(release, 2, article_files(2, count=20))
    report = push(release, {"a": store}, tmp_path)
    moved = store.puts[first:]
    # home page + one article, their two by-hash copies, targets, snapshot, state, timestamp
    assert len(moved) == 8, moved
    assert report.mirrors[0].uploaded_objects == 8
    assert check_consistent(reader(store)) == 2
    again = push(release, {"a": store}, tmp_path)
    assert again.mirrors[0].uploaded_objects == 0
    assert len(store.puts) == first + 8


def test_dry_run_lists_and_moves_nothing(tmp_path: Path) -> None:
    release = tmp_path / "release"
    files = write_release(release, 1, article_files(1))
    store = MemoryStore("a")
    report = push(release, {"a": store}, tmp_path, dry_run=True)
    assert store.puts == []
    m = report.mirrors[0]
    assert set(m.paths) == set(files)
    assert m.planned["timestamp"] == (1, len(files[".well-known/tamizdat/metadata/timestamp.json"]))
    assert sum(c for c, _ in m.planned.values()) == len(files) + 1  # + state file


def test_failing_mirror_does_not_stop_others_and_never_gets_timestamp(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_release(release, 1, article_files(1))
    good, dying = MemoryStore("good"), MemoryStore("dying", fail_after_puts=3)
    erring = MemoryStore("erring", fail_paths={"index.html"})
    report = push(release, {"good": good, "dying": dying, "erring": erring}, tmp_path)
    assert [m.name for m in report.failed] == ["dying", "erring"]
    assert "connection reset" in (report.mirrors[1].error or "")
    assert "503" in (report.mirrors[2].error or "")
    assert "mirror erring" in (report.mirrors[2].error or "")
    assert report.mirrors[0].ok
    for store in (dying, erring):
        assert not any(p.endswith("timestamp.json") for p in store.puts)


def test_retry_recovers_from_transient_errors(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_release(release, 1, article_files(1))

    class Flaky(MemoryStore):
        failures = 0

        def _put_bytes(self, path: str, data: bytes, ct: str, cc: str, atomic: bool) -> None:
            if self.failures < 2:
                self.failures += 1
                raise TimeoutError("timed out")
            super()._put_bytes(path, data, ct, cc, atomic)

    store = Flaky("flaky")
    sleeps: list[float] = []
    report = push(release, {"flaky": store}, tmp_path, sleep=sleeps.append)
    assert report.mirrors[0].ok
    assert len(sleeps) == 2
    assert check_consistent(reader(store)) == 1


def test_resume_after_interruption_uploads_only_what_is_missing(tmp_path: Path) -> None:
    release = tmp_path / "release"
    files = write_release(release, 1, article_files(1, count=10))
    store = MemoryStore("a", fail_after_puts=7)
    report = push(release, {"a": store}, tmp_path, max_workers_per_mirror=1)
    assert not report.mirrors[0].ok
    done = set(store.puts)
    store.fail_after_puts = None
    report = push(release, {"a": store}, tmp_path)
    assert report.mirrors[0].ok
    again = store.puts[7:]
    assert not (set(again) & done)
    assert set(files) <= set(store.objects)


def test_prune_keeps_last_k_releases_and_grace(tmp_path: Path) -> None:
    release = tmp_path / "release"
    store = MemoryStore("a")
    old_hash_paths: set[str] = set()
    for version in (1, 2, 3):
        write_release(release, version, article_files(version))
        push(release, {"a": store}, tmp_path, keep_releases=2, grace=timedelta(days=1))
        if version == 1:
            old_hash_paths = {p for p in store.objects if p.startswith(TARGETS_DIR)}
    # Release 1's changed objects are referenced by none of releases 2 and 3, but the grace
    # period has not passed: still there.
    assert old_hash_paths <= set(store.objects)
    later = NOW + timedelta(days=2)
    write_release(release, 4, article_files(4))
    push(release, {"a": store}, tmp_path, keep_releases=2, grace=timedelta(days=1), now=later)
    current = set(write_release(tmp_path / "r4", 4, article_files(4)))
    gone = {p for p in old_hash_paths if p not in store.objects}
    assert gone, "objects of release 1 were never pruned"
    assert not (gone & current)
    assert check_consistent(reader(store)) == 4


def test_stale_natural_pages_and_temp_leftovers_are_deleted(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_release(release, 1, article_files(1, count=3))
    store = MemoryStore("a")
    store.objects["articles/.tamizdat-tmp-abc-index.html"] = StoredObject(b"half", "", "")
    push(release, {"a": store}, tmp_path)
    write_release(release, 2, article_files(2, count=2))
    push(release, {"a": store}, tmp_path)
    assert "articles/002/index.html" not in store.objects
    assert "articles/.tamizdat-tmp-abc-index.html" not in store.objects
    assert "articles/001/index.html" in store.objects


def test_missing_release_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"timestamp\.json is missing"):
        push(tmp_path / "nothing", {"a": MemoryStore("a")}, tmp_path)


def test_select_mirrors() -> None:
    mirrors = [mirror("a"), mirror("b", enabled=False), mirror("c", retired="2026-01-01")]
    assert [m.name for m in select_mirrors(mirrors)] == ["a"]
    assert [m.name for m in select_mirrors(mirrors, ["b"])] == ["b"]
    with pytest.raises(UserError, match="retired"):
        select_mirrors(mirrors, ["c"])
    with pytest.raises(UserError) as info:
        select_mirrors(mirrors, ["aa"])
    assert info.value.hint == "did you mean 'a'?"
    with pytest.raises(UserError, match="no enabled mirror"):
        select_mirrors([mirror("b", enabled=False)])


def test_older_release_than_the_mirror_serves_is_refused(tmp_path: Path) -> None:
    release = tmp_path / "release"
    store = MemoryStore("a")
    write_release(release, 5, article_files(5))
    push(release, {"a": store}, tmp_path)
    puts = len(store.puts)
    write_release(release, 3, article_files(3))
    report = push(release, {"a": store}, tmp_path)
    assert not report.mirrors[0].ok
    assert "already serves release 5" in (report.mirrors[0].error or "")
    assert len(store.puts) == puts
    assert check_consistent(reader(store)) == 5


def test_listing_is_skipped_only_while_the_mirror_holds_our_last_state(tmp_path: Path) -> None:
    class Counting(MemoryStore):
        lists = 0

        def _list_sizes(self) -> dict[str, int]:
            self.lists += 1
            return super()._list_sizes()

    release = tmp_path / "release"
    write_release(release, 1, article_files(1))
    store = Counting("a")
    push(release, {"a": store}, tmp_path)
    assert store.lists == 1
    write_release(release, 2, article_files(2))
    push(release, {"a": store}, tmp_path)
    assert store.lists == 1, "the journal matched the mirror's state: no listing needed"
    # someone else touched the mirror's state: list again, and repair a deleted page
    del store.objects["index.html"]
    store.objects[PUBLISH_STATE] = StoredObject(b"{}", "", "")
    report = push(release, {"a": store}, tmp_path)
    assert store.lists == 2
    assert "index.html" in store.objects
    assert report.mirrors[0].ok
    assert check_consistent(reader(store)) == 2
