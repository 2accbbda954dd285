"""Plan keys: equal keys mean equal bytes; one article's change moves only its dependents."""

from __future__ import annotations

import dataclasses
import pickle
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tamizdat.content.model import Article
from tamizdat.render import Renderer
from tamizdat.render import plans as plans_module
from tamizdat.render.types import ImageSet


def keys(kit: Any, articles: list[Article], **kwargs: Any) -> dict[str, str]:
    renderer = Renderer(kit.make_site(articles), kit.make_settings(), kit.images, **kwargs)
    return {p.output: p.key for p in renderer.plan()}


def changed(before: dict[str, str], after: dict[str, str]) -> set[str]:
    return {o for o in before.keys() | after.keys() if before.get(o) != after.get(o)}


def test_plans_are_sorted_unique_picklable_and_stable(kit: Any, renderer: Renderer) -> None:
    plans = renderer.plan()
    outputs = [p.output for p in plans]
    assert outputs == sorted(set(outputs))
    assert pickle.loads(pickle.dumps(plans)) == plans
    assert all(isinstance(a, str | int) for p in plans for a in p.args)
    assert keys(kit, kit.sample_articles(), fingerprint="ab" * 32) == {
        p.output: p.key for p in plans
    }


def test_body_edit_changes_only_the_article_page(kit: Any) -> None:
    articles = kit.sample_articles()
    before = keys(kit, articles)
    target = articles[3]
    articles[3] = dataclasses.replace(
        target, body=target.body + "\nOne more line.\n", content_hash="0" * 64
    )
    assert changed(before, keys(kit, articles)) == {target.url_path + "index.html"}


def test_title_edit_changes_exactly_the_pages_that_show_it(kit: Any) -> None:
    articles = kit.sample_articles()
    before = keys(kit, articles)
    court = articles[0]  # has ru and de translations, tags courts + Novograd
    articles[0] = dataclasses.replace(court, title="Court extends detention again")
    renderer = Renderer(kit.make_site(articles), kit.make_settings(), kit.images)
    after = {p.output: p.key for p in renderer.plan()}
    diff = changed(before, after)
    neighbours = {
        a.url_path + "index.html"
        for a in renderer.listing.by_source.values()
        if court.source in {r.source for r in renderer.listing.related[a.source]}
    }
    expected = {
        court.url_path + "index.html",
        "ru/news/2024/05/sud-prodlil-arest/index.html",  # translations link to it by title
        "de/news/2024/05/gericht-verlangert-haft/index.html",
        *neighbours,
        "en/index.html",  # newest: the list roots and the newest numbered pages only
        "en/page/3/index.html",
        "en/news/index.html",  # its section front lists it too
        "en/news/page/3/index.html",
        "en/tags/courts/index.html",
        "en/tags/courts/page/2/index.html",
        "en/tags/novograd/index.html",
        "en/tags/novograd/page/2/index.html",
        "en/authors/anna/index.html",
        "en/authors/boris/index.html",
        "en/archive/2024/05/index.html",
        "en/atom.xml",
        "en/rss.xml",
        "en/feed.json",
        "en/search-index.json",
        "sitemap.xml",
    }
    assert neighbours  # the block exists, so the test covers it
    assert diff == expected


def test_unrelated_article_keeps_its_key_when_another_is_added(kit: Any) -> None:
    articles = kit.sample_articles()
    before = keys(kit, articles)
    extra = kit.make_article(
        title="Brand new", lang="ru", tags=("погода",), date=articles[0].date + timedelta(days=1)
    )
    diff = changed(before, keys(kit, [*articles, extra]))
    assert extra.url_path + "index.html" in diff
    assert not any(o.startswith(("en/", "de/")) for o in diff), diff
    assert "ru/archive/2024/04/index.html" not in diff


def test_theme_fingerprint_and_settings_change_every_page(kit: Any, tmp_path: Path) -> None:
    articles = kit.sample_articles()
    before = keys(kit, articles)
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "extra.css").write_text("p{margin:0}")
    themed = keys(kit, articles, theme_dir=tmp_path)
    assert "assets/extra.css" in themed
    assert changed(before, themed) == set(themed)
    # A fingerprint also anchors the service worker, published at the root only then.
    signed = keys(kit, articles, fingerprint="cd" * 32)
    assert "sw.js" not in before
    assert changed(before, signed) == set(before) | {"sw.js"}


class _Body(str):
    """An article body that counts how often it is repr()'d (hashed into a key)."""

    reprs = 0

    def __repr__(self) -> str:
        _Body.reprs += 1
        return super().__repr__()


def test_plan_work_is_linear_and_never_hashes_bodies(
    kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What keeps plan() fast, counted instead of timed (speed targets live in bench/):
    one key digest per page, one card digest per article however many listing pages show
    it, and no article body hashed again (its content_hash stands for it)."""
    base = kit.make_article()
    articles = [
        dataclasses.replace(
            base,
            source=f"content/a{i}.md",
            slug=f"a{i}",
            lang=("en", "ru")[i % 2],
            translation_key=f"k{i // 2}",
            date=base.date - timedelta(hours=i),
            tags=(f"t{i % 50}", f"t{i % 7}"),
            body=_Body(f"Body {i}. " * 50),
            content_hash=f"{i:064x}",
        )
        for i in range(2_000)
    ]
    renderer = Renderer(kit.make_site(articles), kit.make_settings(page_size=10), kit.images)
    digests: Counter[str] = Counter()
    real_digest, real_card = plans_module._digest, plans_module.card_digest

    def counting_digest(*parts: object) -> str:
        digests["digest"] += 1
        return real_digest(*parts)

    def counting_card(article: Article, image: ImageSet | None = None) -> str:
        digests[article.source] += 1
        return real_card(article, image)

    monkeypatch.setattr(plans_module, "_digest", counting_digest)
    monkeypatch.setattr(plans_module, "card_digest", counting_card)
    _Body.reprs = 0
    plans = renderer.plan()
    assert len(plans) > 2_400  # articles plus many listing pages showing them again
    assert {digests[a.source] for a in articles} == {1}
    # one per page key, one per card, and a handful for the settings and theme
    assert digests["digest"] <= len(plans) + len(articles) + 10, digests["digest"]
    assert _Body.reprs == 0
