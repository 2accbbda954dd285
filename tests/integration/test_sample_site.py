"""The built-in sample site (``sample/``) builds and shows every feature the issue promises.

The sample is copied to a temporary folder and built once per session through the command
line (``tamizdat -C COPY build``); every test then reads the output. What each article should
look like is taken from the sample's own front matter, so adding an article to the sample
extends these checks instead of breaking them.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from tamizdat.cli import main
from tamizdat.render.urls import author_path, home_path, month_path

SAMPLE = Path(__file__).resolve().parents[2] / "sample"
LANGS = ("en", "ru")
ARTICLE_PAGE = re.compile(r"^(en|ru)/[a-z0-9-]+/\d{4}/\d{2}/[^/]+/index\.html$")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".avif", ".gif"}
# Strings planted in the originals' EXIF, XMP, IPTC and comment (sample/make_images.py).
PLANTED = (
    b"LX7-0042-1187",
    b"ORP3-77120954",
    b"LX5-0009-3301",
    b"ORP3-55010022",
    b"LX7-0042-2290",
    b"LX5-0009-4412",
    b"Source K.",
    b"Volunteer 14",
    b"Anonymous printer",
    b"do not publish unblurred",
    b"Photoshop 3.0",
    b"http://ns.adobe.com/xap/1.0/",
)
FORBIDDEN_GROUPS = ("IFD0", "IFD1", "ExifIFD", "GPS", "IPTC", "Photoshop", "MakerNotes", "XMP")

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Source:
    """One sample article as written: its file and front matter."""

    path: Path
    lang: str
    key: str  # translation key: translationKey, else the file's base name
    meta: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.meta["title"])

    @property
    def draft(self) -> bool:
        return bool(self.meta.get("draft", False))

    @property
    def authors(self) -> list[str]:
        value = self.meta.get("authors", self.meta.get("author", []))
        return [value] if isinstance(value, str) else [str(a) for a in value]

    @property
    def tags(self) -> list[str]:
        return [str(t) for t in self.meta.get("tags", [])]


def read_sources() -> list[Source]:
    sources = []
    for path in sorted((SAMPLE / "content").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        meta = yaml.safe_load(text.split("---\n")[1])
        stem = path.name.removesuffix(".md")
        lang = "ru" if stem.endswith(".ru") else "en"
        base = stem.removesuffix(".ru")
        sources.append(Source(path, lang, str(meta.get("translationKey", base)), meta))
    return sources


class Links(HTMLParser):
    """Collects ``(href or src, text)`` of links and the ``<img>`` tags of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self.images: list[dict[str, str]] = []
        self.h1 = ""
        self._open: list[list[str]] = []
        self._in_h1 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in values:
            self._open.append([values["href"], ""])
        elif tag == "link" and "href" in values:
            self.links.append((values["href"], values.get("hreflang", "")))
        elif tag == "img":
            self.images.append(values)
        elif tag == "h1":
            self._in_h1 = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open:
            href, text = self._open.pop()
            self.links.append((href, " ".join(text.split())))
        elif tag == "h1":
            self._in_h1 = False

    def handle_data(self, data: str) -> None:
        for entry in self._open:
            entry[1] += data
        if self._in_h1:
            self.h1 += data


@dataclass(frozen=True)
class Built:
    """The sample's output folder, with helpers to read it."""

    root: Path
    site: Path

    def text(self, rel: str) -> str:
        return (self.root / rel).read_text(encoding="utf-8")

    def parse(self, rel: str) -> Links:
        parser = Links()
        parser.feed(self.text(rel))
        return parser

    def resolve(self, page: str, href: str) -> str | None:
        """The output-relative file a link on ``page`` points at, or None if external."""
        href = href.split("#")[0].split("?")[0]
        if not href or re.match(r"^[a-z][a-z0-9+.-]*:", href) or href.startswith("//"):
            if href.startswith("http://127.0.0.1:8000/"):
                href = "/" + href.removeprefix("http://127.0.0.1:8000/")
            else:
                return None
        target = href[1:] if href.startswith("/") else posixpath.join(posixpath.dirname(page), href)
        target = posixpath.normpath(target)
        if target == ".":
            target = ""
        if (self.root / target).is_dir() or target == "" or href.endswith("/"):
            target = posixpath.join(target, "index.html")
        return target

    def targets(self, page: str) -> set[str]:
        return {t for href, _ in self.parse(page).links if (t := self.resolve(page, href))}

    def files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*") if p.is_file())


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    site = tmp_path_factory.mktemp("sample") / "sample"
    shutil.copytree(
        SAMPLE, site, ignore=shutil.ignore_patterns("public", ".tamizdat", "__pycache__")
    )
    assert main(["-q", "-C", str(site), "build"]) == 0
    return Built(site / "public", site)


