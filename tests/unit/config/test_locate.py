"""``find_site`` walks up as git does, and ``load_config`` refuses a tamizdat.toml that is
not a regular file."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from tamizdat.config import find_site, load_config
from tamizdat.errors import ConfigError

TOML = '[site]\ntitle = "Walk"\nbase_url = "https://example.org/"\n'


@pytest.fixture
def nested(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``site/tamizdat.toml`` and ``site/content/2026/`` (returned); $HOME out of the way."""
    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    (tmp_path / "site" / "content" / "2026").mkdir(parents=True)
    (tmp_path / "site" / "tamizdat.toml").write_text(TOML, "utf-8")
    return tmp_path / "site" / "content" / "2026"


def test_finds_the_nearest_site_above(nested: Path) -> None:
    assert find_site(nested) == nested.parent.parent
    assert find_site(nested.parent.parent) == nested.parent.parent


def test_nearest_wins_over_a_site_further_up(nested: Path) -> None:
    (nested / "tamizdat.toml").write_text(TOML, "utf-8")
    assert find_site(nested) == nested


def test_no_site_anywhere_names_the_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    start = tmp_path / "a" / "b"
    start.mkdir(parents=True)
    with pytest.raises(ConfigError, match=r"no tamizdat\.toml here") as caught:
        find_site(start)
    assert caught.value.where == str(start)
    assert caught.value.message.endswith(f"up to {tmp_path}")  # stopped at $HOME


def test_never_walks_above_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tamizdat.toml").write_text(TOML, "utf-8")
    home = tmp_path / "home"
    (home / "work").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(ConfigError, match=f"up to {re.escape(str(home))}$"):
        find_site(home / "work")


@pytest.mark.skipif(not os.path.ismount("/dev/shm"), reason="needs /dev/shm as a mount point")
def test_stops_at_a_mount_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/nonexistent-home")
    top = Path(tempfile.mkdtemp(dir="/dev/shm"))
    try:
        (top / "a").mkdir()
        with pytest.raises(ConfigError, match=r"up to /dev/shm$"):
            find_site(top / "a")
    finally:
        shutil.rmtree(top)


@pytest.mark.skipif(os.getuid() != 0, reason="chown to another user needs root")
def test_refuses_another_users_site_above(nested: Path) -> None:
    os.chown(nested.parent.parent / "tamizdat.toml", 54321, 54321)
    with pytest.raises(ConfigError, match="belongs to another user") as caught:
        find_site(nested)
    assert caught.value.hint is not None
    assert f"-C {nested.parent.parent}" in caught.value.hint


def _as_link(path: Path) -> None:
    (path.parent / "real.toml").write_text(TOML, "utf-8")
    path.symlink_to(path.parent / "real.toml")


def _as_dangling_link(path: Path) -> None:
    path.symlink_to(path.parent / "missing.toml")


def _as_folder(path: Path) -> None:
    path.mkdir()


def _as_fifo(path: Path) -> None:
    os.mkfifo(path)


@pytest.mark.parametrize("make", [_as_link, _as_dangling_link, _as_folder, _as_fifo])
def test_a_toml_that_is_not_a_regular_file_stops_the_walk_and_is_refused(
    nested: Path, make: object
) -> None:
    (nested.parent.parent / "tamizdat.toml").unlink()
    outer = nested.parent  # site/content: the walk must stop here, not skip past it
    make(outer / "tamizdat.toml")  # type: ignore[operator]
    (nested.parent.parent.parent / "tamizdat.toml").write_text(TOML, "utf-8")
    assert find_site(nested) == outer
    with pytest.raises(ConfigError) as caught:
        load_config(outer)
    assert caught.value.where == str(outer / "tamizdat.toml")


def test_an_unreadable_toml_is_a_config_error(
    nested: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = nested.parent.parent

    def refuse(*args: object, **kwargs: object) -> bytes:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("tamizdat.config.read_regular", refuse)
    with pytest.raises(ConfigError, match="cannot be read: Permission denied"):
        load_config(site)
