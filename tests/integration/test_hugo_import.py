"""``tamizdat init --from-hugo``: Hugo sites, configured every way Hugo allows, build as they are.

Each fixture under ``tests/fixtures/hugo-variants`` (and ``hugo-site``) is copied, imported
in place or into a new folder, and built; the Hugo files must be left byte for byte.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

from support.trees import tree
from tamizdat.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
VARIANTS = FIXTURES / "hugo-variants"

pytestmark = pytest.mark.integration


def _copy(name: str, tmp_path: Path) -> Path:
    origin = FIXTURES / "hugo-site" if name == "hugo-site" else VARIANTS / name
    site = tmp_path / name
    shutil.copytree(origin, site, ignore=shutil.ignore_patterns("tamizdat.toml", "public"))
    return site


def _import(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    capsys.readouterr()
    assert main(["--json", "init", "--from-hugo", *args]) == 0
    result: dict[str, object] = json.loads(capsys.readouterr().out)
    return result


# (variant, expected [site], [languages] in order, config files read)
CASES = [
    ("hugo-site", "https://notes.example.org/", ["en", "ru"], ["hugo.toml"]),
    ("yaml-config", "https://yaml.example.net/", ["en"], ["hugo.yaml"]),
    (
        "config-dir",
        "https://dir.example.com/",
        ["ru", "en"],
        [
            "config/_default/hugo.toml",
            "config/_default/languages.toml",
            "config/_default/params.yaml",
        ],
    ),
    ("multilingual", "https://multi.example.org/news/", ["en", "ru"], ["hugo.toml"]),
    ("authors-by-name", "https://people.example.org/", ["en"], ["hugo.toml"]),
    ("taxonomies", "https://tax.example.org/", ["en"], ["hugo.toml"]),
]


@pytest.mark.parametrize(
    ("name", "base_url", "languages", "read"), CASES, ids=[c[0] for c in CASES]
)
def test_import_in_place_builds_and_leaves_hugo_files_alone(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    base_url: str,
    languages: list[str],
    read: list[str],
) -> None:
    site = _copy(name, tmp_path)
    before = tree(site)
    result = _import(capsys, str(site))
    assert result["in_place"] is True
    assert result["config_files"] == read
    assert result["files"] == ["tamizdat.toml"]
    assert tree(site) == {**before, "tamizdat.toml": (site / "tamizdat.toml").read_bytes()}
    written = tomllib.loads((site / "tamizdat.toml").read_text("utf-8"))
    assert written["site"]["base_url"] == base_url
    assert list(written["languages"]) == languages
    assert written["site"]["default_language"] == languages[0]

    assert main(["-q", "-C", str(site), "build"]) == 0
    public = site / "tamizdat-public"
    for code in languages:
        assert (public / code / "index.html").is_file()
    assert not (site / "public").exists(), "Hugo's own output folder must not be touched"
    # Only tamizdat's output and cache were added; every Hugo file is as it was.
    after = tree(site)
    assert {n: after[n] for n in before} == before
    assert all(
        n == "tamizdat.toml" or n.startswith(("tamizdat-public/", ".tamizdat"))
        for n in set(after) - set(before)
    )


def test_language_titles_and_descriptions_come_from_hugo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _copy("multilingual", tmp_path)
    _import(capsys, str(site))
    written = tomllib.loads((site / "tamizdat.toml").read_text("utf-8"))
    assert written["site"]["title"] == "Two Shores"
    assert written["languages"]["ru"] == {
        "title": "Два берега",
        "description": "Новости с обоих берегов.",
    }
    assert written["languages"]["en"] == {
        "title": "Two Shores",
        "description": "News from both shores.",
    }


def test_authors_given_only_by_name_get_pages_and_a_typo_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _copy("authors-by-name", tmp_path)
    _import(capsys, str(site))
    assert main(["-C", str(site), "build"]) == 0
    err = capsys.readouterr().err
    authors = site / "tamizdat-public" / "en" / "authors"
    assert sorted(p.name for p in authors.iterdir() if p.is_dir()) == [
        "ana-petrova",
        "anna",
        "jane-roe",
        "mariya-ivanova",
    ]
    assert "Jane Roe" in (authors / "jane-roe" / "index.html").read_text("utf-8")
    assert (
        "warning: content/posts/two.md:4: author 'Ana Petrova' is not in the authors file "
        "and gets a new author page (did you mean 'Anna Petrova'?"
    ) in err
    assert "Jane Roe" not in err  # not close to anyone: no warning


def test_custom_taxonomy_and_permalinks_are_reported_not_silently_dropped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    notes = _import(capsys, str(_copy("taxonomies", tmp_path)))["notes"]
    assert isinstance(notes, list)
    assert any("taxonomy 'series'" in n for n in notes)
    notes = _import(capsys, str(_copy("hugo-site", tmp_path)))["notes"]
    assert isinstance(notes, list)
    assert any(n.startswith("permalinks are not kept") for n in notes)


def test_categories_become_tags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = _copy("taxonomies", tmp_path)
    _import(capsys, str(site))
    assert main(["-q", "-C", str(site), "build"]) == 0
    assert (site / "tamizdat-public" / "en" / "tags" / "investigations" / "index.html").is_file()


def test_import_into_a_new_folder_copies_and_builds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _copy("yaml-config", tmp_path)
    before = tree(site)
    dest = tmp_path / "new"
    result = _import(capsys, str(site), str(dest))
    assert result["in_place"] is False
    assert result["files"] == ["tamizdat.toml", "content/", "static/", "assets-static/"]
    assert tree(site) == before
    assert main(["-q", "-C", str(dest), "build"]) == 0
    assert (dest / "public" / "hello.txt").read_bytes() == b"hello\n"
    assert (dest / "public" / "robots-extra.txt").is_file()


def test_import_refuses_to_replace_a_tamizdat_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _copy("multilingual", tmp_path)
    (site / "tamizdat.toml").write_text("# mine\n", "utf-8")
    assert main(["init", "--from-hugo", str(site)]) == 2
    assert "a tamizdat.toml is already here" in capsys.readouterr().err
    assert (site / "tamizdat.toml").read_text("utf-8") == "# mine\n"
    assert main(["-q", "init", "--from-hugo", str(site), "--force"]) == 0


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["init", "--help"])
    out = capsys.readouterr().out
    assert "--from-hugo HUGO_DIR" in out
    assert "tamizdat init --from-hugo ~/blog" in out
