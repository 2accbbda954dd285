"""The default theme in a real browser (Debian's Chromium), on a phone-sized screen.

The sample is built once and served on 127.0.0.1 by a server that answers a missing address
with ``404.html``, as static hosts do. Nothing may be wider than the phone (a cut-off command
line or table would be), the 404 page served deep in the tree must keep its stylesheet and
working links, and the front page must read with JavaScript off.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.browser import browser_context
from support.static_host import static_host
from tamizdat.cli import main

REPO = Path(__file__).resolve().parents[2]
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = tmp_path_factory.mktemp("theme") / "sample"
    shutil.copytree(REPO / "sample", site)
    # A wide table and a long unbroken command, the two things that overflow phones.
    wide = "| " + " | ".join(f"column {i}" for i in range(14)) + " |\n"
    wide += "|" + "---|" * 14 + "\n" + "| " + " | ".join("1234567" for _ in range(14)) + " |\n"
    code = "\n```\ntamizdat verify https://" + "x" * 120 + ".example/ --fingerprint ab\n```\n"
    article = site / "content/news/ferry-cancelled.md"
    article.write_text(article.read_text(encoding="utf-8") + "\n" + wide + code, "utf-8")
    assert main(["-q", "-C", str(site), "build"]) == 0
    with static_host(site / "public") as url:
        yield url


PAGES = [
    "index.html",
    "en/index.html",
    "ru/index.html",
    "en/news/index.html",
    "ru/opinion/index.html",
    "en/news/2026/11/kamenny-ferry-cancelled/index.html",
    "ru/verify/index.html",
    "en/verify/index.html",
    "ru/archive/index.html",
    "ru/search/index.html",
    "en/no/such/page/",
]


def test_no_page_is_wider_than_a_phone(browser: Any, site_url: str) -> None:
    with browser_context(browser, viewport=PHONE) as context:
        page = context.new_page()
        for path in PAGES:
            page.goto(site_url + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{path}: {width} px wide"


def test_wide_table_scrolls_inside_a_region_the_keyboard_reaches(
    browser: Any, site_url: str
) -> None:
    with browser_context(browser, viewport=PHONE) as context:
        page = context.new_page()
        page.goto(site_url + "en/news/2026/11/kamenny-ferry-cancelled/index.html")
        region = page.locator(".table-wrap")
        assert region.evaluate("e => e.scrollWidth > e.clientWidth")  # it does scroll
        region.focus()
        assert page.evaluate("document.activeElement.className") == "table-wrap"
        # Polled from Python: wait_for_function evaluates strings, which the page's CSP
        # (no 'unsafe-eval') refuses. Scrolling is smooth, so it may take a few frames.
        scrolled = 0
        for _ in range(50):
            page.keyboard.press("ArrowRight")
            scrolled = region.evaluate("e => e.scrollLeft")
            if scrolled > 0:
                break
            page.wait_for_timeout(20)
        assert scrolled > 0


def test_404_deep_in_the_tree_keeps_its_style_and_links(browser: Any, site_url: str) -> None:
    with browser_context(browser, viewport=PHONE, locale="ru-RU") as context:
        page = context.new_page()
        response = page.goto(site_url + "ru/news/2026/11/no-such-story/")
        assert response is not None
        assert response.status == 404
        assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
        page.locator('a[hreflang="ru"].button').click()
        assert page.url == site_url + "ru/index.html"
        assert page.locator("html").get_attribute("lang") == "ru"


def test_the_front_reads_without_javascript(browser: Any, site_url: str) -> None:
    with browser_context(browser, viewport=PHONE, java_script_enabled=False) as context:
        page = context.new_page()
        page.goto(site_url + "ru/index.html")
        top = page.locator(".top-story")
        assert top.locator("img").count() == 1
        assert top.locator("h2").inner_text()
        # The thumbnails wait until they are needed; the top story's photo does not.
        lazy = page.locator(".card img.thumb")
        assert lazy.count() >= 1
        assert all(lazy.nth(i).get_attribute("loading") == "lazy" for i in range(lazy.count()))
        assert top.locator("img").get_attribute("loading") is None


# What the front page's first screen may cost on a phone (3x display), bytes before gzip: the
# page, the stylesheet, the favicon, the top story's photo at the width the phone needs and
# the thumbnails in view. Far below the fold, lazy thumbnails wait (Chromium starts loading a
# lazy image some 1,250-2,500 px before it scrolls into view).
FRONT_BUDGET = 100 * 1024
LAZY_MARGIN = 2600


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_front_page_first_view_stays_within_its_weight_budget(
    browser: Any, site_url: str, lang: str
) -> None:
    with browser_context(browser, viewport=PHONE, device_scale_factor=3) as context:
        page = context.new_page()
        sizes: dict[str, int] = {}
        page.on("response", lambda response: sizes.__setitem__(response.url, len(response.body())))
        page.goto(site_url + f"{lang}/index.html", wait_until="load")
        thumbs = page.locator(".card img.thumb")
        below = [
            thumbs.nth(i).get_attribute("src") or ""
            for i in range(thumbs.count())
            if thumbs.nth(i).evaluate(
                f"e => e.getBoundingClientRect().top > innerHeight + {LAZY_MARGIN}"
            )
        ]
        loaded = " ".join(sizes)
        for src in below:
            assert src.rsplit("/", 1)[-1] not in loaded, f"{src} loaded before it was needed"
        assert sum(sizes.values()) <= FRONT_BUDGET, sizes
