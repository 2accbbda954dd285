"""Pages of a small two-and-a-half-language site: links, article page, localisation."""

from __future__ import annotations

import gzip
import posixpath
import re
from datetime import UTC, datetime, timedelta
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
            if output.endswith("404.html"):
                # Served at any missing address: links start from the site's root path.
                assert ref.startswith("/"), f"{output}: {ref} is relative to the page"
                target = ref[1:]
            else:
                assert not ref.startswith("/"), f"{output}: absolute path {ref}"
                target = posixpath.normpath(posixpath.join(posixpath.dirname(output), ref))
            assert target in existing, f"{output}: {ref} -> {target}"
            checked += 1
    assert checked > 500


def test_only_canonical_uses_base_url(rendered: dict[str, bytes]) -> None:
    for output, data in rendered.items():
        if output.endswith(".html"):
            text = data.decode()
            absolute = re.findall(
                r'<link rel="(?:canonical|alternate" hreflang="[a-z]+)" '
                r'href="https://shore\.example/',
                text,
            )
            # The verify page also prints the command to check the site at its address.
            expected = len(absolute) + (1 if output.endswith("verify/index.html") else 0)
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
    # Absolute (search engines ignore relative alternates), the page itself included.
    assert (
        '<link rel="alternate" hreflang="ru" href="https://shore.example/ru/news/2024/05/sud-prodlil-arest/">'
        in text
    )
    assert '<link rel="alternate" hreflang="en" href="https://shore.example/en/news/' in text
    assert 'hreflang="de" lang="de" title="Gericht verlängert Haft">Deutsch</a>' in text
    assert (
        '<link rel="canonical" href="https://shore.example/en/news/2024/05/court-extends-detention/">'
        in text
    )
    figure = re.search(r'<figure class="story-image">(.*?)</figure>', text, re.S)
    assert figure is not None
    assert 'alt="The square at dusk"' in figure.group(1)
    assert "srcset=" in figure.group(1)
    assert "<figcaption>Photo: staff</figcaption>" in figure.group(1)
    related = re.search(r'<aside class="dont-miss".*?</aside>', text, re.S)
    assert related is not None
    assert "Don&#39;t miss" not in related.group(0)
    assert "Don't miss" in related.group(0)
    assert related.group(0).count('<li class="card">') == 2
    assert '<script src="../../../../../assets/relative-time.js" defer></script>' in text


def test_russian_article_is_localised(rendered: dict[str, bytes], kit: Any) -> None:
    text = rendered[kit.article_output(rendered, "sud-prodlil-arest")].decode()
    assert '<html lang="ru">' in text
    assert "Анна Петрова" in text
    assert "Автор:" in text
    assert "12 мая 2024\u202fг., 14:30" in text
    assert "5 мин чтения" in text
    # The article shares the tag "суды" with four Russian notes: its related block must be
    # there, headed in Russian, and list only Russian articles (same language, newest first).
    related = re.search(r'<aside class="dont-miss".*?</aside>', text, re.S)
    assert related is not None
    block = related.group(0)
    assert '<h2 id="related" class="rubric">Не пропустите</h2>' in block
    assert "Don't miss" not in block
    assert block.count('<li class="card">') == 2
    assert "Русская заметка 0" in block
    assert "Русская заметка 1" in block
    assert "/ru/news/" in block
    assert "/en/" not in block
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


