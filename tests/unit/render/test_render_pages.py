"""Pages of a small two-and-a-half-language site: links, article page, localisation."""

from __future__ import annotations

import posixpath
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from tamizdat.render import Renderer


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("href", "src"):
            if values.get(name):
                self.refs.append(str(values[name]))
        if values.get("srcset"):
            self.refs += [c.split()[0] for c in str(values["srcset"]).split(",")]
        if tag == "form" and values.get("data-index"):
            self.refs.append(str(values["data-index"]))


def test_every_relative_link_resolves_to_a_planned_output(
    rendered: dict[str, bytes], kit: Any
) -> None:
    images = {v.output for s in kit.images.values() for v in s.variants}
    existing = set(rendered) | images
    checked = 0
    for output, data in rendered.items():
        if not output.endswith(".html"):
            continue
        parser = _Links()
        parser.feed(data.decode())
        for ref in parser.refs:
            if ref.startswith(("https://", "http://", "#", "mailto:")):
                assert not ref.startswith("https://shore.example/") or "canonical" in data.decode()
                continue
            assert not ref.startswith("/"), f"{output}: absolute path {ref}"
            target = posixpath.normpath(posixpath.join(posixpath.dirname(output), ref))
            assert target in existing, f"{output}: {ref} -> {target}"
            checked += 1
    assert checked > 500


def test_only_canonical_uses_base_url(rendered: dict[str, bytes]) -> None:
    for output, data in rendered.items():
        if output.endswith(".html"):
            text = data.decode()
            # The verify page also prints the command to check the site at its address.
            expected = 2 if output.endswith("verify/index.html") else 1
            assert text.count("https://shore.example/") == expected, output
            assert '<link rel="canonical" href="https://shore.example/' in text


def test_article_page_has_everything_a_reader_expects(rendered: dict[str, bytes], kit: Any) -> None:
    text = rendered[kit.article_output(rendered, "court-extends-detention")].decode()
    assert '<html lang="en">' in text
    assert "<h1>Court extends detention</h1>" in text
    assert '<p class="lead">The lead paragraph of the article.</p>' in text
    assert (
        '<a href="../../../../../en/authors/anna/index.html" rel="author">Anna Petrova</a>' in text
    )
    assert '<a href="../../../../../en/authors/boris/index.html" rel="author">Boris</a>' in text
    assert '<time datetime="2024-05-12T14:30:00+03:00" data-relative>May 12, 2024, 2:30' in text
    assert 'updated <time datetime="2024-05-12T19:30:00+03:00">' in text
    assert "3 min read" in text
    assert '<a href="../../../../../en/tags/novograd/index.html" rel="tag">Novograd</a>' in text
    assert (
        '<link rel="alternate" hreflang="ru" href="../../../../../ru/news/2024/05/sud-prodlil-arest/index.html">'
        in text
    )
    assert 'hreflang="de" lang="de" title="Gericht verlängert Haft">Deutsch</a>' in text
    assert (
        '<link rel="canonical" href="https://shore.example/en/news/2024/05/court-extends-detention/">'
        in text
    )
    figure = re.search(r'<figure class="lead-image">(.*?)</figure>', text, re.S)
    assert figure is not None
    assert 'alt="The square at dusk"' in figure.group(1)
    assert "srcset=" in figure.group(1)
    assert "<figcaption>Photo: staff</figcaption>" in figure.group(1)
    related = re.search(r'<aside class="related".*?</aside>', text, re.S)
    assert related is not None
    assert "Don&#39;t miss" not in related.group(0)
    assert "Don't miss" in related.group(0)
    assert related.group(0).count("<li>") == 2
    assert '<script src="../../../../../assets/relative-time.js" defer></script>' in text


def test_russian_article_is_localised(rendered: dict[str, bytes], kit: Any) -> None:
    text = rendered[kit.article_output(rendered, "sud-prodlil-arest")].decode()
    assert '<html lang="ru">' in text
    assert "Анна Петрова" in text
    assert "Автор:" in text
    assert "12 мая 2024\u202fг., 14:30" in text
    assert "5 мин чтения" in text
    assert "Не пропустите" in text or "related" not in text
    assert "Также на языках:" in text
    assert ">English</a>" in text
    assert "Проверить эту копию" in text
    assert "Архив" in text


