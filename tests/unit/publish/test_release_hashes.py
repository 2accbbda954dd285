"""read_release's hash cache: unchanged files are not re-read, rewritten ones are."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from releasekit import article_files, write_release

from tamizdat.publish.release import read_release


def digests(release: Path, cache: Path) -> dict[str, str]:
    return {f.path: f.sha256 for f in read_release(release, hash_cache=cache).files}


def test_cache_serves_unchanged_files_and_rehashes_rewritten_ones(tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_release(release, 1, article_files(1))
    cache = tmp_path / "state" / "hashes.json"
    first = digests(release, cache)
    assert first == {f.path: f.sha256 for f in read_release(release).files}
    saved = json.loads(cache.read_text())
    page = next(p for p in saved if p.endswith(".html"))
    # a cached digest is trusted while size, mtime and inode match: proof it is not re-read
    saved[page][3] = "f" * 64
    cache.write_text(json.dumps(saved))
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
    assert json.loads(cache.read_text())  # rewritten whole
