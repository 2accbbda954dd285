"""What a new site's own texts promise exists: its theme README and its sample articles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tamizdat.render.theme import default_theme_dir
from tamizdat.scaffold import init_site

README = Path(__file__).resolve().parents[3] / "src/tamizdat/scaffold/files/theme/README.md"


def test_theme_readme_names_exactly_the_default_templates() -> None:
    text = README.read_text(encoding="utf-8")
    named = set(re.findall(r"`((?:partials/|email/)?[\w-]+\.(?:html|txt))`", text))
    templates = default_theme_dir() / "templates"
    shipped = {
        p.relative_to(templates).as_posix()
        for p in templates.rglob("*")
        if p.suffix in (".html", ".txt")
    }
    assert named == shipped
    assets = set(re.findall(r"`([\w-]+\.(?:css|png|js))`", text))
    assert assets == {p.name for p in (default_theme_dir() / "static").iterdir()}


@pytest.mark.parametrize("languages", [["en", "ru"], ["ru", "en"], ["ru"], ["en"], ["de", "ru"]])
def test_sample_articles_name_files_that_exist(tmp_path: Path, languages: list[str]) -> None:
    init_site(tmp_path / "site", languages=tuple(languages))
    content = tmp_path / "site" / "content"
    for article in content.glob("*.md"):
        text = article.read_text(encoding="utf-8")
        names = re.findall(r"`(?:content/)?(welcome[\w.]*\.md)`", text)
        assert names, article.name
        assert f"`content/{article.name}`" in text  # each names itself
        for name in names:
            exists = (content / name).is_file()
            # A translation that does not exist yet is named only as the example to create.
            assert exists or len(languages) == 1, f"{article.name} names {name}"
