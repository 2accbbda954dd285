"""Related articles ("Don't miss") and translations, computed from a loaded :class:`Site`.

Invariant: answers depend only on the Site, never on dict or set iteration order, so two
builds of the same content list the same articles in the same order.

Related articles are in the same language, neither the article itself nor one of its
translations, and share at least one tag (tags are compared by slug). They are ordered by
the number of shared tags (most first), then newest first, then by ``url_path`` — which is
exactly the Site's own order. Each (language, tag) keeps a posting list of Site positions;
a query touches only its own tags' lists: set intersections for articles sharing two or
more tags, level by level from all of its tags down to two (lazily: a query that is
answered by articles sharing three tags never builds the large pairwise union), then a
lazy merge of the lists' heads for those sharing one.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Iterator

from tamizdat.content.model import Article, Site
from tamizdat.content.slugs import slugify

__all__ = ["RelatedIndex", "TranslationIndex"]


# Above this many tags on one article, ranking by levels would intersect too many
# combinations of tag sets; count instead.
_LEVELS_MAX = 8


def _ranked(sets: list[frozenset[int]], taken: set[int]) -> Iterator[int]:
    """Positions in two or more of ``sets``: most sets first, then Site order.

    Lazy, level by level from all sets down to two, so a query that finds enough articles
    sharing many tags never builds the (large) union of the pairwise intersections. Every
    position yielded is added to ``taken``. All set work and sorting runs at C speed.
    """
    if len(sets) > _LEVELS_MAX:
        multi: set[int] = set()
        for first, second in itertools.combinations(sets, 2):
            multi |= first & second
        counts = Counter(itertools.chain.from_iterable(s & multi for s in sets))
        taken |= multi
        # Sorted by position, then stably by count (most first).
        yield from sorted(sorted(multi), key=counts.__getitem__, reverse=True)
        return
    for level in range(len(sets), 1, -1):
        found: set[int] = set()
        for group in itertools.combinations(sets, level):
            found |= frozenset.intersection(*group)
        found -= taken
        taken |= found
        yield from sorted(found)


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
        shared: set[int] = set()  # complete once ``_ranked`` is exhausted
        # Articles sharing one tag come after all others, in Site order: a lazy merge of
        # the lists' heads (it only starts once ``_ranked`` has yielded everything).
        singles = (p for p in heapq.merge(*(self._postings[k] for k in keys)) if p not in shared)
        found: list[Article] = []
        for position in itertools.chain(_ranked(sets, shared), singles):
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
