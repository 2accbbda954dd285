"""The one stat cache: a digest is trusted only for the very stamp it was recorded with,
recorded before the cache was written; anything damaged or foreign is an empty cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tamizdat.stat_cache import Stamp, StatCache

DIGEST = "ab" * 32
OLD = 1_000_000_000_000_000_000  # 2001: long before any cache file written by the test
STAMP: Stamp = (10, OLD, 42, OLD)


def _saved(tmp_path: Path, entries: dict[str, tuple[Stamp, str]], scope: str = "pub") -> Path:
    cache = StatCache(scope)
    for path, (stamp, digest) in entries.items():
        cache.record(path, stamp, digest)
    file = tmp_path / "cache" / "hashes.json"
    cache.save(file, tag="release-7")
    return file


def test_round_trip_returns_the_digest_for_the_same_stamp(tmp_path: Path) -> None:
    file = _saved(tmp_path, {"a/index.html": (STAMP, DIGEST)})
    cache = StatCache.load(file, "pub")
    assert cache.digest("a/index.html", STAMP) == DIGEST
    assert cache.recorded("a/index.html") == DIGEST
    assert cache.tag == "release-7"
    assert list(cache.items()) == [("a/index.html", DIGEST)]


@pytest.mark.parametrize("field", range(4), ids=["size", "mtime_ns", "inode", "ctime_ns"])
def test_any_changed_stamp_field_means_hash_again(tmp_path: Path, field: int) -> None:
    cache = StatCache.load(_saved(tmp_path, {"a": (STAMP, DIGEST)}), "pub")
    changed = list(STAMP)
    changed[field] += 1
    assert cache.digest("a", (changed[0], changed[1], changed[2], changed[3])) is None
    assert cache.recorded("a") == DIGEST  # what was recorded stays known


@pytest.mark.parametrize("field", [1, 3], ids=["mtime_ns", "ctime_ns"])
def test_a_stamp_not_older_than_the_cache_file_is_racily_clean(tmp_path: Path, field: int) -> None:
    moment = OLD + 5_000_000
    racy = list(STAMP)
    racy[field] = moment
    stamp = (racy[0], racy[1], racy[2], racy[3])
    file = _saved(tmp_path, {"a": (stamp, DIGEST)})
    os.utime(file, ns=(moment, moment))  # saved in the tick the file last changed
    assert StatCache.load(file, "pub").digest("a", stamp) is None
    os.utime(file, ns=(moment + 1, moment + 1))  # saved after it
    assert StatCache.load(file, "pub").digest("a", stamp) == DIGEST


def test_only_recorded_paths_are_saved(tmp_path: Path) -> None:
    file = _saved(tmp_path, {"gone": (STAMP, DIGEST), "kept": (STAMP, "cd" * 32)})
    cache = StatCache.load(file, "pub")
    cache.record("kept", STAMP, "ef" * 32)
    cache.record("kept", STAMP, "cd" * 32)  # a second record replaces the first
    cache.save(file)
    again = StatCache.load(file, "pub")
    assert len(again) == 1
    assert again.digest("kept", STAMP) == "cd" * 32
    assert again.digest("gone", STAMP) is None


def _valid() -> dict[str, object]:
    return {
        "format": "tamizdat-stat-cache-1",
        "scope": "pub",
        "tag": "",
        "paths": ["a"],
        "stamps": list(STAMP),
        "digests": DIGEST,
    }


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.update(format="tamizdat-stat-cache-0"),
        lambda d: d.update(scope="another/public"),
        lambda d: d.update(tag=7),
        lambda d: d.update(paths=["a", "b"]),
        lambda d: d.update(stamps=[*STAMP, 1]),
        lambda d: d.update(stamps=[10, OLD, 42, str(OLD)]),
        lambda d: d.update(stamps=[10, OLD, 42, True]),
        lambda d: d.update(digests="AB" * 32),
        lambda d: d.update(digests="zz" * 32),
        lambda d: d.update(digests=DIGEST + "ab"),
        lambda d: d.update(paths=[None]),
        lambda d: d.pop("paths"),
    ],
)
def test_a_damaged_or_foreign_cache_is_empty(tmp_path: Path, damage: object) -> None:
    document = _valid()
    assert callable(damage)
    damage(document)
    file = tmp_path / "hashes.json"
    file.write_text(json.dumps(document))
    os.utime(file, ns=(OLD * 2, OLD * 2))
    cache = StatCache.load(file, "pub")
    assert len(cache) == 0
    assert cache.digest("a", STAMP) is None


def test_the_undamaged_document_loads(tmp_path: Path) -> None:
    file = tmp_path / "hashes.json"
    file.write_text(json.dumps(_valid()))
    assert StatCache.load(file, "pub").digest("a", STAMP) == DIGEST


@pytest.mark.parametrize("content", [b"", b"\xff\xfe", b"[1, 2]", b'{"format": '])
def test_unreadable_bytes_are_an_empty_cache(tmp_path: Path, content: bytes) -> None:
    file = tmp_path / "hashes.json"
    file.write_bytes(content)
    assert len(StatCache.load(file, "pub")) == 0
    assert len(StatCache.load(tmp_path / "missing.json", "pub")) == 0
