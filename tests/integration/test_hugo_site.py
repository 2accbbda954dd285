"""A Hugo site's ``content/`` and ``static/`` build without edits (only tamizdat.toml added).

The fixture ``tests/fixtures/hugo-site`` uses what Hugo sites contain: YAML front matter with
Hugo's keys (``lastmod``, ``categories``, ``weight``, ``aliases``, ``draft``), a translation by
file-name suffix (``a.ru.md``), a page bundle with its picture beside ``index.md``, and a
picture in ``static/`` referenced from the site root (``/images/x.jpg``).
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from tamizdat.cli import main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "hugo-site"
ARTICLE_PAGE = re.compile(r"^(en|ru)/[a-z0-9-]+/\d{4}/\d{2}/[^/]+/index\.html$")

pytestmark = pytest.mark.integration


class Page(HTMLParser):
    """The headline, link targets and image sources of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.h1 = ""
        self.hrefs: list[str] = []
        self.images: list[str] = []
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag in ("a", "link") and values.get("href"):
            self.hrefs.append(values["href"])
        elif tag == "img":
            self.images.append(values.get("src", ""))
            srcset = values.get("srcset", "")
            self.images += [p.strip().split(" ")[0] for p in srcset.split(",") if p.strip()]
        self._in_h1 = self._in_h1 or tag == "h1"

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        if self._in_h1:
            self.h1 += data


def resolve(page: str, href: str) -> str:
    href = href.split("#")[0]
    target = href[1:] if href.startswith("/") else posixpath.join(posixpath.dirname(page), href)
    target = posixpath.normpath(target)
    return posixpath.join(target, "index.html") if href.endswith("/") else target


@pytest.fixture(scope="session")
def output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("hugo") / "site"
    shutil.copytree(FIXTURE, site, ignore=shutil.ignore_patterns("public", ".tamizdat"))
    assert main(["-q", "-C", str(site), "build"]) == 0
    return site / "public"


@pytest.fixture(scope="session")
def articles(output: Path) -> dict[str, tuple[str, Page]]:
    """Headline → (output-relative path, parsed page) of every article page."""
    found = {}
    for path in sorted(output.rglob("index.html")):
        rel = path.relative_to(output).as_posix()
        if ARTICLE_PAGE.match(rel):
            page = Page()
            page.feed(path.read_text(encoding="utf-8"))
            found[" ".join(page.h1.split())] = (rel, page)
    return found


def test_every_non_draft_post_is_built(articles: dict[str, tuple[str, Page]]) -> None:
    assert set(articles) == {
        "Moving the archive over",
        "Переносим архив",
        "A page bundle with its own picture",
    }
    assert articles["Moving the archive over"][0].startswith("en/")
    assert articles["Переносим архив"][0].startswith("ru/")


def test_language_suffix_makes_a_linked_translation(articles: dict[str, tuple[str, Page]]) -> None:
    en_path, en_page = articles["Moving the archive over"]
    ru_path, ru_page = articles["Переносим архив"]
    assert ru_path in {resolve(en_path, h) for h in en_page.hrefs}
    assert en_path in {resolve(ru_path, h) for h in ru_page.hrefs}


def test_lastmod_is_shown_as_updated(output: Path, articles: dict[str, tuple[str, Page]]) -> None:
    html = (output / articles["Moving the archive over"][0]).read_text(encoding="utf-8")
    assert re.search(r'<time[^>]*datetime="2025-03-05', html), "lastmod not shown as 'updated'"
    assert re.search(r'<time[^>]*datetime="2025-03-02', html)


@pytest.mark.parametrize(
    ("title", "original"),
    [
        ("Moving the archive over", "static/images/x.jpg"),
        ("Переносим архив", "static/images/x.jpg"),
        ("A page bundle with its own picture", "content/posts/b/photo.jpg"),
    ],
)
def test_images_resolve_to_processed_copies(
    output: Path, articles: dict[str, tuple[str, Page]], title: str, original: str
) -> None:
    rel, page = articles[title]
    assert page.images, f"{rel}: no <img>"
    with Image.open(FIXTURE / original) as source:
        size = source.size
    original_hash = hashlib.sha256((FIXTURE / original).read_bytes()).hexdigest()
    for src in page.images:
        target = output / resolve(rel, src)
        assert target.is_file(), f"{rel}: {src} does not exist"
        assert hashlib.sha256(target.read_bytes()).hexdigest() != original_hash, "original copied"
        with Image.open(target) as image:
            assert not image.getexif(), f"{target}: EXIF survived"
            assert image.size[0] <= size[0]


def test_drafts_and_hugo_only_keys_leave_no_trace(output: Path) -> None:
    for path in output.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"HUGO-DRAFT-MARKER" not in data, path
            assert b"FixtureCam" not in data, path