@pytest.fixture(scope="session")
def sources() -> list[Source]:
    return read_sources()


@pytest.fixture(scope="session")
def pages(built: Built, sources: list[Source]) -> dict[Path, str]:
    """Each published source file → its article page (output-relative), found by headline."""
    by_title: dict[tuple[str, str], str] = {}
    for path in built.files():
        rel = path.relative_to(built.root).as_posix()
        if ARTICLE_PAGE.match(rel):
            by_title[(rel[:2], " ".join(built.parse(rel).h1.split()))] = rel
    found = {}
    for source in sources:
        if not source.draft:
            assert (source.lang, source.title) in by_title, (
                f"no article page for {source.path.name}"
            )
            found[source.path] = by_title[(source.lang, source.title)]
    return found


def published(sources: list[Source]) -> list[Source]:
    return [s for s in sources if not s.draft]


def test_sample_is_big_enough_to_show_every_feature(sources: list[Source]) -> None:
    live = published(sources)
    assert len(live) >= 14
    assert {s.lang for s in live} == set(LANGS)
    assert len({a for s in live for a in s.authors}) == 3
    keys = [s.key for s in live]
    assert sum(keys.count(k) == 2 for k in set(keys)) >= 7, "most articles need a translation"
    assert any(keys.count(k) == 1 for k in keys), "a few articles exist in one language only"
    months = {str(s.meta["date"])[:7] for s in live}
    assert len(months) >= 3
    assert any(s.draft for s in sources)
    assert any("updated" in s.meta or "lastmod" in s.meta for s in live)


def test_every_article_has_a_page_in_its_language(
    pages: dict[Path, str], sources: list[Source]
) -> None:
    assert len(pages) == len(published(sources))
    assert len(set(pages.values())) == len(pages)
    for source in published(sources):
        assert pages[source.path].startswith(f"{source.lang}/")


def test_translations_link_each_other(
    built: Built, pages: dict[Path, str], sources: list[Source]
) -> None:
    by_key: dict[str, list[Source]] = {}
    for source in published(sources):
        by_key.setdefault(source.key, []).append(source)
    pairs = [group for group in by_key.values() if len(group) == 2]
    assert pairs
    for first, second in pairs:
        assert pages[second.path] in built.targets(pages[first.path]), first.path.name
        assert pages[first.path] in built.targets(pages[second.path]), second.path.name


def test_byline_links_to_author_page(
    built: Built, pages: dict[Path, str], sources: list[Source]
) -> None:
    authors = yaml.safe_load((SAMPLE / "data" / "authors.yaml").read_text(encoding="utf-8"))
    for source in published(sources):
        page = pages[source.path]
        for key in source.authors:
            target = author_path(source.lang, key)
            assert target in built.targets(page), f"{page}: no byline link to {target}"
            person = authors[key]
            name = person.get("names", {}).get(source.lang, person["name"])
            author_page = built.text(target)
            assert name in author_page
            # The author page lists the article.
            assert page in built.targets(target)
    assert authors["lodochnik"]["pseudonym"] is True


def test_tag_pages_list_tagged_articles(
    built: Built, pages: dict[Path, str], sources: list[Source]
) -> None:
    shared = 0
    for source in published(sources):
        page = pages[source.path]
        links = built.parse(page).links
        for tag in source.tags:
            hrefs = [href for href, text in links if text.strip("#").casefold() == tag.casefold()]
            assert hrefs, f"{page}: no link for tag {tag!r}"
            tag_page = built.resolve(page, hrefs[0])
            assert tag_page is not None
            assert (built.root / tag_page).is_file()
            tagged = [s for s in published(sources) if s.lang == source.lang and tag in s.tags]
            listed = built.targets(tag_page) | _paginated_targets(built, tag_page)
            assert {pages[s.path] for s in tagged} <= listed, f"{tag_page} misses articles"
            shared += len(tagged) > 1
    assert shared, "tags are shared between articles"


