"""Silent corrections, end to end: the build reports or refuses them; sign reads only public/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from support.trees import snapshot
from tamizdat.cli import main
from tamizdat.errors import ExitCode
from tamizdat.render.theme import default_theme_dir

STORY = "content/story-2.md"
PAGE_MARK = "/story-number-2/index.html"


def write_story(site: Path, body: str, updated: str | None = None) -> None:
    extra = f"updated: {updated}\n" if updated else ""
    (site / STORY).write_text(
        f"---\ntitle: Story number 2\ndate: 2024-03-02T10:00:00Z\n{extra}---\n\n{body}\n",
        "utf-8",
    )


def run_build(
    site: Path, capsys: pytest.CaptureFixture[str], *options: str
) -> tuple[int, dict[str, object] | None, str]:
    """``tamizdat --json build OPTIONS``: exit code, the report (None on error), stderr."""
    capsys.readouterr()
    code = main(["-C", str(site), "--json", "build", *options])
    captured = capsys.readouterr()
    report = json.loads(captured.out) if code == 0 else None
    return code, report, captured.err


def corrections(report: dict[str, object] | None) -> list[str]:
    assert report is not None
    warnings = report["warnings"]
    assert isinstance(warnings, list)
    return [w for w in warnings if "did not move forward" in w]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("corrections") / "site"
    assert main(["-q", "init", str(site), "--title", "Test Voice", "--language", "en"]) == 0
    with (site / "tamizdat.toml").open("a") as toml:
        toml.write('\n[signing]\nkeys_dir = "keys"\n')  # never the user's own key folder
    for n in range(1, 4):
        (site / "content" / f"story-{n}.md").write_text(
            f"---\ntitle: Story number {n}\ndate: 2024-03-0{n}T10:00:00Z\n---\n\nText {n}.\n"
        )
    assert main(["-C", str(site), "-q", "build"]) == 0
    return site


@pytest.fixture
def site(built: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(built, copy, symlinks=True)
    assert main(["-C", str(copy), "-q", "build"]) == 0  # the manifest now describes the copy
    return copy


def test_first_build_reports_no_correction(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "fresh"
    assert main(["-q", "init", str(site), "--language", "en"]) == 0
    write_story(site, "First text.")
    code, report, _ = run_build(site, capsys)
    assert code == 0
    assert corrections(report) == []


def test_a_correction_with_a_newer_updated_date_is_not_reported(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_story(site, "Text 2, corrected.", updated="2024-03-05")
    code, report, _ = run_build(site, capsys)
    assert code == 0
    assert corrections(report) == []
    assert report is not None
    assert any(PAGE_MARK in w for w in report["written"])  # type: ignore[attr-defined]


def test_a_silent_correction_warns_naming_the_file_and_page(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_story(site, "Text 2, quietly changed.")
    code, report, err = run_build(site, capsys)
    assert code == 0
    (warning,) = corrections(report)
    assert warning.startswith(f"{STORY}: ")
    assert PAGE_MARK in warning
    assert f"warning: {STORY}: " in err
    # Still published, so still reported: a later build (or one after a preview) says it too.
    again = run_build(site, capsys)[1]
    assert corrections(again) == [warning]
    write_story(site, "Text 2, quietly changed.", updated="2024-03-06")
    assert corrections(run_build(site, capsys)[1]) == []


@pytest.mark.parametrize("how", ["--strict-corrections", "[build]", "[signing] (deprecated)"])
def test_strict_refuses_and_keeps_public(
    site: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    options: tuple[str, ...] = ()
    toml = site / "tamizdat.toml"
    if how == "--strict-corrections":
        options = (how,)
    elif how == "[build]":
        toml.write_text(toml.read_text().replace("[build]\n", '[build]\ncorrections = "fail"\n'))
    else:
        text = toml.read_text().replace("[signing]\n", "[signing]\nstrict_corrections = true\n")
        toml.write_text(text)
    assert "corrections" in toml.read_text() or options  # the setting reached the file
    before = snapshot(site / "public")
    write_story(site, "Text 2, quietly changed.")
    code, _, err = run_build(site, capsys, *options)
    assert code == ExitCode.USER
    assert f"error: {STORY}: " in err
    assert PAGE_MARK in err
    assert snapshot(site / "public") == before
    write_story(site, "Text 2, quietly changed.", updated="2024-03-06")
    code, report, _ = run_build(site, capsys, *options)
    assert code == 0
    assert corrections(report) == []
    if how.startswith("[signing]"):
        assert report is not None
        assert any("strict_corrections is deprecated" in w for w in report["warnings"])  # type: ignore[attr-defined]


def test_a_template_change_is_not_a_correction_of_every_article(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = (default_theme_dir() / "templates" / "base.html").read_text("utf-8")
    assert "</footer>" in base
    templates = site / "theme" / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "base.html").write_text(base.replace("</footer>", "<p>New footer</p></footer>"))
    code, report, _ = run_build(site, capsys)
    assert code == 0
    assert report is not None
    pages = [p for p in report["written"] if p.endswith("/index.html") and "story-number" in p]  # type: ignore[attr-defined]
    assert len(pages) == 3  # every article page changed
    assert corrections(report) == []


def test_sign_reads_only_public(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toml = site / "tamizdat.toml"  # sign refuses the scaffold's preview base_url
    toml.write_text(
        toml.read_text("utf-8").replace("http://127.0.0.1:8000/", "https://example.org/"),
        "utf-8",
    )
    write_story(site, "Text 2, quietly changed.")
    assert run_build(site, capsys)[0] == 0
    shutil.rmtree(site / "content")  # the signer must not need the site's content
    assert main(["-C", str(site), "-q", "keys", "init", "--demo"]) == 0
    capsys.readouterr()
    assert main(["-C", str(site), "--json", "sign", "--demo"]) == 0
    signed = json.loads(capsys.readouterr().out)
    assert signed["version"] == 1
    assert "warnings" not in signed


def test_sign_strict_is_refused_with_a_pointer_to_the_build(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-C", str(site), "-q", "keys", "init", "--demo"]) == 0
    capsys.readouterr()
    assert main(["-C", str(site), "sign", "--demo", "--strict"]) == ExitCode.USER
    err = capsys.readouterr().err
    assert "build --strict-corrections" in err
    assert not (site / "release").exists()
