"""Screenshots of the sample site for the README, taken by a real browser.

Every run takes the shots (each is also a check, below); only with ``TAMIZDAT_SCREENSHOTS=1``
are they written to ``docs/screenshots/*.png`` in the working tree, which an ordinary test run
must not change (otherwise to the test's temporary folder). The sample is signed (throwaway keys) so the
verify page shows a fingerprint, served on 127.0.0.1 by a server that answers a missing
address with ``404.html`` as static hosts do, and shot in Russian and English at a phone
(390 px) and a desktop (1280 px) width. Each shot is also a check: the page loads its
stylesheet, whatever address it was served at.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from support.browser import browser_context
from support.static_host import static_host
from tamizdat.cli import main

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "docs" / "screenshots"
WIDTHS = {"phone": (390, 844), "desktop": (1280, 900)}


def _shots_dir(tmp_path: Path) -> Path:
    """docs/screenshots/ when asked to rewrite the README's pictures, else a temporary folder."""
    return SHOTS if os.environ.get("TAMIZDAT_SCREENSHOTS") == "1" else tmp_path


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = tmp_path_factory.mktemp("screens") / "sample"
    shutil.copytree(REPO / "sample", site)
    keys = site.parent / "keys"  # outside the site, never the user's own key folder
    with (site / "tamizdat.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[signing]\nkeys_dir = "{keys.as_posix()}"\n')
    # Demo keys: only the root fingerprint matters here (the verify page shows it).
    assert main(["-q", "-C", str(site), "keys", "init", "--demo"]) == 0
    assert main(["-q", "-C", str(site), "build"]) == 0
    with static_host(site / "public") as url:
        yield url


def _pages(lang: str) -> dict[str, str]:
    article = {
        "en": "en/news/2026/09/hundreds-gather-on-novograds-central-square-after-the-water-cuts/",
        "ru": "ru/news/2026/09/sotni-zhiteley-novograda-vyshli-na-tsentralnuyu-ploshchad-posle-"
        "otklyucheniya/",
    }[lang]
    return {
        "home": f"{lang}/index.html",
        "article": article,
        "section": f"{lang}/news/index.html",
        "verify": f"{lang}/verify/index.html",
        # A nested missing address: the 404 page must still find its stylesheet and links.
        "404": f"{lang}/no/such/page/",
    }


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_screenshots(browser: Any, site_url: str, lang: str, width: str, tmp_path: Path) -> None:
    shots = _shots_dir(tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    w, h = WIDTHS[width]
    with browser_context(
        browser, viewport={"width": w, "height": h}, locale=lang, device_scale_factor=1
    ) as context:
        page = context.new_page()
        for name, path in _pages(lang).items():
            response = page.goto(site_url + path)
            assert response is not None
            assert response.status == (404 if name == "404" else 200), path
            styled = page.evaluate("getComputedStyle(document.body).margin")
            assert styled == "0px", f"{path}: the stylesheet did not load"
            target = shots / f"{name}-{lang}-{width}.png"
            _save_small(page.screenshot(full_page=False), target)
            with Image.open(target) as shot:
                assert shot.size == (w, h), target


def _save_small(png: bytes, target: Path) -> None:
    """A 64-colour palette PNG: a quarter of the size, still sharp for text."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(target, optimize=True)
