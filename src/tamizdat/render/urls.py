"""Where each page lives, and how one page links to another.

Invariant kept: internal links are relative and name ``index.html`` explicitly, so the same
bytes work from any mirror, under any path prefix, and opened from ``file://`` (where a
link to a folder would show a directory listing). Only canonical links, feeds and the
sitemap use the absolute ``base_url``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from tamizdat.content.model import Article

__all__ = [
    "INDEX",
    "archive_path",
    "article_path",
    "author_path",
    "canonical",
    "desk_path",
    "home_path",
    "month_path",
    "root_of",
    "site_root_path",
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


def desk_path(lang: str, desk: str, n: int | None = None) -> str:
    """The section (desk) front, or its numbered page ``n`` (1 = the oldest articles).

    Beside the articles' ``{lang}/{desk}/{yyyy}/`` folders: ``page`` is never a year.
    """
    base = f"{lang}/{desk}/"
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


def site_root_path(base_url: str) -> str:
    """The path of the site's root on its host (``/`` or ``/news/``), ending in ``/``.

    Only for pages served at an address the build cannot know (the 404 page, which hosts
    return for any missing path, however deep): there a relative link would resolve
    against the missing address. A mirror that serves the site under another path
    prefix than ``base_url`` gets a 404 page whose links miss; every other page still works.
    """
    path = urlsplit(base_url).path or "/"
    return path if path.endswith("/") else path + "/"
