"""The end-to-end browser fixture itself: Debian's Chromium renders a loopback page, with
JavaScript on and off, and reaches nothing but what the page asks for."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.browser import browser_context


def test_chromium_renders_a_loopback_page_and_runs_its_script(
    browser: Any, serve_dir: Callable[[Path], str], tmp_path: Path
) -> None:
    (tmp_path / "index.html").write_text(
        '<!doctype html><html lang="ru"><meta charset="utf-8"><title>t</title><p id="p">статично</p>'
        "<script>document.getElementById('p').textContent = 'скрипт';</script>",
        encoding="utf-8",
    )
    url = serve_dir(tmp_path) + "index.html"
    with browser_context(browser) as context:
        page = context.new_page()
        page.goto(url)
        assert page.text_content("#p") == "скрипт"
    with browser_context(browser, java_script_enabled=False) as context:
        page = context.new_page()
        page.goto(url)
        assert page.text_content("#p") == "статично"
