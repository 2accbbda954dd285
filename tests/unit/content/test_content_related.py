"""RelatedIndex and TranslationIndex: ordering rules, and agreement with a brute force."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tamizdat.content import Article, RelatedIndex, Site, TranslationIndex, related_cache
from tamizdat.content.related_cache import related_lists


def make(
    name: str, tags: tuple[str, ...], day: int, lang: str = "en", key: str | None = None
) -> Article:
    return Article(
        source=f"content/{name}.md",
        lang=lang,
        desk="news",
        slug=name,
        title=name,
        date=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=day),
        updated=None,
        authors=(),
        tags=tags,
        summary="",
        lead="",
        body="",
        body_line=1,
        draft=False,
        translation_key=key or name,
        image=None,
        words=0,
        content_hash="0" * 64,
    )


def site_of(*articles: Article, languages: tuple[str, ...] = ("en", "ru")) -> Site:
    ordered = sorted(articles, key=lambda a: a.url_path)
    ordered.sort(key=lambda a: a.date, reverse=True)
    tags = {t for a in articles for t in a.tags}
    return Site(
        articles=tuple(ordered),
        authors=(),
        static_files=(),
        tag_slugs=tuple(sorted((t, t.lower()) for t in tags)),
        languages=languages,
    )


def test_shared_tags_first_then_recency_then_url() -> None:
    me = make("me", ("a", "b", "c"), 0)
    two_old = make("two-old", ("a", "b"), 1)
    three = make("three", ("a", "b", "c", "z"), -50)
    one_new = make("one-new", ("c",), 90)
    one_new_b = make("one-new-b", ("a",), 90)
    one_mid = make("one-mid", ("b",), 40)
    unrelated = make("unrelated", ("z",), 100)
    site = site_of(me, two_old, three, one_new, one_new_b, one_mid, unrelated)
    got = RelatedIndex(site).related(me, 10)
    # Equal sharing and date: url_path decides ("one-new-b/" sorts before "one-new/").
    assert [a.slug for a in got] == ["three", "two-old", "one-new-b", "one-new", "one-mid"]
    assert [a.slug for a in RelatedIndex(site).related(me, 2)] == ["three", "two-old"]
    assert RelatedIndex(site).related(me, 0) == ()


def test_same_language_only_and_never_itself_or_its_translations() -> None:
    me = make("me", ("a",), 0, key="k")
    my_ru = make("me-ru", ("a",), 1, lang="ru", key="k")
    other_ru = make("other-ru", ("a",), 2, lang="ru")
    other_en = make("other-en", ("a",), 3)
    same_key_en = make("same-key", ("a",), 4, key="k")  # e.g. a corrected duplicate
    site = site_of(me, my_ru, other_ru, other_en, same_key_en)
    assert [a.slug for a in RelatedIndex(site).related(me, 5)] == ["other-en"]
    assert [a.slug for a in RelatedIndex(site).related(my_ru, 5)] == ["other-ru"]


def test_tags_compare_by_slug() -> None:
    me = make("me", ("Courts",), 0)
    other = make("other", ("courts",), 1)
    site = Site((other, me), (), (), (("Courts", "courts"), ("courts", "courts")))
    assert RelatedIndex(site).related(me, 3) == (other,)


def test_untagged_articles_have_no_related() -> None:
    me = make("me", (), 0)
    site = site_of(me, make("x", ("a",), 1))
    assert RelatedIndex(site).related(me, 3) == ()


def brute_force(site: Site, article: Article, count: int) -> list[str]:
    mine = set(article.tags)
    scored = []
    for position, other in enumerate(site.articles):
        shared = len(mine & set(other.tags))
        if (
            shared
            and other.lang == article.lang
            and other.source != article.source
            and other.translation_key != article.translation_key
        ):
            scored.append((-shared, position, other.slug))
    return [slug for _, _, slug in sorted(scored)[:count]]


def test_agrees_with_brute_force_on_a_random_corpus() -> None:
    rnd = random.Random(7)
    tags = [f"t{i}" for i in range(15)]
    articles = [
        make(
            f"a{i}",
            tuple(rnd.sample(tags, rnd.randint(0, 4))),
            rnd.randint(0, 400),
            lang=rnd.choice(["en", "ru"]),
            key=f"k{i // 2}",
        )
        for i in range(600)
    ]
    site = site_of(*articles)
    index = RelatedIndex(site)
    for article in site.articles[::7]:
        assert [a.slug for a in index.related(article, 5)] == brute_force(site, article, 5)


def test_agrees_with_brute_force_with_many_tags_per_article() -> None:
    # Past _LEVELS_MAX tags an article is ranked by counting instead of by levels.
    rnd = random.Random(11)
    tags = [f"t{i}" for i in range(24)]
    articles = [
        make(f"a{i}", tuple(rnd.sample(tags, rnd.randint(0, 12))), rnd.randint(0, 400))
        for i in range(300)
    ]
    site = site_of(*articles)
    index = RelatedIndex(site)
    for article in site.articles[::3]:
        for count in (1, 4, 40):
            expected = brute_force(site, article, count)
            assert [a.slug for a in index.related(article, count)] == expected


def test_translations_in_configured_language_order() -> None:
    en = make("en", (), 0, lang="en", key="k")
    ru = make("ru", (), 0, lang="ru", key="k")
    uk = make("uk", (), 0, lang="uk", key="k")
    alone = make("alone", (), 0, key="solo")
    site = site_of(en, ru, uk, alone, languages=("ru", "uk", "en"))
    index = TranslationIndex(site)
    assert [a.lang for a in index.translations(en)] == ["ru", "uk"]
    assert [a.lang for a in index.translations(ru)] == ["uk", "en"]
    assert index.translations(alone) == ()


def test_related_lists_are_reused_only_while_their_inputs_are_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rnd = random.Random(3)
    tags = [f"t{i}" for i in range(8)]
    articles = [
        make(f"a{i}", tuple(rnd.sample(tags, rnd.randint(0, 3))), rnd.randint(0, 90))
        for i in range(80)
    ]
    site = site_of(*articles)
    index = RelatedIndex(site)
    expected = {a.source: index.related(a, 4) for a in site.articles}
    assert related_lists(site, 4, tmp_path) == expected
    assert related_lists(site, 4) == expected  # no cache folder: computed

    def refuse(_: Site) -> None:
        raise AssertionError("recomputed although nothing related changed")

    # A body edit keeps every input of the lists: the stored answer is used.
    edited = site_of(*(dataclasses.replace(a, body="new") for a in articles))
    with monkeypatch.context() as patch:
        patch.setattr(related_cache, "RelatedIndex", refuse)
        got = related_lists(edited, 4, tmp_path)
    assert {s: [a.slug for a in r] for s, r in got.items()} == {
        s: [a.slug for a in r] for s, r in expected.items()
    }
    assert all(a.body == "new" for r in got.values() for a in r)  # the current articles

    # Re-tagging one article changes the key: computed again, and correct.
    retagged = site_of(*articles[:-1], dataclasses.replace(articles[-1], tags=("t0", "t1")))
    fresh = RelatedIndex(retagged)
    assert related_lists(retagged, 4, tmp_path) == {
        a.source: fresh.related(a, 4) for a in retagged.articles
    }
    (tmp_path / related_cache.RELATED_CACHE_NAME).write_bytes(b"garbage")
    assert related_lists(retagged, 4, tmp_path) == {
        a.source: fresh.related(a, 4) for a in retagged.articles
    }
