"""Who lists whom: the site's articles grouped the way the pages show them.

Invariant kept: every grouping is a pure function of the Site and settings, sorted
deterministically (newest first, then by ``url_path``, as the Site itself is), so two
builds of the same content list the same articles in the same order. Whether drafts are
in the Site is the loader's decision (``include_drafts``); every article given is listed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tamizdat.config import SiteSettings
from tamizdat.content import TranslationIndex, slugify
from tamizdat.content.model import Article, Site
from tamizdat.content.related_cache import related_lists

__all__ = ["Listing", "dont_miss", "numbered_pages", "page_articles", "root_older"]

# How many stories the home page's "Don't miss" block shows.
DONT_MISS = 4


# Stable pagination: numbered pages count from the OLDEST article, so page 1 holds the
# oldest ``size`` articles and only the newest (partial) page changes when one is added.
# Older pages keep their bytes, their keys and their signatures from release to release.


def numbered_pages(items: int, size: int) -> int:
    """Numbered pages of a list of ``items``; none when the list root shows them all."""
    return 0 if items <= size else -(-items // size)


def page_articles(items: Sequence[Article], n: int, size: int) -> Sequence[Article]:
    """Numbered page ``n`` (1-based, oldest first) of newest-first ``items``, newest first."""
    total = len(items)
    return items[max(0, total - n * size) : total - (n - 1) * size]


def root_older(items: int, size: int) -> int:
    """The numbered page the list root's "older" link opens (0: none).

    The root shows the newest ``size`` articles; the link goes to the page holding the
    newest article the root does not show.
    """
    return 0 if items <= size else -(-(items - size) // size)


def dont_miss(items: Sequence[Article], size: int) -> Sequence[Article]:
    """The home page's "Don't miss": the stories just pushed off the front page.

    A front shows the newest ``size`` stories; the next few are still news that a reader
    who visits every few days has not seen, and without them they would be one page away.
    """
    return items[size : size + DONT_MISS]


@dataclass(frozen=True, slots=True)
class Listing:
    """Published articles, grouped per language, tag, author and month."""

    languages: tuple[str, ...]
    by_source: dict[str, Article]
    by_lang: dict[str, tuple[Article, ...]]
    by_tag: dict[tuple[str, str], tuple[Article, ...]]  # (lang, tag slug)
    by_desk: dict[tuple[str, str], tuple[Article, ...]]  # (lang, desk name)
    tag_names: dict[tuple[str, str], str]  # (lang, slug) → display name, first seen
    tag_slugs: dict[str, str]  # display name → slug
    by_author: dict[tuple[str, str], tuple[Article, ...]]  # (lang, author key)
    by_month: dict[tuple[str, int, int], tuple[Article, ...]]  # (lang, yyyy, mm)
    translations: dict[str, tuple[Article, ...]]  # source → other-language versions
    related: dict[str, tuple[Article, ...]]  # source → "don't miss" articles

    @classmethod
    def build(cls, site: Site, settings: SiteSettings, cache_dir: Path | None = None) -> Listing:
        """Group the articles of ``site`` for ``settings``.

        ``cache_dir`` keeps the related-article lists between builds (see
        :mod:`tamizdat.content.related_cache`).
        """
        published = site.articles
        extra = sorted({a.lang for a in published} - set(settings.language_codes))
        languages = (*settings.language_codes, *extra)
        tag_slugs = dict(site.tag_slugs)
        tag_names: dict[tuple[str, str], str] = {}
        for article in published:  # tags the loader did not list get the content slug
            for tag in article.tags:
                slug = tag_slugs.get(tag)
                if slug is None:
                    slug = tag_slugs[tag] = slugify(tag)
                tag_names.setdefault((article.lang, slug), tag)
        by_lang: dict[str, list[Article]] = defaultdict(list)
        by_tag: dict[tuple[str, str], list[Article]] = defaultdict(list)
        by_desk: dict[tuple[str, str], list[Article]] = defaultdict(list)
        by_author: dict[tuple[str, str], list[Article]] = defaultdict(list)
        by_month: dict[tuple[str, int, int], list[Article]] = defaultdict(list)
        for article in published:
            by_lang[article.lang].append(article)
            by_desk[(article.lang, article.desk)].append(article)
            for slug in dict.fromkeys(tag_slugs[tag] for tag in article.tags):
                by_tag[(article.lang, slug)].append(article)
            for key in dict.fromkeys(article.authors):
                by_author[(article.lang, key)].append(article)
            by_month[(article.lang, article.date.year, article.date.month)].append(article)
        translation_index = TranslationIndex(site)
        related = related_lists(site, settings.build.related_count, cache_dir)
        return cls(
            languages=languages,
            by_source={a.source: a for a in published},
            by_lang={lang: tuple(by_lang.get(lang, ())) for lang in languages},
            by_tag={k: tuple(v) for k, v in sorted(by_tag.items())},
            by_desk={k: tuple(v) for k, v in sorted(by_desk.items())},
            tag_names=tag_names,
            tag_slugs=tag_slugs,
            by_author={k: tuple(v) for k, v in sorted(by_author.items())},
            by_month={k: tuple(v) for k, v in sorted(by_month.items())},
            translations={a.source: tuple(translation_index.translations(a)) for a in published},
            related=related,
        )

    def months(self, lang: str) -> list[tuple[int, int, int]]:
        """``(year, month, count)`` of ``lang``, newest month first."""
        found = [(y, m, len(v)) for (lg, y, m), v in self.by_month.items() if lg == lang]
        return sorted(found, reverse=True)

    def tags(self, lang: str) -> list[tuple[str, int]]:
        """``(slug, count)`` of the tags used in ``lang``, sorted by slug."""
        return [(slug, len(v)) for (lg, slug), v in self.by_tag.items() if lg == lang]