def test_home_pages_count_from_the_oldest_article(rendered: dict[str, bytes]) -> None:
    # en, newest first: the court story, then stories 0..6; three a page.
    front = rendered["en/index.html"].decode()
    # The front's own stories; "Don't miss" below holds the next four (2..5).
    root, dont_miss = front.split('<section class="dont-miss"')
    assert root.index("Court extends detention") < root.index("English story number 0")
    assert "English story number 1" in root
    assert "English story number 2" not in root
    assert [n for n in range(7) if f"English story number {n}<" in dont_miss] == [2, 3, 4, 5]
    # The root's "older" link opens the page holding the newest article it does not show.
    assert '<a href="../en/page/2/index.html">More news</a>' in front
    assert "Newer" not in front
    oldest = rendered["en/page/1/index.html"].decode()
    assert [n for n in range(7) if f"English story number {n}<" in oldest] == [4, 5, 6]
    assert oldest.index("number 4") < oldest.index("number 6")  # newest first on a page
    assert '<a href="../../../en/page/2/index.html" rel="next">Newer</a>' in oldest
    assert "Older" not in oldest
    middle = rendered["en/page/2/index.html"].decode()
    assert [n for n in range(7) if f"English story number {n}<" in middle] == [1, 2, 3]
    assert '<a href="../../../en/page/3/index.html" rel="next">Newer</a>' in middle
    assert '<a href="../../../en/page/1/index.html" rel="prev">Older</a>' in middle
    assert "<title>The Test Shore, page 2 · The Test Shore</title>" in middle
    assert '<p class="count">Page 2</p>' in middle
    assert "articles" not in middle  # no total: it would change with every new article
    newest = rendered["en/page/3/index.html"].decode()
    assert "Court extends detention" in newest
    assert "English story number 0" in newest
    assert "Newer" not in newest
    assert "en/page/4/" not in "".join(rendered)


def test_a_list_that_fits_its_root_has_no_numbered_pages(rendered: dict[str, bytes]) -> None:
    # de has one article: its root shows it all, so no numbered page and no "older" link.
    assert "de/index.html" in rendered
    assert not any(o.startswith("de/page/") for o in rendered)
    assert 'class="pages"' not in rendered["de/index.html"].decode()
    assert "ru/page/2/index.html" in rendered  # ru (5 articles) does paginate


def test_numbered_page_labels_are_localised(rendered: dict[str, bytes]) -> None:
    ru_tag = rendered["ru/tags/sudy/page/1/index.html"].decode()
    assert '<p class="count">Страница 1</p>' in ru_tag
    assert ">Новее</a>" in ru_tag
    assert ", страница 1 · " in ru_tag
    assert ">Старше</a>" in rendered["ru/tags/sudy/index.html"].decode()


def _en_story(kit: Any, i: int, base: datetime) -> Any:
    return kit.make_article(
        title=f"Story {i:02d}",
        date=base + timedelta(hours=i),
        tags=("courts",) if i % 2 else ("courts", "economy"),
        authors=("boris",),
        lead=f"Lead {i}.",
    )


