"""The first-screen budget: headline and lead within 14 KB of gzip on every article page."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import pytest

from tamizdat.render import Renderer, first_screen_within
from tamizdat.render.budget import compressed_prefix_size, first_screen_end


def test_budget_measures_up_to_the_end_of_the_lead() -> None:
    page = b'<html><h1>Head</h1><p class="lead">Lead text</p><p>' + b"x" * 100_000 + b"</p>"
    assert first_screen_end(page) == page.index(b"</p>") + 4
    assert first_screen_within(page)


def test_budget_fails_when_the_lead_comes_too_late() -> None:
    noise = random.Random(7).randbytes(20_000).hex().encode()  # incompressible
    late = b"<html><nav>" + noise + b'</nav><h1>Head</h1><p class="lead">Lead</p>'
    assert not first_screen_within(late)
    assert compressed_prefix_size(late) > 14 * 1024
    assert not first_screen_within(b"<html><p>no headline</p>")


def _words(rng: random.Random, count: int) -> str:
    vocabulary = [
        "court",
        "water",
        "city",
        "council",
        "protest",
        "ferry",
        "bread",
        "price",
        "winter",
        "river",
        "the",
        "of",
        "and",
    ]
    return " ".join(rng.choice(vocabulary) for _ in range(count))


@pytest.fixture(scope="module")
def corpus_pages(kit: Any) -> dict[str, bytes]:
    """Long bodies, long leads, many tags and translations, long related lists."""
    rng = random.Random(2024)
    articles = []
    for i in range(40):
        base = kit.make_article(title=f"Story {i}")
        body = "\n\n".join(_words(rng, 120) for _ in range(rng.randint(5, 200)))
        articles.append(
            kit.make_article(
                title=f"{_words(rng, rng.randint(4, 30))} {i}".capitalize(),
                slug=f"story-{i}",
                lang=("en", "ru")[i % 2],
                translation_key=f"t{i // 2}",
                date=base.date - timedelta(hours=i),
                body=body,
                lead=_words(rng, rng.randint(20, 120)),
                tags=tuple(f"tag{j}" for j in rng.sample(range(30), rng.randint(1, 12))),
                authors=("anna", "boris", "lodka")[: 1 + i % 3],
                image=kit.make_article().image,
                words=len(body.split()),
            )
        )
    settings = kit.make_settings(related_count=30)
    renderer = Renderer(kit.make_site(articles), settings, kit.images)
    return {p.output: renderer.render(p) for p in renderer.plan() if p.kind == "article"}


def test_every_generated_article_page_meets_the_budget(corpus_pages: dict[str, bytes]) -> None:
    assert len(corpus_pages) == 40
    biggest = max(len(page) for page in corpus_pages.values())
    assert biggest > 100_000  # the bodies really are long
    for output, page in corpus_pages.items():
        assert first_screen_within(page), output
        end = first_screen_end(page)
        assert end is not None
        assert b"<h1>" in page[:end]
        assert page[:end].endswith(b"</p>")


def test_every_sample_article_page_meets_the_budget(rendered: dict[str, bytes]) -> None:
    articles = [o for o in rendered if o.count("/") == 5]
    assert articles
    for output in articles:
        assert first_screen_within(rendered[output]), output
        # The head, masthead and status line (with its localised templates for the
        # service worker) before the headline stay small even uncompressed.
        assert rendered[output].index(b"<h1>") < 4000, output
