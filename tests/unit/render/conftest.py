"""A small hand-built site for the renderer tests: two languages (plus German, which has
no catalog), three authors, translations, tags, a lead image, a body image, footnotes.

Images are ImageSets pointing at output paths; the renderer never reads image bytes, so
the link checker counts their variant outputs as existing files.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tamizdat.config import BuildSettings, DeskSettings, LanguageSettings, SiteSettings
from tamizdat.content.model import Article, Author, ImageRef, Site
from tamizdat.content.slugs import slugify
from tamizdat.render import Renderer
from tamizdat.render.types import ImageSet, ImageVariant

MSK = timezone(timedelta(hours=3))


def make_settings(**changes: Any) -> SiteSettings:
    root = Path("/nonexistent-site")
    build = BuildSettings(
        content_dir=root / "content",
        static_dirs=(root / "static",),
        data_dir=root / "data",
        theme_dir=root / "theme",
        output_dir=root / "public",
        cache_dir=root / ".tamizdat",
        page_size=changes.pop("page_size", 3),
        feed_size=changes.pop("feed_size", 4),
        related_count=changes.pop("related_count", 2),
        image_widths=(480, 960, 1440),
        image_quality=78,
        default_desk="news",
        workers=1,
    )
    settings = SiteSettings(
        title="The Test Shore",
        base_url="https://shore.example/",
        default_language="en",
        languages=(
            LanguageSettings("en", "The Test Shore", "News in English"),
            LanguageSettings("ru", "Тестовый берег", "Новости по-русски"),
            LanguageSettings("de", "Das Testufer", ""),
        ),
        desks=(DeskSettings("news", "News"), DeskSettings("opinion", "Opinion")),
        copyright="© test",
        build=build,
    )
    return dataclasses.replace(settings, **changes)


def make_article(**fields: Any) -> Article:
    title = fields.get("title", "A headline")
    lang = fields.get("lang", "en")
    slug = fields.get("slug", slugify(title))
    body = fields.get("body", "Some body text.\n")
    values: dict[str, Any] = {
        "source": f"content/{lang}/{slug}.md",
        "lang": lang,
        "desk": "news",
        "slug": slug,
        "title": title,
        "date": datetime(2024, 5, 12, 14, 30, tzinfo=MSK),
        "updated": None,
        "authors": ("anna",),
        "tags": ("courts",),
        "summary": "",
        "lead": "The lead paragraph of the article.",
        "body": body,
        "body_line": 6,
        "draft": False,
        "translation_key": slug,
        "image": None,
        "words": len(body.split()),
        "content_hash": hashlib.sha256(repr((title, body)).encode()).hexdigest(),
        "body_images": (),
    }
    values.update(fields)
    return Article(**values)


def make_site(articles: list[Article]) -> Site:
    ordered = sorted(articles, key=lambda a: a.url_path)
    ordered.sort(key=lambda a: a.date, reverse=True)
    names = sorted({t for a in articles for t in a.tags})
    return Site(
        articles=tuple(ordered),
        authors=(
            Author("anna", "Anna Petrova", "Covers the courts.", names=(("ru", "Анна Петрова"),)),
            Author("boris", "Boris", "Economy desk.", names=(("ru", "Борис"),)),
            Author("lodka", "Lodochnik", "A pseudonym.", pseudonym=True),
        ),
        static_files=(),
        tag_slugs=tuple(sorted(((n, slugify(n)) for n in names), key=lambda p: (p[1], p[0]))),
        languages=("en", "ru", "de"),
    )


def image_set(source: str, stem: str) -> ImageSet:
    return ImageSet(
        source,
        tuple(
            ImageVariant(f"media/news/2024/05/{stem}-{w}.jpg", w, w * 2 // 3, "image/jpeg")
            for w in (480, 960, 1440)
        ),
    )


IMAGES = {
    "media/square.jpg": image_set("media/square.jpg", "square"),
    "media/chart.png": image_set("media/chart.png", "chart"),
}

BODY = """First paragraph with a [link](https://elsewhere.example/page) and ~~old~~ text.[^1]

| District | Days without water |
|---|---:|
| Zavodskoy | 9 |

![A chart of outages](../../media/chart.png "Outages")

[^1]: A footnote.
"""


def sample_articles() -> list[Article]:
    day = timedelta(days=1)
    base = datetime(2024, 5, 12, 14, 30, tzinfo=MSK)
    articles = [
        make_article(
            title="Court extends detention",
            slug="court-extends-detention",
            translation_key="court",
            body=BODY,
            body_images=(("../../media/chart.png", "media/chart.png"),),
            image=ImageRef("media/square.jpg", "The square at dusk", "Photo: staff"),
            updated=base + timedelta(hours=5),
            tags=("courts", "Novograd"),
            authors=("anna", "boris"),
            words=620,
        ),
        make_article(
            title="Суд продлил арест",
            slug="sud-prodlil-arest",
            lang="ru",
            translation_key="court",
            body=BODY.replace("Outages", "Отключения"),
            body_images=(("../../media/chart.png", "media/chart.png"),),
            tags=("суды", "Новоград"),
            authors=("anna",),
            words=1000,
        ),
        make_article(
            title="Gericht verlängert Haft",
            slug="gericht-verlangert-haft",
            lang="de",
            translation_key="court",
            tags=("Gerichte",),
            words=100,
        ),
    ]
    for i in range(7):
        articles.append(
            make_article(
                title=f"English story number {i}",
                date=base - (i + 1) * day,
                tags=("courts",) if i % 2 else ("economy", "Novograd"),
                authors=("boris",) if i % 3 else ("lodka",),
                lead=f"Lead of story {i}.",
                summary=f"Summary {i}",
                words=200 * (i + 1),
            )
        )
    for i in range(4):
        articles.append(
            make_article(
                title=f"Русская заметка {i}",
                lang="ru",
                date=base - (i + 40) * day,
                tags=("суды",),
                words=300 * (i + 1),
                lead=f"Лид заметки {i}.",
            )
        )
    return articles


@pytest.fixture(scope="session")
def site() -> Site:
    return make_site(sample_articles())


@pytest.fixture(scope="session")
def settings() -> SiteSettings:
    return make_settings()


@pytest.fixture(scope="session")
def renderer(site: Site, settings: SiteSettings) -> Renderer:
    return Renderer(site, settings, IMAGES, fingerprint="ab" * 32)


@pytest.fixture(scope="session")
def rendered(renderer: Renderer) -> dict[str, bytes]:
    """Every planned output of the small site, rendered once."""
    return {plan.output: renderer.render(plan) for plan in renderer.plan()}


@pytest.fixture
def render_one() -> Iterator[Callable[..., dict[str, bytes]]]:
    def render(site: Site, **kwargs: Any) -> dict[str, bytes]:
        settings = kwargs.pop("settings", make_settings())
        renderer = Renderer(site, settings, kwargs.pop("images", IMAGES), **kwargs)
        return {plan.output: renderer.render(plan) for plan in renderer.plan()}

    return render


def article_output(rendered: dict[str, bytes], slug: str) -> str:
    matches = [o for o in rendered if f"/{slug}/index.html" in o]
    assert len(matches) == 1, matches
    return matches[0]


@pytest.fixture(scope="session")
def kit() -> Any:
    """The helpers above, for tests (conftest modules are not importable by name)."""
    import types

    return types.SimpleNamespace(
        make_article=make_article,
        make_site=make_site,
        make_settings=make_settings,
        sample_articles=sample_articles,
        image_set=image_set,
        images=IMAGES,
        article_output=article_output,
        body=BODY,
    )
