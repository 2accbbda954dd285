"""The signer's scan of public/: folders whose stamp holds are not listed again, yet the
result is always exactly what the tree holds now (tamizdat.trust.sign.hashing)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tamizdat.errors import UnsafeFileError
from tamizdat.stat_cache import StatCache
from tamizdat.trust.sign.hashing import FolderIndex, hash_tree

TREE = {
    "index.html": b"home",
    "en/news/2026/03/first/index.html": b"first article",
    "en/news/2026/03/second/index.html": b"second article",
    "en/tags/a/index.html": b"tag a",
    "media/news/2026/03/first-480.jpg": b"\xff\xd8 image",
}


def _write(root: Path, files: dict[str, bytes]) -> None:
    for path, data in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


class Signer:
    """Runs scans of one tree as ``sign`` does: hash cache and folder index from the
    previous scan, saved after it. ``settle`` dates both a few seconds back, as if the
    next scan ran later (a change in the same clock tick is rightly not trusted)."""

    def __init__(self, root: Path, state: Path) -> None:
        self.root = root
        self.cache_file = state / "hashes.json"
        self.index_file = state / "folders.json"
        self.listed: list[str] = []

    def scan(self) -> dict[str, str]:
        cache = StatCache.load(self.cache_file, str(self.root))
        index = FolderIndex.load(self.index_file, str(self.root))
        scanned = time.time_ns()
        result = hash_tree(self.root, cache, index=index, workers=1)
        for path, found in result.files.items():
            cache.record(path, found.stamp, found.sha256)
        cache.save(self.cache_file)
        index.save(self.index_file, scanned)
        return {path: found.sha256 for path, found in result.files.items()}

    def settle(self) -> None:
        data = json.loads(self.index_file.read_bytes())
        data["scanned"] += 5_000_000_000
        self.index_file.write_text(json.dumps(data))
        later = self.cache_file.stat().st_mtime_ns + 5_000_000_000
        os.utime(self.cache_file, ns=(later, later))


@pytest.fixture
def signer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Signer:
    root = tmp_path / "public"
    _write(root, TREE)
    made = Signer(root, tmp_path / "state")
    real = os.scandir

    def counting(path: str) -> Iterator[os.DirEntry[str]]:
        made.listed.append(os.path.relpath(path, root))
        return real(path)

    monkeypatch.setattr(os, "scandir", counting)
    assert made.scan() == _digests(TREE)
    made.settle()
    made.listed.clear()
    return made


def _digests(files: dict[str, bytes]) -> dict[str, str]:
    return {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}


def test_an_unchanged_tree_is_not_listed_again(signer: Signer) -> None:
    assert signer.scan() == _digests(TREE)
    assert signer.listed == []


def _add_file(root: Path) -> dict[str, bytes | None]:
    (root / "en/news/2026/03/first/extra.txt").write_bytes(b"added by hand")
    return {"en/news/2026/03/first/extra.txt": b"added by hand"}


def _add_folder(root: Path) -> dict[str, bytes | None]:
    _write(root, {"en/news/2026/04/new/index.html": b"a new month"})
    return {"en/news/2026/04/new/index.html": b"a new month"}


def _remove_file(root: Path) -> dict[str, bytes | None]:
    (root / "en/tags/a/index.html").unlink()
    return {"en/tags/a/index.html": None}


def _remove_folder(root: Path) -> dict[str, bytes | None]:
    (root / "en/news/2026/03/second/index.html").unlink()
    (root / "en/news/2026/03/second").rmdir()
    return {"en/news/2026/03/second/index.html": None}


def _replace_file(root: Path) -> dict[str, bytes | None]:
    staged = root / "en/tags/a/.staged"
    staged.write_bytes(b"TAG A")  # same size, a new inode renamed over the old one
    staged.replace(root / "en/tags/a/index.html")
    return {"en/tags/a/index.html": b"TAG A"}


def _edit_in_place_keeping_size_and_mtime(root: Path) -> dict[str, bytes | None]:
    path = root / "en/news/2026/03/first/index.html"
    before = path.stat()
    with path.open("r+b") as handle:  # same inode, same size
        handle.write(b"FIRST")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime put back
    return {"en/news/2026/03/first/index.html": b"FIRST article"}


def _rename_folder(root: Path) -> dict[str, bytes | None]:
    (root / "en/tags/a").rename(root / "en/tags/b")
    return {"en/tags/a/index.html": None, "en/tags/b/index.html": b"tag a"}


CHANGES: dict[str, Callable[[Path], dict[str, bytes | None]]] = {
    "file-added": _add_file,
    "folder-added": _add_folder,
    "file-removed": _remove_file,
    "folder-removed": _remove_folder,
    "file-replaced": _replace_file,
    "edited-in-place-size-and-mtime-kept": _edit_in_place_keeping_size_and_mtime,
    "folder-renamed": _rename_folder,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_every_change_by_hand_is_seen(
    signer: Signer, change: Callable[[Path], dict[str, bytes | None]]
) -> None:
    expected = dict(TREE)
    for path, data in change(signer.root).items():
        if data is None:
            del expected[path]
        else:
            expected[path] = data
    assert signer.scan() == _digests(expected)
    assert len(signer.listed) <= 3  # the changed folders (and a new one's parent), no more


def test_a_folder_changed_just_before_the_scan_is_listed_again(signer: Signer) -> None:
    """Without settling, the index saved by a scan vouches for no folder changed within the
    last second before it: a change in the same clock tick would keep the folder's stamp."""
    (signer.root / "en/tags/a/late.txt").write_bytes(b"late")
    signer.scan()  # the folder changed moments before this scan started
    (signer.root / "en/tags/a/later.txt").write_bytes(b"later")
    found = signer.scan()
    assert {"en/tags/a/late.txt", "en/tags/a/later.txt"} <= set(found)


