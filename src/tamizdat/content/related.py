"""Related articles ("Don't miss") and translations, computed from a loaded :class:`Site`.

Invariant: answers depend only on the Site, never on dict or set iteration order, so two
builds of the same content list the same articles in the same order.

Related articles are in the same language, neither the article itself nor one of its
translations, and share at least one tag (tags are compared by slug). They are ordered by
the number of shared tags (most first), then newest first, then by ``url_path`` — which is
exactly the Site's own order. Each (language, tag) keeps a posting list of Site positions;
a query touches only its own tags' lists: set intersections for articles sharing two or
more tags, then a lazy merge of the lists' heads for those sharing one.
"""

from __future__ import annotations

import heapq
import itertools

from tamizdat.content.model import Article, Site
from tamizdat.content.slugs import slugify

__all__ = ["RelatedIndex", "TranslationIndex"]


class RelatedIndex:
    """Answers ``related(article, count)`` for every article of ``site`` in sub-linear time."""

    def __init__(self, site: Site) -> None:
        self._site = site
        slugs = dict(site.tag_slugs)
        self._position = {article.source: index for index, article in enumerate(site.articles)}
        self._tag_slugs: list[tuple[str, ...]] = []
        postings: dict[tuple[str, str], list[int]] = {}
        for index, article in enumerate(site.articles):
            article_slugs = tuple(
                dict.fromkeys(slugs.get(tag) or slugify(tag) for tag in article.tags)
            )
            self._tag_slugs.append(article_slugs)
            for slug in article_slugs:
                postings.setdefault((article.lang, slug), []).append(index)
        self._postings = postings
        self._sets = {key: frozenset(positions) for key, positions in postings.items()}

    def _slugs_of(self, article: Article) -> tuple[str, ...]:
        position = self._position.get(article.source)
        if position is not None and self._site.articles[position] is article:
            return self._tag_slugs[position]
        slugs = dict(self._site.tag_slugs)
        return tuple(dict.fromkeys(slugs.get(tag) or slugify(tag) for tag in article.tags))

    def related(self, article: Article, count: int) -> tuple[Article, ...]:
        """Up to ``count`` articles related to ``article``, best first (see the module doc)."""
        keys = [(article.lang, slug) for slug in self._slugs_of(article)]
        keys = [key for key in keys if key in self._postings]
        if count <= 0 or not keys:
            return ()
        sets = [self._sets[key] for key in keys]
        # Articles sharing two or more tags lie in a pairwise intersection (C-speed set
        # operations over the shorter list); they are few and ranked exactly.
        multi: set[int] = set()
        for first in range(len(sets)):
            for second in range(first + 1, len(sets)):
                multi |= sets[first] & sets[second]
        ranked = sorted(multi, key=lambda p: (-sum(p in s for s in sets), p))
        # Then articles sharing one tag, in Site order: a lazy merge reads only the heads.
        singles = (p for p in heapq.merge(*(self._postings[k] for k in keys)) if p not in multi)
        found: list[Article] = []
        for position in itertools.chain(ranked, singles):
            candidate = self._site.articles[position]
            if (
                candidate.source != article.source
                and candidate.translation_key != article.translation_key
            ):
                found.append(candidate)
                if len(found) == count:
                    break
        return tuple(found)


class TranslationIndex:
    """Answers ``translations(article)``: the same text in the site's other languages."""

    def __init__(self, site: Site) -> None:
        order = {code: index for index, code in enumerate(site.languages)}
        groups: dict[str, list[Article]] = {}
        for article in site.articles:
            groups.setdefault(article.translation_key, []).append(article)
        self._groups = {
            key: tuple(sorted(group, key=lambda a: (order.get(a.lang, len(order)), a.lang)))
            for key, group in groups.items()
        }

    def translations(self, article: Article) -> tuple[Article, ...]:
        """The other-language versions of ``article``, in configured language order."""
        group = self._groups.get(article.translation_key, ())
        return tuple(other for other in group if other.lang != article.lang)
