"""tamizdat.stamps: a stamp changes with every kind of change a cache must notice."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tamizdat.stamps import Stamp, read_stamp


def _rewrite_same_size(path: Path) -> None:
    path.write_bytes(b"xxxx")


def _append(path: Path) -> None:
    with path.open("ab") as handle:
        handle.write(b"!")


def _replace(path: Path) -> None:
    other = path.with_name("other")
    other.write_bytes(path.read_bytes())
    st = path.stat()
    os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime: only the inode
    other.replace(path)


@pytest.mark.parametrize("change", [_rewrite_same_size, _append, _replace])
def test_every_change_to_a_file_changes_its_stamp(tmp_path: Path, change: object) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"data")
    os.utime(path, ns=(0, 1_000_000_000))  # an old mtime, so a rewrite now differs
    before = read_stamp(path)
    change(path)  # type: ignore[operator]
    assert read_stamp(path) != before


@pytest.mark.parametrize("change", ["add", "remove", "rename"])
def test_a_folder_stamp_changes_with_its_entries(tmp_path: Path, change: str) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    (folder / "a").write_bytes(b"")
    os.utime(folder, ns=(0, 1_000_000_000))
    before = read_stamp(folder)
    if change == "add":
        (folder / "b").write_bytes(b"")
    elif change == "remove":
        (folder / "a").unlink()
    else:
        (folder / "a").rename(folder / "c")
    assert read_stamp(folder) != before


def test_a_missing_path_or_a_link_has_no_stamp_of_its_target(tmp_path: Path) -> None:
    assert read_stamp(tmp_path / "missing") is None
    target = tmp_path / "t"
    target.write_bytes(b"secret")
    (tmp_path / "link").symlink_to(target)
    stamp = read_stamp(tmp_path / "link")
    assert isinstance(stamp, Stamp)
    assert stamp.ino != target.stat().st_ino  # the link itself, never what it points at
