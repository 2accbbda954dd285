"""The reader's language everywhere: no English from the theme on a Russian page.

The sample is built once; every Russian HTML page is parsed and each text node and
user-facing attribute (``aria-label``, ``title``, ``alt``, ``placeholder``, ``data-*`` words
the search script shows) outside an element marked with another ``lang`` is compared with
every string of the English catalog. A message with placeholders (``%(num)d articles``)
is matched as a pattern. The catalogs themselves must cover every message the theme's
templates and the renderer use, in every shipped language.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from tamizdat.cli import main
from tamizdat.render.i18n import catalog_languages
from tamizdat.render.theme import default_theme_dir

REPO = Path(__file__).resolve().parents[2]
LOCALE = REPO / "src" / "tamizdat" / "locale"
SHOWN_ATTRIBUTES = {"aria-label", "title", "alt", "placeholder", "data-found", "data-none"}
_VOID = {"meta", "link", "img", "br", "hr", "input", "source", "wbr", "col", "area", "base"}


def _catalog(lang: str) -> dict[str, str]:
    with (LOCALE / lang / "LC_MESSAGES" / "tamizdat.po").open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    found: dict[str, str] = {}
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for msgid, text in zip(ids, strings, strict=False):
            found[msgid] = text
    return found


def _pattern(text: str) -> re.Pattern[str]:
    parts = re.split(r"%\(\w+\)[sd]", text)
    return re.compile(r"\s*" + r".+?".join(re.escape(p.strip()) for p in parts) + r"\s*$")


ENGLISH = [_pattern(text) for text in _catalog("en").values() if text.strip()]


class _Texts(HTMLParser):
    """Text nodes and shown attributes, with the ``lang`` in force for each."""

    def __init__(self, page_lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, str]] = [("", page_lang)]
        self.found: list[tuple[str, str]] = []  # (lang, text)
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        lang = values.get("lang") or self.stack[-1][1]
        for name in SHOWN_ATTRIBUTES & values.keys():
            self.found.append((lang, str(values[name])))
        if tag in ("script", "style", "code", "pre", "svg"):
            self.skip += 1
        if tag not in _VOID:
            self.stack.append((tag, lang))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "pre", "svg"):
            self.skip -= 1
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            self.found.append((self.stack[-1][1], data.strip()))


def english_strings(html: str, page_lang: str) -> list[str]:
    """Theme strings still in English on a page (or part of one) in ``page_lang``."""
    parser = _Texts(page_lang)
    parser.feed(html)
    return [
        text
        for lang, text in parser.found
        if lang.split("-")[0] == page_lang and any(p.match(text) for p in ENGLISH)
    ]


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("l10n") / "sample"
    shutil.copytree(REPO / "sample", site)
    assert main(["-q", "-C", str(site), "build"]) == 0
    return site / "public"


def test_no_russian_page_shows_an_english_theme_string(public: Path) -> None:
    pages = sorted(public.glob("ru/**/*.html"))
    assert len(pages) > 20
    offenders = {
        str(page.relative_to(public)): found
        for page in pages
        if (found := english_strings(page.read_text(encoding="utf-8"), "ru"))
    }
    assert offenders == {}


def test_the_front_door_and_the_404_page_speak_each_language_in_its_own_element(
    public: Path,
) -> None:
    for name in ("index.html", "404.html"):
        html = (public / name).read_text(encoding="utf-8")
        assert english_strings(html, "ru") == [], name
        assert '<li lang="ru">' in html or '<section class="notice" lang="ru">' in html


@pytest.mark.parametrize(
    "snippet",
    [
        "<p>Don't miss</p>",
        '<nav aria-label="Sections"></nav>',
        "<p>12 articles</p>",
        '<a title="Check this copy">Проверить</a>',
        '<div lang="en"><p lang="ru">Front page</p></div>',
    ],
)
def test_the_check_finds_english_in_every_place_it_can_hide(snippet: str) -> None:
    assert english_strings(f'<html lang="ru"><body>{snippet}</body></html>', "ru")


def test_english_marked_as_english_is_allowed() -> None:
    html = '<html lang="ru"><body><a lang="en" hreflang="en">Front page</a></body></html>'
    assert english_strings(html, "ru") == []


def _theme_messages() -> set[str]:
    found: set[str] = set()
    options = {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "True"}
    for template in (default_theme_dir() / "templates").rglob("*.html"):
        for _, message, _, _ in extract_from_file(
            "jinja2.ext.babel_extract", str(template), options=options
        ):
            found.update(message if isinstance(message, tuple) else (message,))
    render = REPO / "src" / "tamizdat" / "render"
    keywords = {"_t": (2,), "gettext": None}
    for module in ("pages.py", "markdown.py"):
        for _, message, _, _ in extract_from_file(
            "python", str(render / module), keywords=keywords
        ):
            found.add(message if isinstance(message, str) else message[0])
    return {m for m in found if m}


@pytest.mark.parametrize("lang", catalog_languages())
def test_every_catalog_covers_every_theme_message(lang: str) -> None:
    messages = _theme_messages()
    assert len(messages) > 40
    catalog = _catalog(lang)
    missing = sorted(m for m in messages if not catalog.get(m))
    assert missing == []
