"""A real browser for end-to-end tests: Debian's Chromium driven by Playwright.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (installed by
``scripts/setup.sh --dev``) headless, with a fresh profile per browser context, and with
Chromium's own background traffic switched off so that the only connections it makes are the
ones a test page asks for (all on 127.0.0.1). Use the ``browser`` fixture (one Chromium per
test process) and open a context per test::

    def test_page(browser, serve_dir):
        with browser_context(browser) as context:
            page = context.new_page()
            page.goto(serve_dir(root) + "index.html")

Service workers need a secure context: ``http://127.0.0.1`` is one, so loopback HTTP is enough.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

__all__ = ["CHROMIUM", "browser", "browser_context", "chromium_path"]

CHROMIUM = "/usr/bin/chromium"

# Without these Chromium reaches for Google's hosts at start (refused here, and never allowed
# in tests: no test may need the internet).
_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--metrics-recording-only",
)


def chromium_path() -> str:
    """Where Debian's Chromium is; ``TAMIZDAT_CHROMIUM`` overrides (another distribution)."""
    return os.environ.get("TAMIZDAT_CHROMIUM") or shutil.which("chromium") or CHROMIUM


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for this test process (``playwright.sync_api.Browser``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=list(_FLAGS)
        )
        try:
            yield launched
        finally:
            launched.close()


@contextmanager
def browser_context(browser: Any, **options: Any) -> Iterator[Any]:
    """A fresh profile (cookies, caches, service workers, storage) closed on exit.

    ``options`` go to ``Browser.new_context`` (``locale="ru-RU"``, ``viewport=...``,
    ``java_script_enabled=False``, ``offline=True`` …).
    """
    context = browser.new_context(**options)
    try:
        yield context
    finally:
        context.close()