@pytest.mark.parametrize("count", [13, 15])  # a partial newest page, and a full one
def test_adding_an_article_leaves_older_numbered_pages_alone(kit: Any, count: int) -> None:
    base = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    articles = [_en_story(kit, i, base) for i in range(count)]
    settings = kit.make_settings(page_size=3)
    before = Renderer(kit.make_site(articles), settings, kit.images)
    newcomer = _en_story(kit, count, base)
    after = Renderer(kit.make_site([*articles, newcomer]), settings, kit.images)
    old_plans = {p.output: p for p in before.plan()}
    new_plans = {p.output: p for p in after.plan()}
    diff = {
        o
        for o in old_plans.keys() | new_plans.keys()
        if (o not in old_plans or o not in new_plans or old_plans[o].key != new_plans[o].key)
    }
    related = {
        a.url_path + "index.html"
        for a in after.listing.by_source.values()
        if newcomer.source in {r.source for r in after.listing.related[a.source]}
        or before.listing.related.get(a.source) != after.listing.related[a.source]
    }
    newest_home = -(-(count + 1) // 3)
    newest_tags = {
        f"en/tags/courts/page/{-(-(count + 1) // 3)}/index.html",
    }
    allowed = {
        "en/index.html",
        "en/tags/courts/index.html",
        "en/news/index.html",  # the story's section front, paginated like the home page
        f"en/page/{newest_home}/index.html",
        f"en/news/page/{newest_home}/index.html",
        # The previous newest page gains its "newer" link when it was full.
        *(
            {
                f"en/page/{newest_home - 1}/index.html",
                f"en/news/page/{newest_home - 1}/index.html",
                f"en/tags/courts/page/{count // 3}/index.html",
            }
            if count % 3 == 0
            else ()
        ),
        *newest_tags,
        newcomer.url_path + "index.html",
        *related,
        "en/atom.xml",
        "en/rss.xml",
        "en/feed.json",
        "en/search-index.json",
        "sitemap.xml",
        "en/authors/boris/index.html",  # author pages are one page each
        "en/archive/index.html",
        "en/archive/2024/03/index.html",
    }
    assert diff <= allowed, diff - allowed
    assert f"en/page/{newest_home}/index.html" in diff
    older = sorted(o for o in old_plans if "/page/" in o and o not in diff and o.startswith("en/"))
    assert len(older) >= 5, older
    for output in older:  # unchanged key, and so unchanged bytes
        assert before.render(old_plans[output]) == after.render(new_plans[output]), output
    # Without the stable numbering every home page would have moved.
    assert "en/page/1/index.html" not in diff
    assert "en/page/2/index.html" not in diff


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
    for code in ("en", "ru", "de"):
        assert f'<a href="{code}/index.html" hreflang="{code}"' in chooser
        # Each language greets in its own words, marked with its language.
        assert f'<li lang="{code}">' in chooser
    assert "Читать новости →" in chooser
    assert "Read the news →" in chooser


def test_verify_page_shows_fingerprint_or_unsigned(rendered: dict[str, bytes], kit: Any) -> None:
    signed = rendered["en/verify/index.html"].decode()
    # Sixteen groups of four, and the same fingerprint as an inline QR code (no request).
    assert signed.count("<span>abab</span>") == 16
    assert "<svg" in signed
    assert "QR code of the fingerprint" in signed
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
    # Phone-first layout plus the front-page grid: small, and smaller still gzipped.
    assert len(rendered["assets/style.css"]) < 10240
    assert len(gzip.compress(rendered["assets/style.css"])) < 3072
    assert b"@font-face" not in rendered["assets/style.css"]
    assert len(rendered["assets/search.js"]) < 4096
    assert len(rendered["assets/relative-time.js"]) < 2048


def test_front_page_title_says_the_name_once(rendered: dict[str, bytes]) -> None:
    assert "<title>The Test Shore</title>" in rendered["en/index.html"].decode()
    assert "<title>Тестовый берег</title>" in rendered["ru/index.html"].decode()
    assert "<title>News · The Test Shore</title>" in rendered["en/news/index.html"].decode()


def test_pages_describe_themselves_and_carry_the_favicon(
    rendered: dict[str, bytes], kit: Any
) -> None:
    home = rendered["ru/index.html"].decode()
    assert '<meta name="description" content="Новости по-русски">' in home
    article = rendered[kit.article_output(rendered, "court-extends-detention")].decode()
    summary = re.search(r'<meta name="description" content="([^"]*)">', article)
    assert summary is not None
    assert summary.group(1)
    assert summary.group(1) != "News in English"  # the article's own summary or lead
    for output, data in rendered.items():
        if output.endswith(".html") and not output.endswith("404.html"):
            icon = re.search(r'<link rel="icon" href="([^"]+)"', data.decode())
            assert icon is not None, output
            target = posixpath.normpath(posixpath.join(posixpath.dirname(output), icon.group(1)))
            assert target == "assets/favicon.png", output
    assert "assets/favicon.png" in rendered


def test_home_pages_and_section_fronts_list_every_language_absolutely(
    rendered: dict[str, bytes],
) -> None:
    for output in ("en/index.html", "ru/news/index.html", "de/verify/index.html"):
        text = rendered[output].decode()
        tail = output.split("/", 1)[1].removesuffix("index.html")
        for code in ("en", "ru", "de"):
            href = f"https://shore.example/{code}/{tail}"
            assert f'<link rel="alternate" hreflang="{code}" href="{href}">' in text, output


def test_search_status_speaks_the_page_language(rendered: dict[str, bytes]) -> None:
    text = rendered["ru/search/index.html"].decode()
    assert 'data-found="Найдено: {found} из {total}"' in text
    assert 'data-none="Ничего не найдено."' in text


def test_language_switch_marks_each_language_and_the_current_one(
    rendered: dict[str, bytes], kit: Any
) -> None:
    article = rendered[kit.article_output(rendered, "sud-prodlil-arest")].decode()
    switch = re.search(r'<nav class="langs".*?</nav>', article, re.S)
    assert switch is not None
    # To the translation itself, marked with its language; the page's own marked current.
    assert 'hreflang="en" lang="en">English</a>' in switch.group(0)
    assert "court-extends-detention/index.html" in switch.group(0)
    assert 'lang="ru" aria-current="true">Русский</a>' in switch.group(0)
