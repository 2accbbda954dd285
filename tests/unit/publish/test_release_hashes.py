"""read_release's hash cache: unchanged files are not re-read, rewritten ones are."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from releasekit import article_files, write_release

from tamizdat.publish.release import read_release
from tamizdat.stat_cache import StatCache, file_stamp


def digests(release: Path, cache: Path) -> dict[str, str]:
    return {f.path: f.sha256 for f in read_release(release, hash_cache=cache).files}


def _settle(cache: Path) -> None:
    """Date the cache a second later, as the next publish would find it: a file written in
    the same clock tick as the cache is hashed again on principle (``StatCache``)."""
    later = cache.stat().st_mtime_ns + 1_000_000_000
    os.utime(cache, ns=(later, later))


def test_cache_serves_unchanged_files_and_rehashes_rewritten_ones(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_release(release, 1, article_files(1))
    cache = tmp_path / "state" / "hashes.json"
    first = digests(release, cache)
    assert first == {f.path: f.sha256 for f in read_release(release).files}
    page = next(p for p in first if p.endswith(".html") and not p.startswith(".well-known/"))
    # a cached digest is trusted while the stamp matches: proof it is not re-read
    saved = StatCache.load(cache, str(release))
    assert saved.recorded(page) == first[page]
    saved.record(page, file_stamp(release / page), "f" * 64)
    saved.save(cache)
    _settle(cache)
    assert digests(release, cache)[page] == "f" * 64
    # the signer replaces a file (new inode, new mtime): its hash is computed again
    target = release / page
    data = target.read_bytes().replace(b"a", b"b", 1)
    target.unlink()
    target.write_bytes(data)
    assert digests(release, cache)[page] == hashlib.sha256(data).hexdigest()


def test_a_damaged_cache_only_costs_a_rehash(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_release(release, 1, article_files(1))
    cache = tmp_path / "hashes.json"
    cache.write_text("{not json")
    assert digests(release, cache) == digests(release, tmp_path / "other.json")
    assert len(StatCache.load(cache, str(release))) > 0  # rewritten whole