def _paginated_targets(built: Built, first: str) -> set[str]:
    base = first.removesuffix("index.html")
    found: set[str] = set()
    for n in range(1, 10):
        page = f"{base}page/{n}/index.html"
        if not (built.root / page).is_file():
            break
        found |= built.targets(page)
    return found


def test_archive_has_a_page_per_month(
    built: Built, pages: dict[Path, str], sources: list[Source]
) -> None:
    for source in published(sources):
        date = source.meta["date"]
        year, month = int(str(date)[:4]), int(str(date)[5:7])
        archive = month_path(source.lang, year, month)
        assert (built.root / archive).is_file(), archive
        assert pages[source.path] in built.targets(archive)


def test_home_paginates_and_lists_every_article(
    built: Built, pages: dict[Path, str], sources: list[Source]
) -> None:
    for lang in LANGS:
        expected = {pages[s.path] for s in published(sources) if s.lang == lang}
        assert len(expected) > 5, "page_size 5 must leave a second home page"
        # Numbered pages count from the oldest article; each links its neighbours.
        listed = built.targets(home_path(lang)) & expected
        n = 1
        while (built.root / home_path(lang, n)).is_file():
            targets = built.targets(home_path(lang, n))
            if n > 1:
                assert home_path(lang, n) in built.targets(home_path(lang, n - 1))
                assert home_path(lang, n - 1) in targets
            listed |= targets & expected
            n += 1
        assert n - 1 >= 2, f"{lang}: home is not paginated"
        assert home_path(lang, n - 2) in built.targets(home_path(lang)), "root links older"
        assert listed == expected


