"""Every output file of the theme, each with the key of everything its bytes depend on.

Invariant kept: two plans with the same ``output`` and ``key`` render to the same bytes.
A key hashes the page kind and arguments, a *base* digest (theme files, catalogs, tamizdat
and Babel versions, the settings that reach pages, the publisher fingerprint) and the
digests of exactly the articles, authors and images the page shows. An article's *card*
digest covers what lists show of it (URL, title, dates, lead, summary, tags, authors), so
editing an article's body changes its own page, the feeds and the search index, but not
the tag pages that only list its title. The article page's key stands for the body by
``content_hash`` (the SHA-256 of the source file, set by the loader): whoever builds an
Article by hand must give a new ``content_hash`` with a new body.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from operator import attrgetter

from tamizdat.config import SiteSettings
from tamizdat.content.model import Article, Site
from tamizdat.render.listing import Listing, dont_miss, numbered_pages, page_articles, root_older
from tamizdat.render.types import ImageSet, PagePlan
from tamizdat.render.urls import (
    archive_path,
    article_path,
    author_path,
    desk_path,
    home_path,
    month_path,
    tag_path,
)

__all__ = ["ASSET_PREFIX", "plan_pages"]

ASSET_PREFIX = "assets/"


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _settings_digest(settings: SiteSettings) -> str:
    build = settings.build
    return _digest(
        settings.title,
        settings.base_url,
        settings.default_language,
        settings.languages,
        settings.desks,
        settings.copyright,
        build.page_size,
        build.feed_size,
        build.feed_full_text,
        build.related_count,
        build.budget,  # a page published under "warn" is checked again under "fail"
    )


def card_digest(article: Article, image: ImageSet | None = None) -> str:
    """What a list, a feed entry or a "don't miss" block shows of ``article``, with the
    encoded widths of its lead ``image`` (the card's thumbnail)."""
    return _digest(
        image,
        article.image,
        article.desk,
        article.source,
        article.url_path,
        article.lang,
        article.title,
        article.date,
        article.updated,
        article.lead,
        article.summary,
        article.tags,
        article.authors,
        article.words,
    )


# Every Article field but the Markdown body, read at C speed (repr() of the dataclass runs
# Python code per field). The body is represented by ``content_hash``, the SHA-256 of the
# source file it was read from, which the loader computes for every article: hashing
# 10,000 bodies again (repr of ~70 MB of text) would be most of what planning costs.
_SOURCE = attrgetter("source")
_ARTICLE_FIELDS = attrgetter(*(name for name in Article.__dataclass_fields__ if name != "body"))


def _article_fields(article: Article) -> tuple[object, ...]:
    fields: tuple[object, ...] = _ARTICLE_FIELDS(article)
    return fields


class _Keys:
    def __init__(
        self,
        site: Site,
        listing: Listing,
        images: Mapping[str, ImageSet],
        base: str,
        feed_size: int,
        full_text: bool = False,
    ) -> None:
        self.listing = listing
        self.feed_size = feed_size
        self.full_text = full_text
        self.images = images
        self.base = base
        # A card shows the lead image as a thumbnail: its encoded widths are part of it.
        self.cards = {
            source: card_digest(a, images.get(a.image.source) if a.image else None)
            for source, a in listing.by_source.items()
        }
        # repr() of a dataclass runs Python code per field: do it once per author.
        self.author_reprs: dict[str, str] = {a.key: repr(a) for a in site.authors}

    def key(self, kind: str, args: tuple[str | int, ...], *deps: object) -> str:
        return _digest(self.base, kind, args, deps)

    def cards_of(self, articles: Iterable[Article]) -> tuple[str, ...]:
        return tuple(map(self.cards.__getitem__, map(_SOURCE, articles)))

    def author_data(self, keys: Iterable[str]) -> tuple[str, ...]:
        return tuple(self.author_reprs.get(key) or repr(key) for key in keys)

    def article(self, article: Article) -> str:
        sources = [article.image.source] if article.image else []
        sources += [source for _, source in article.body_images]
        return self.key(
            "article",
            (article.source,),
            _article_fields(article),
            tuple(self.images.get(s) for s in sources),
            self.author_data(article.authors),
            tuple(self.listing.tag_slugs.get(t) for t in article.tags),
            self.cards_of(self.listing.translations[article.source]),
            self.cards_of(self.listing.related[article.source]),
        )


def _paged(
    keys: _Keys,
    kind: str,
    head: tuple[str, ...],
    articles: tuple[Article, ...],
    size: int,
    path: Callable[[int | None], str],
    extra: object = None,
    root_extra: object = None,
) -> Iterator[PagePlan]:
    """The list root (page argument 0) and the numbered pages, oldest first.

    A numbered page's key holds only its own articles and whether a newer page follows
    (its "newer" link): adding an article leaves every older page's key as it was.
    """
    total = len(articles)
    args: tuple[str | int, ...] = (*head, 0)
    newest = keys.cards_of(articles[:size])
    deps = (total, root_older(total, size), newest, extra, root_extra)
    yield PagePlan(path(None), kind, args, keys.key(kind, args, *deps))
    pages = numbered_pages(total, size)
    for n in range(1, pages + 1):
        chunk = keys.cards_of(page_articles(articles, n, size))
        args = (*head, n)
        yield PagePlan(path(n), kind, args, keys.key(kind, args, n < pages, chunk, extra))


def _language_plans(
    keys: _Keys, listing: Listing, lang: str, size: int, desks: tuple[str, ...]
) -> Iterator[PagePlan]:
    articles = listing.by_lang[lang]
    every_card = keys.cards_of(articles)
    front_extra = keys.cards_of(dont_miss(articles, size))
    yield from _paged(
        keys, "home", (lang,), articles, size, partial(home_path, lang), None, front_extra
    )
    for desk in desks:  # every configured desk has a section page, even before its first story
        yield from _paged(
            keys,
            "desk",
            (lang, desk),
            listing.by_desk.get((lang, desk), ()),
            size,
            partial(desk_path, lang, desk),
        )
    for (tag_lang, slug), tagged in listing.by_tag.items():
        if tag_lang != lang:
            continue
        yield from _paged(
            keys,
            "tag",
            (lang, slug),
            tagged,
            size,
            partial(tag_path, lang, slug),
            listing.tag_names[(lang, slug)],
        )
    for (author_lang, key), written in listing.by_author.items():
        if author_lang == lang:
            args: tuple[str | int, ...] = (lang, key)
            deps = (keys.author_data([key]), keys.cards_of(written))
            yield PagePlan(author_path(lang, key), "author", args, keys.key("author", args, deps))
    months = listing.months(lang)
    yield PagePlan(
        archive_path(lang),
        "archive",
        (lang,),
        keys.key("archive", (lang,), months, listing.tags(lang)),
    )
    for year, month, _ in months:
        args = (lang, year, month)
        listed = listing.by_month[(lang, year, month)]
        yield PagePlan(
            month_path(lang, year, month),
            "month",
            args,
            keys.key("month", args, keys.cards_of(listed)),
        )
    yield PagePlan(f"{lang}/404.html", "404", (lang,), keys.key("404", (lang,)))
    for kind, output in (
        ("search", f"{lang}/search/index.html"),
        ("verify", f"{lang}/verify/index.html"),
    ):
        yield PagePlan(output, kind, (lang,), keys.key(kind, (lang,)))
    yield PagePlan(
        f"{lang}/search-index.json",
        "search-index",
        (lang,),
        keys.key("search-index", (lang,), every_card),
    )
    newest: tuple[object, ...] = keys.cards_of(articles[: keys.feed_size])
    if keys.full_text:  # the bodies are in the feed: the source files' hashes are too
        newest = (*newest, *(a.content_hash for a in articles[: keys.feed_size]))
    for kind, name in (("atom", "atom.xml"), ("rss", "rss.xml"), ("jsonfeed", "feed.json")):
        yield PagePlan(f"{lang}/{name}", kind, (lang,), keys.key(kind, (lang,), newest))


def plan_pages(
    site: Site,
    settings: SiteSettings,
    listing: Listing,
    images: Mapping[str, ImageSet],
    theme_digest: str,
    assets: Mapping[str, str],
    fingerprint: str | None,
    *,
    mirrors: tuple[str, ...] = (),
) -> list[PagePlan]:
    """Every output the theme produces, sorted by output path.

    ``assets`` maps an asset name to a digest of its bytes; ``mirrors`` are the addresses of
    the signed mirror list, shown on ``mirrors/index.html``.
    """
    base = _digest(theme_digest, _settings_digest(settings), fingerprint)
    keys = _Keys(
        site, listing, images, base, settings.build.feed_size, settings.build.feed_full_text
    )
    plans = [
        PagePlan("index.html", "chooser", (), keys.key("chooser", ())),
        PagePlan("404.html", "404", (), keys.key("404", ())),
        PagePlan("robots.txt", "robots", (), keys.key("robots", ())),
        PagePlan("mirrors/index.html", "mirrors", (), keys.key("mirrors", (), mirrors)),
    ]
    sitemap_deps = tuple(
        (keys.cards[a.source], keys.cards_of(listing.translations[a.source]))
        for a in listing.by_source.values()
    )
    plans.append(PagePlan("sitemap.xml", "sitemap", (), keys.key("sitemap", (), sitemap_deps)))
    for lang in listing.languages:
        plans.extend(
            _language_plans(keys, listing, lang, settings.build.page_size, settings.desk_names)
        )
    plans.extend(
        PagePlan(article_path(a), "article", (a.source,), keys.article(a))
        for a in listing.by_source.values()
    )
    plans.extend(
        PagePlan(ASSET_PREFIX + name, "asset", (name,), keys.key("asset", (name,), digest))
        for name, digest in sorted(assets.items())
    )
    plans.extend(_web_plans(keys, fingerprint))
    plans.sort(key=lambda p: p.output)
    return plans


def _web_plans(keys: _Keys, fingerprint: str | None) -> list[PagePlan]:
    """The browser scripts every page loads and, once
    the site has a publisher fingerprint to anchor it, the service worker at the root."""
    from tamizdat.web import PAGE_SCRIPTS, WORKER_PATH

    digest = _digest(*(_web_digest(name) for name in (WORKER_PATH, *PAGE_SCRIPTS.values())))
    plans = [
        PagePlan(ASSET_PREFIX + name, "web", (name,), keys.key("web", (name,), digest))
        for name in sorted(PAGE_SCRIPTS)
    ]
    if fingerprint:
        plans.append(PagePlan(WORKER_PATH, "worker", (), keys.key("worker", (), digest)))
    return plans


def _web_digest(name: str) -> str:
    from importlib import resources

    return hashlib.sha256((resources.files("tamizdat") / "web" / name).read_bytes()).hexdigest()