def test_language_without_catalog_gets_english_strings_and_its_own_dates(
    rendered: dict[str, bytes], kit: Any
) -> None:
    text = rendered[kit.article_output(rendered, "gericht-verlangert-haft")].decode()
    assert '<html lang="de">' in text
    assert "12. Mai 2024, 14:30" in text
    assert "1 min read" in text
    assert "Also in:" in text


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "1 статья"), (2, "2 статьи"), (5, "5 статей"), (21, "21 статья"), (11, "11 статей")],
)
def test_russian_plural_forms(kit: Any, count: int, expected: str) -> None:
    articles = [
        kit.make_article(title=f"Заметка {i}", lang="ru", tags=("суды",)) for i in range(count)
    ]
    renderer = Renderer(kit.make_site(articles), kit.make_settings(page_size=50), kit.images)
    plan = next(p for p in renderer.plan() if p.output == "ru/tags/sudy/index.html")
    assert f'<p class="count">{expected}</p>' in renderer.render(plan).decode()


def test_home_paginates_newest_first(rendered: dict[str, bytes]) -> None:
    first = rendered["en/index.html"].decode()
    second = rendered["en/page/2/index.html"].decode()
    assert first.index("Court extends detention") < first.index("English story number 0")
    assert "English story number 2" in second
    assert "English story number 1" not in second
    assert '<a href="../../../en/index.html" rel="prev">' in second
    assert '<a href="../../../en/page/3/index.html" rel="next">' in second
    assert "page 2 of 3" in second


def test_archive_tag_author_pages(rendered: dict[str, bytes]) -> None:
    archive = rendered["ru/archive/index.html"].decode()
    assert "май 2024" in archive
    assert "апрель 2024" in archive
    assert '<a href="../../ru/tags/novograd/index.html">Новоград</a>' in archive
    month = rendered["ru/archive/2024/04/index.html"].decode()
    assert "Русская заметка 0" in month
    assert "Суд продлил арест" not in month
    author = rendered["ru/authors/anna/index.html"].decode()
    assert "<h1>Анна Петрова</h1>" in author
    assert "Covers the courts." in author


def test_chooser_links_every_language(rendered: dict[str, bytes]) -> None:
    chooser = rendered["index.html"].decode()
    for code, name in (("en", "English"), ("ru", "Русский"), ("de", "Deutsch")):
        assert f'<a href="{code}/index.html" hreflang="{code}" lang="{code}">{name}</a>' in chooser


def test_verify_page_shows_fingerprint_or_unsigned(rendered: dict[str, bytes], kit: Any) -> None:
    signed = rendered["en/verify/index.html"].decode()
    assert "abab abab abab" in signed
    assert f"tamizdat verify https://shore.example/ --fingerprint {'ab' * 32}" in signed
    assert "tamizdat verify --page FILE" in signed
    renderer = Renderer(kit.make_site(kit.sample_articles()), kit.make_settings(), kit.images)
    plan = next(p for p in renderer.plan() if p.output == "ru/verify/index.html")
    assert "Этот сайт ещё не подписан" in renderer.render(plan).decode()


def test_search_page_works_without_javascript(rendered: dict[str, bytes]) -> None:
    text = rendered["en/search/index.html"].decode()
    assert 'data-index="../search-index.json"' in text
    assert '<a href="../../en/archive/index.html">Archive</a>' in text
    assert '<script src="../../assets/search.js" defer></script>' in text


def test_rendering_is_deterministic(kit: Any, rendered: dict[str, bytes]) -> None:
    again = Renderer(
        kit.make_site(kit.sample_articles()), kit.make_settings(), kit.images, fingerprint="ab" * 32
    )
    assert {p.output: again.render(p) for p in again.plan()} == rendered


def test_assets_are_small_and_font_free(rendered: dict[str, bytes]) -> None:
    assert len(rendered["assets/style.css"]) < 4096
    assert b"@font-face" not in rendered["assets/style.css"]
    assert len(rendered["assets/search.js"]) < 4096
    assert len(rendered["assets/relative-time.js"]) < 2048
