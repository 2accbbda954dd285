"""tamizdat.files: walks and reads accept only regular files (the class, kind by kind)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from support.planted import ALL_KINDS, ALWAYS_REFUSED, INSIDE_LINKS, SECRET, outside_secret, plant
from tamizdat.errors import TamperedError, UnsafeFileError
from tamizdat.files import (
    copy_regular,
    open_below,
    read_below,
    read_regular,
    sha256_file,
    walk_regular,
)
from tamizdat.trust.sources import DirectorySource


def within(seconds: float, call: Callable[[], object]) -> object:
    """Run ``call`` in a thread; fail (not hang) if it has not returned in ``seconds``."""
    box: list[object] = []

    def run() -> None:
        try:
            box.append(call())
        except BaseException as exc:
            box.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"blocked for more than {seconds} s"
    return box[0]


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    (root / "sub").mkdir(parents=True)
    (root / "other").mkdir()
    (root / "a.txt").write_bytes(b"a")
    (root / "sub" / "b.txt").write_bytes(b"b")
    (root / "other" / "c.txt").write_bytes(b"c")
    return root


def _plant(tmp_path: Path, tree: Path, kind: str, where: str = "sub/planted") -> Path:
    path = tree / where
    plant(path, kind, secret=outside_secret(tmp_path), inside=tree / "other" / "c.txt")
    return path


def test_walk_lists_regular_files_sorted_and_relative(tree: Path) -> None:
    found = list(walk_regular(tree))
    assert [f.relative for f in found] == ["a.txt", "other/c.txt", "sub/b.txt"]
    assert found[0].size == 1
    assert found[0].path == str(tree / "a.txt")


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_walk_refuses_every_non_regular_kind_naming_it(
    tmp_path: Path, tree: Path, kind: str
) -> None:
    _plant(tmp_path, tree, kind)
    result = within(10, lambda: list(walk_regular(tree, where="site")))
    assert isinstance(result, UnsafeFileError), result
    # The hop of a chain or loop is hidden and sorts first: either name is the planted one.
    assert result.where is not None
    assert result.where.startswith("site/sub/")
    assert result.where.endswith("planted")
    assert "expected a regular file" in result.message or "loop" in result.message


@pytest.mark.parametrize("kind", ALWAYS_REFUSED)
def test_walk_with_the_opt_in_still_refuses_what_leaves_the_folder(
    tmp_path: Path, tree: Path, kind: str
) -> None:
    _plant(tmp_path, tree, kind)
    result = within(10, lambda: list(walk_regular(tree, links_inside=tree)))
    assert isinstance(result, UnsafeFileError), result
    assert result.where is not None
    assert result.where.endswith("planted")


@pytest.mark.parametrize("kind", INSIDE_LINKS)
def test_walk_with_the_opt_in_follows_links_that_stay_inside(
    tmp_path: Path, tree: Path, kind: str
) -> None:
    _plant(tmp_path, tree, kind)
    found = {f.relative: Path(f.path).read_bytes() for f in walk_regular(tree, links_inside=tree)}
    expected = "sub/planted" if kind == "link-to-inside-file" else "sub/planted/c.txt"
    assert found[expected] == b"c"
    assert SECRET not in found.values()


def test_walk_with_the_opt_in_refuses_a_link_back_to_an_ancestor(tree: Path) -> None:
    (tree / "sub" / "up").symlink_to("..", target_is_directory=True)
    with pytest.raises(UnsafeFileError, match="loop") as caught:
        list(walk_regular(tree, links_inside=tree))
    assert caught.value.where == f"{tree}/sub/up"


def test_walk_skip_rule_leaves_entries_unread(tmp_path: Path, tree: Path) -> None:
    _plant(tmp_path, tree, "fifo", "sub/.hidden")
    found = list(walk_regular(tree, skip=lambda name, _d: name.startswith(".")))
    assert [f.relative for f in found] == ["a.txt", "other/c.txt", "sub/b.txt"]


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize(
    "reader",
    [
        pytest.param(lambda p: read_regular(p), id="read_regular"),
        pytest.param(lambda p: sha256_file(p), id="sha256_file"),
        pytest.param(lambda p: copy_regular(p, p.with_name("copy")), id="copy_regular"),
        pytest.param(lambda p: read_below(p.parent.parent, f"sub/{p.name}"), id="read_below"),
    ],
)
def test_every_reader_refuses_every_kind_without_blocking(
    tmp_path: Path, tree: Path, kind: str, reader: Callable[[Path], object]
) -> None:
    path = _plant(tmp_path, tree, kind)
    result = within(10, lambda: reader(path))
    assert isinstance(result, UnsafeFileError), result
    assert result.where is not None
    assert result.where.endswith("sub/planted")
    assert not (tree / "sub" / "copy").exists()


def test_open_below_refuses_a_linked_folder_on_the_way(tmp_path: Path, tree: Path) -> None:
    key = outside_secret(tmp_path)
    (tree / "keys").symlink_to(key.parent, target_is_directory=True)
    with pytest.raises(UnsafeFileError, match="symbolic link"):
        open_below(tree, "keys/root.key")
    assert read_below(tree, "sub/b.txt") == b"b"


@pytest.mark.parametrize("relative", ["../x", "sub/../a.txt", "/etc/passwd", "sub//b.txt", ""])
def test_open_below_refuses_paths_that_are_not_plainly_inside(tree: Path, relative: str) -> None:
    with pytest.raises(UnsafeFileError):
        open_below(tree, relative)


def test_open_below_reports_missing_and_folders_as_os_errors(tree: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_below(tree, "sub/none.txt")
    with pytest.raises(NotADirectoryError):
        open_below(tree, "a.txt/x")
    with pytest.raises(IsADirectoryError):
        open_below(tree, "sub")


def test_read_regular_with_opt_in_follows_only_inside(tmp_path: Path, tree: Path) -> None:
    inside = _plant(tmp_path, tree, "link-to-inside-file", "inside-link")
    outside = _plant(tmp_path, tree, "link-to-outside-file", "outside-link")
    assert read_regular(inside, links_inside=tree) == b"c"
    with pytest.raises(UnsafeFileError, match="outside"):
        read_regular(outside, links_inside=tree)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_directory_source_lists_and_fetches_only_regular_files(
    tmp_path: Path, tree: Path, kind: str
) -> None:
    _plant(tmp_path, tree, kind)
    source = DirectorySource(tree, name="usb")
    listed = within(10, lambda: list(source.list_files()))
    assert isinstance(listed, TamperedError), listed
    assert "planted: expected" in listed.message
    assert listed.where == "usb"
    fetched = within(10, lambda: source.fetch("sub/planted", 1 << 20))
    assert isinstance(fetched, TamperedError), fetched
    assert "sub/planted" in fetched.message
    assert source.fetch("sub/b.txt", 10) == b"b"