def test_feeds_and_sitemap_parse(
    built: Built, pages: dict[Path, str], sources: list[Source]
) -> None:
    atom_ns = "{http://www.w3.org/2005/Atom}"
    for lang in LANGS:
        count = sum(s.lang == lang for s in published(sources))
        atom = ET.parse(built.root / lang / "atom.xml").getroot()
        assert atom.tag == f"{atom_ns}feed"
        entries = atom.findall(f"{atom_ns}entry")
        assert 0 < len(entries) <= count
        rss = ET.parse(built.root / lang / "rss.xml").getroot()
        assert rss.tag == "rss"
        assert len(rss.findall("channel/item")) == len(entries)
        feed = json.loads(built.text(f"{lang}/feed.json"))
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        assert len(feed["items"]) == len(entries)
    sitemap = ET.parse(built.root / "sitemap.xml").getroot()
    locs = {e.text for e in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")}
    for page in pages.values():
        assert "http://127.0.0.1:8000/" + page.removesuffix("index.html") in locs
    assert (built.root / "robots.txt").is_file()


def test_search_index_covers_every_article(built: Built, sources: list[Source]) -> None:
    for lang in LANGS:
        indexes = [p for p in (built.root / lang).rglob("*.json") if "search" in p.name]
        assert indexes, f"{lang}: no search index"
        strings: set[str] = set()
        for index in indexes:
            strings |= set(_strings(json.loads(index.read_text(encoding="utf-8"))))
        for source in published(sources):
            if source.lang == lang:
                assert source.title in strings, f"{lang}: {source.title!r} not in the search index"


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_verify_page_exists(built: Built) -> None:
    for lang in LANGS:
        assert [p for p in (built.root / lang).rglob("*.html") if "verify" in p.as_posix()]


def test_draft_is_not_built(built: Built) -> None:
    for path in built.files():
        data = path.read_bytes()
        assert b"DRAFT-MARKER-7f3a" not in data, path
        assert b"Unfinished: notes on the coming winter" not in data, path


def test_raw_html_is_sanitised(built: Built, pages: dict[Path, str]) -> None:
    for path, page in pages.items():
        if path.name.startswith("letters-from-the-shore"):
            html = built.text(page)
            assert "onclick" not in html
            assert "document.title" not in html
            assert re.search(r"<em>(aloud|вслух)</em>", html), page


def test_table_and_footnotes_render(built: Built, pages: dict[Path, str]) -> None:
    for path, page in pages.items():
        if "council-vote" in path.name or "golosovanie" in path.name:
            html = built.text(page)
            assert "<table" in html
            assert "<sup" in html, f"{page}: no footnote reference"
            assert re.search("Under the regional charter|По уставу области", html), page


def test_article_images_are_processed(
    built: Built, pages: dict[Path, str], sources: list[Source]
) -> None:
    with_image = [s for s in published(sources) if "image" in s.meta]
    assert with_image
    for source in with_image:
        page = pages[source.path]
        images = built.parse(page).images
        assert images, f"{page}: no <img>"
        for image in images:
            for candidate in [image.get("src", "")] + [
                part.strip().split(" ")[0]
                for part in image.get("srcset", "").split(",")
                if part.strip()
            ]:
                target = built.resolve(page, candidate)
                assert target is not None, f"{page}: external image {candidate}"
                assert (built.root / target).is_file(), f"{page}: missing {target}"


def _output_images(built: Built) -> list[Path]:
    images = [p for p in built.files() if p.suffix.lower() in IMAGE_SUFFIXES]
    assert images, "the build produced no images"
    return images


def test_originals_carry_planted_metadata() -> None:
    """Guards the next tests: the sample's photos really do carry every planted block."""
    originals = sorted((SAMPLE / "media" / "images").glob("*.jpg"))
    assert len(originals) >= 2
    report = _exiftool(originals)
    for tags in report:
        keys = set(tags)
        for needed in (
            "GPS:GPSLatitude",
            "GPS:GPSLongitude",
            "IFD0:Make",
            "IFD0:Model",
            "ExifIFD:SerialNumber",
            "ExifIFD:DateTimeOriginal",
            "XMP-dc:Creator",
            "IPTC:By-line",
            "File:Comment",
        ):
            assert needed in keys, f"{tags['SourceFile']}: {needed} missing"
        assert Path(tags["SourceFile"]).stat().st_size <= 150 * 1024


def test_output_images_carry_no_metadata_pillow(built: Built) -> None:
    for path in _output_images(built):
        with Image.open(path) as image:
            assert not image.getexif(), path
            for block in ("exif", "xmp", "XML:com.adobe.xmp", "comment", "photoshop", "iptc"):
                assert block not in image.info, f"{path}: {block}"
        data = path.read_bytes()
        for planted in PLANTED:
            assert planted not in data, f"{path}: {planted!r}"


def test_output_images_carry_no_metadata_exiftool(built: Built) -> None:
    for tags in _exiftool(_output_images(built)):
        for key in tags:
            group = key.split(":")[0]
            assert not group.startswith(FORBIDDEN_GROUPS), f"{tags['SourceFile']}: {key}"
            assert not key.endswith(":Comment"), f"{tags['SourceFile']}: {key}"


def test_no_original_image_is_copied(built: Built) -> None:
    originals = {
        hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (SAMPLE / "media").rglob("*")
        if p.is_file()
    }
    for path in built.files():
        assert hashlib.sha256(path.read_bytes()).hexdigest() not in originals, path
    for path in built.files():
        data = path.read_bytes()
        for planted in PLANTED[:3]:
            assert planted not in data, f"{path}: camera serial {planted!r} leaked"


def _exiftool(paths: list[Path]) -> list[dict[str, str]]:
    exiftool = shutil.which("exiftool")
    assert exiftool, "exiftool missing: apt-get install libimage-exiftool-perl"
    result = subprocess.run(
        [exiftool, "-j", "-a", "-G1", *map(str, paths)], check=True, capture_output=True, timeout=60
    )
    report: list[dict[str, str]] = json.loads(result.stdout)
    return report


def test_lead_and_updated_date_are_shown(
    built: Built, pages: dict[Path, str], sources: list[Source]
) -> None:
    updated = 0
    for source in published(sources):
        html = built.text(pages[source.path])
        lead = " ".join(str(source.meta.get("lead", "")).split())
        assert lead[:40] in " ".join(html.split()), f"{pages[source.path]}: lead missing"
        stamp = source.meta.get("updated", source.meta.get("lastmod"))
        if stamp is not None:
            assert re.search(rf'<time[^>]*datetime="{str(stamp)[:10]}', html), pages[source.path]
            updated += 1
    assert updated
