"""Where each page lives, and how one page links to another.

Invariant kept: internal links are relative and name ``index.html`` explicitly, so the same
bytes work from any mirror, under any path prefix, and opened from ``file://`` (where a
link to a folder would show a directory listing). Only canonical links, feeds and the
sitemap use the absolute ``base_url``.
"""

from __future__ import annotations

from tamizdat.content.model import Article

__all__ = [
    "INDEX",
    "archive_path",
    "article_path",
    "author_path",
    "canonical",
    "home_path",
    "month_path",
    "root_of",
    "tag_path",
]

INDEX = "index.html"


def root_of(output: str) -> str:
    """The relative prefix from ``output`` back to the output root (``''`` at the root)."""
    return "../" * output.count("/")


def home_path(lang: str, n: int | None = None) -> str:
    """The language's list root, or its numbered page ``n`` (1 = the oldest articles)."""
    return f"{lang}/{INDEX}" if n is None else f"{lang}/page/{n}/{INDEX}"


def tag_path(lang: str, slug: str, n: int | None = None) -> str:
    """The tag's list root, or its numbered page ``n`` (1 = the oldest articles)."""
    base = f"{lang}/tags/{slug}/"
    return base + INDEX if n is None else f"{base}page/{n}/{INDEX}"


def author_path(lang: str, key: str) -> str:
    return f"{lang}/authors/{key}/{INDEX}"


def archive_path(lang: str) -> str:
    return f"{lang}/archive/{INDEX}"


def month_path(lang: str, year: int, month: int) -> str:
    return f"{lang}/archive/{year:04d}/{month:02d}/{INDEX}"


def article_path(article: Article) -> str:
    return article.url_path + INDEX


def canonical(base_url: str, output: str) -> str:
    """The absolute, pretty URL of ``output`` (``…/index.html`` becomes ``…/``)."""
    if output == INDEX:
        return base_url
    if output.endswith("/" + INDEX):
        output = output[: -len(INDEX)]
    return base_url + output
