"""The trust commands, driven through ``tamizdat.cli.main``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from trustkit import SAMPLE_FILES, write_config, write_public

from tamizdat.cli import main
from tamizdat.errors import ExitCode


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    config = write_config(root)
    write_public(config.build.output_dir, SAMPLE_FILES)
    monkeypatch.delenv("TAMIZDAT_DEMO_KEYS", raising=False)
    assert main(["-C", str(root), "-q", "keys", "init", "--demo"]) == 0
    return root


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:  # type: ignore[type-arg]
    capsys.readouterr()
    code = main(["--json", *argv])
    out = capsys.readouterr().out
    data = json.loads(out)
    data["_code"] = code
    return data  # type: ignore[no-any-return]


def test_sign_needs_demo_permission_then_signs(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refused = _json(capsys, ["-C", str(site), "sign"])
    assert refused["_code"] == ExitCode.USER
    assert refused["error"]["type"] == "KeyStoreError"
    signed = _json(capsys, ["-C", str(site), "sign", "--demo"])
    assert signed["_code"] == 0
    assert signed["version"] == 1
    # the sample files, the log, and whatever the publish stage adds (the mirror list)
    assert signed["files"] >= len(SAMPLE_FILES) + 1


def test_timestamp_history_and_fingerprint(
    site: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["-C", str(site), "-q", "sign", "--demo"]) == 0
    write_public(site / "public", {"index.html": b"changed home"})
    assert main(["-C", str(site), "-q", "sign", "--demo"]) == 0
    stamp = _json(capsys, ["-C", str(site), "timestamp", "--demo"])
    assert stamp["timestamp_version"] == 3
    history = _json(capsys, ["-C", str(site), "history", "/index.html"])
    assert [(e["kind"], e["version"]) for e in history["events"]] == [("added", 1), ("changed", 2)]
    assert len(history["events"][1]["sha256"]) == 64
    svg = tmp_path / "fp.svg"
    capsys.readouterr()
    assert main(["-C", str(site), "keys", "fingerprint", "--svg", str(svg)]) == 0
    text = capsys.readouterr().out
    groups = text.splitlines()[1].split()
    assert len(groups) == 16
    assert all(len(g) == 4 for g in groups)
    assert "█" in text
    assert svg.read_bytes().startswith(b"<svg")


def test_keys_list_rotate_and_revoke(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listing = _json(capsys, ["-C", str(site), "keys", "list"])
    roots = [k["keyid"] for k in listing["keys"] if k["role"] == "root"]
    assert len(roots) == 3
    rotated = _json(capsys, ["-C", str(site), "keys", "rotate", "snapshot"])
    assert rotated["root_version"] == 2
    revoked = _json(capsys, ["-C", str(site), "keys", "revoke", roots[0][:10]])
    assert revoked["root_version"] == 3
    unknown = _json(capsys, ["-C", str(site), "keys", "rotate", "nobody"])
    assert unknown["_code"] == ExitCode.USER


def test_keys_without_action_prints_help(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["-C", str(site), "keys"]) == ExitCode.USER
    assert "fingerprint" in capsys.readouterr().out


def test_add_desk_warns_when_not_configured(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["-C", str(site), "keys", "add-desk", "sport"]) == 0
    assert "[desks.sport]" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, (0, 0, "all", 0)),
        ({"index.html": b"changed home", "en/new/index.html": b"new"}, (1, 1, "rest", 0)),
        ({"robots.txt": None}, (0, 0, "rest", 1)),
    ],
    ids=["nothing", "one-added-one-changed", "one-removed"],
)
def test_sign_summary_counts_add_up_to_the_total(
    site: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, bytes | None],
    expected: tuple[int, int, str, int],
) -> None:
    """Added + changed + unchanged + the log's own files = files, in JSON and in the line
    people read; removed files are counted apart (they are not in the release)."""
    first = _json(capsys, ["-C", str(site), "sign", "--demo"])
    assert len(first["added"]) + first["unchanged"] + first["log_files"] == first["files"]
    assert first["changed"] == []
    assert first["unchanged"] == 0
    assert first["log_files"] >= 2
    for path, data in change.items():
        target = site / "public" / path
        if data is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    capsys.readouterr()
    assert main(["-C", str(site), "sign", "--demo"]) == 0
    line = capsys.readouterr().out
    again = _json(capsys, ["-C", str(site), "sign", "--demo"])  # the same tree once more
    assert again["added"] == again["changed"] == again["removed"] == []
    assert again["unchanged"] + again["log_files"] == again["files"]
    added, changed, unchanged, removed = expected
    site_files = first["files"] - first["log_files"] + added - removed
    total = site_files + again["log_files"] - 1  # the next release added one log entry
    want_unchanged = site_files - added - changed if unchanged == "rest" else site_files
    assert (
        f"{total} files ({added} added, {changed} changed, {want_unchanged} unchanged, "
        f"{again['log_files'] - 1} of the publication log; {removed} removed)"
    ) in line