@pytest.mark.parametrize("kind", ["symlink-file", "symlink-folder", "fifo"])
def test_a_planted_entry_in_an_indexed_folder_is_refused(
    signer: Signer, tmp_path: Path, kind: str
) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key").write_bytes(b"signing key")
    target = signer.root / "en/tags/a/index.html"
    target.unlink()
    if kind == "symlink-file":
        target.symlink_to(secret / "key")
    elif kind == "symlink-folder":
        target.symlink_to(secret, target_is_directory=True)
    else:
        os.mkfifo(target)
    with pytest.raises(UnsafeFileError) as caught:
        signer.scan()
    assert caught.value.where == "public/en/tags/a/index.html"


def test_a_listed_folder_swapped_for_a_link_is_refused(signer: Signer, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    _write(secret, {"index.html": b"outside"})
    folder = signer.root / "en/tags/a"
    (folder / "index.html").unlink()
    folder.rmdir()
    folder.symlink_to(secret, target_is_directory=True)
    with pytest.raises(UnsafeFileError) as caught:
        signer.scan()
    assert caught.value.where == "public/en/tags/a"


DAMAGED: dict[str, Callable[[dict[str, object]], object]] = {
    "not-json": lambda d: "{",
    "a-list": lambda d: [],
    "other-format": lambda d: {**d, "format": "other"},
    "other-scope": lambda d: {**d, "scope": "/elsewhere"},
    "stamps-short": lambda d: {**d, "stamps": d["stamps"][:-1]},  # type: ignore[index]
    "name-not-text": lambda d: {**d, "files": [[1]] * len(d["files"])},  # type: ignore[arg-type]
    "scanned-not-int": lambda d: {**d, "scanned": "soon"},
    "dot-dot-folder": lambda d: {**d, "dirs": [[".."]] * len(d["dirs"])},  # type: ignore[arg-type]
    "name-with-slash": lambda d: {**d, "files": [["../x"]] * len(d["files"])},  # type: ignore[arg-type]
}


@pytest.mark.parametrize("damage", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_damaged_index_means_listing_everything(
    signer: Signer, damage: Callable[[dict[str, object]], object]
) -> None:
    data = json.loads(signer.index_file.read_bytes())
    damaged = damage(data)
    signer.index_file.write_text(damaged if isinstance(damaged, str) else json.dumps(damaged))
    _add_file(signer.root)
    found = signer.scan()
    assert "en/news/2026/03/first/extra.txt" in found
    assert len(signer.listed) > 3
