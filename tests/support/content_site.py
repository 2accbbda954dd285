"""Builds small throwaway sites on disk (tamizdat.toml, articles, authors) for content tests."""

from __future__ import annotations

from pathlib import Path

from tamizdat.config import Config, load_config

BASE_TOML = """\
[site]
title = "Test Desk"
default_language = "en"

[languages.en]
title = "Test Desk"

[languages.ru]
title = "Тестовая редакция"
"""

AUTHORS = """\
anna:
  name: Anna Petrova
  name_ru: Анна Петрова
  bio: Covers the courts.
ivan:
  name: Ivan Sidorov
  names:
    ru: Иван Сидоров
  pseudonym: true
"""


def article(
    title: str = "A title", date: str = "2024-03-01", extra: str = "", body: str = "Body text."
) -> str:
    """A minimal valid article with YAML front matter; ``extra`` adds front-matter lines."""
    return f"---\ntitle: {title}\ndate: {date}\n{extra}---\n{body}\n"


def make_site(
    root: Path,
    files: dict[str, str | bytes],
    *,
    toml: str = BASE_TOML,
    authors: str | None = AUTHORS,
) -> Config:
    """Write ``files`` (site-relative path → text or bytes) under ``root``; return its Config."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "tamizdat.toml").write_text(toml, encoding="utf-8")
    if authors is not None:
        (root / "data").mkdir(exist_ok=True)
        (root / "data" / "authors.yaml").write_text(authors, encoding="utf-8")
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
    return load_config(root)
