"""Commands find the site from any folder inside it; ``-C`` is used as given; commands that
need no site never walk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tamizdat.cli import main

BASE = "https://far-shore.example/"


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    monkeypatch.delenv("TAMIZDAT_DEMO_KEYS", raising=False)
    root = tmp_path / "site"
    assert main(["-q", "init", str(root), "--title", "Walk News"]) == 0
    toml = root / "tamizdat.toml"
    toml.write_text(
        toml.read_text("utf-8").replace('"http://127.0.0.1:8000/"', f'"{BASE}"'), "utf-8"
    )
    (root / "content" / "2026").mkdir(parents=True)
    return root


def test_build_sign_and_mirrors_list_from_a_nested_folder(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(site / "content" / "2026")
    capsys.readouterr()
    assert main(["--json", "build"]) == 0
    captured = capsys.readouterr()
    json.loads(captured.out)  # stdout stays one JSON document
    assert captured.err.strip() == f"using the site in {site}"
    assert (site / "public").is_dir()
    assert main(["keys", "init", "--demo"]) == 0
    assert main(["sign", "--demo"]) == 0
    assert main(["--json", "mirrors", "list"]) == 0
    captured = capsys.readouterr()
    assert (site / "release").is_dir()
    assert f"using the site in {site}" in captured.err


def test_quiet_hides_the_note(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(site / "content")
    capsys.readouterr()
    assert main(["-q", "mirrors", "list"]) == 0
    assert capsys.readouterr().err == ""


def test_no_note_in_the_site_folder_itself(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(site)
    capsys.readouterr()
    assert main(["mirrors", "list"]) == 0
    assert "using the site" not in capsys.readouterr().err


def test_explicit_site_is_used_as_given_without_walking(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(site)
    nested = site / "content" / "2026"
    capsys.readouterr()
    assert main(["--json", "-C", str(nested), "mirrors", "list"]) == 2
    error = json.loads(capsys.readouterr().out)["error"]
    assert error["message"] == "no tamizdat.toml here"
    assert error["where"] == str(nested)


def test_no_site_anywhere_up_is_the_usual_error_naming_the_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    start = tmp_path / "home" / "notes"
    start.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(start)
    assert main(["build"]) == 2
    err = capsys.readouterr().err
    assert "error: " in err
    assert "no tamizdat.toml here" in err
    assert str(start) in err


@pytest.mark.parametrize(
    "argv",
    [["channels"], ["--json", "channels"], ["reader", "list"]],
)
def test_commands_without_a_site_do_not_walk_or_fail(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A broken tamizdat.toml above would fail any command that walked to it.
    (tmp_path / "tamizdat.toml").write_text("not = [toml", "utf-8")
    (tmp_path / "here").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("TAMIZDAT_READER_HOME", str(tmp_path / "reader"))
    monkeypatch.chdir(tmp_path / "here")
    assert main(argv) == 0
    assert "tamizdat.toml" not in capsys.readouterr().err


def test_init_does_not_walk(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(site / "content")
    assert main(["-q", "init", "inner", "--title", "Inner"]) == 0
    assert (site / "content" / "inner" / "tamizdat.toml").is_file()
