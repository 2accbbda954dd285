"""``sign`` and ``publish`` refuse a preview ``base_url`` naming the key; ``build`` warns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tamizdat.cli import main
from tamizdat.config.public_url import is_preview_url

PREVIEW = [
    "http://127.0.0.1:8000/",
    "http://127.0.0.1/",
    "http://127.8.9.10/news/",
    "http://localhost/",
    "http://LOCALHOST:8000/",
    "http://localhost./",
    "http://preview.localhost/",
    "http://[::1]:8000/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://0.0.0.0/",
    "http://127.1/",
    "http://2130706433/",
    "http://0x7f.0.0.1/",
    "https://user@127.0.0.1/",
]
PUBLIC = ["https://far-shore.example/", "https://128.0.0.1/", "http://[2001:db8::1]/"]


@pytest.mark.parametrize("url", PREVIEW)
def test_preview_spellings(url: str) -> None:
    assert is_preview_url(url)


@pytest.mark.parametrize("url", PUBLIC)
def test_public_addresses(url: str) -> None:
    assert not is_preview_url(url)


def _site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, base_url: str | None) -> Path:
    monkeypatch.delenv("TAMIZDAT_DEMO_KEYS", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # the keys' default folder
    root = tmp_path / "site"
    assert main(["-q", "init", str(root), "--title", "Url News"]) == 0
    toml = root / "tamizdat.toml"
    line = 'base_url = "http://127.0.0.1:8000/"\n'
    text = toml.read_text("utf-8")
    assert line in text
    toml.write_text(text.replace(line, f'base_url = "{base_url}"\n' if base_url else ""), "utf-8")
    assert main(["-C", str(root), "-q", "build"]) == 0
    assert main(["-C", str(root), "-q", "keys", "init", "--demo"]) == 0
    return root


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict[str, str]:
    capsys.readouterr()
    assert main(["--json", *argv]) == 2
    error: dict[str, str] = json.loads(capsys.readouterr().out)["error"]
    return error


@pytest.mark.parametrize("base_url", [*PREVIEW[:4], "http://[::1]:8000/", "http://0.0.0.0/", None])
def test_sign_and_publish_refuse_a_preview_base_url(
    base_url: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    site = _site(tmp_path, monkeypatch, base_url)
    for command in (["sign", "--demo"], ["publish"]):
        error = _error(capsys, ["-C", str(site), *command])
        assert error["type"] == "ConfigError"
        assert error["where"] == f"{site / 'tamizdat.toml'}: site.base_url"
        assert "base_url" in error["hint"]
    assert not (site / "release").exists()


@pytest.mark.parametrize("base_url", ["http://127.0.0.1:8000/", "http://[::1]:8000/", None])
def test_build_warns_about_a_preview_base_url(
    base_url: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    site = _site(tmp_path, monkeypatch, base_url)
    capsys.readouterr()
    assert main(["-C", str(site), "--json", "build"]) == 0
    warnings = json.loads(capsys.readouterr().out)["warnings"]
    assert any("site.base_url" in w and "preview address" in w for w in warnings)


def test_a_proper_base_url_builds_signs_and_publishes_without_a_word(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _site(tmp_path, monkeypatch, "https://far-shore.example/")
    capsys.readouterr()
    assert main(["-C", str(site), "--json", "build"]) == 0
    assert not any("base_url" in w for w in json.loads(capsys.readouterr().out)["warnings"])
    assert main(["-C", str(site), "-q", "sign", "--demo"]) == 0
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    add = ["mirrors", "add", "m", f"file://{mirror}", "--public-url", "https://m.example/"]
    assert main(["-C", str(site), "-q", *add]) == 0
    assert main(["-C", str(site), "-q", "sign", "--demo"]) == 0
    assert main(["-C", str(site), "-q", "publish"]) == 0
    assert any(mirror.iterdir())
