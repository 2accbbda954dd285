"""Benchmark: web quality of the built sample — axe-core violations and Lighthouse scores.

Builds the sample into a temporary folder, serves it on 127.0.0.1 (a missing address gets
``404.html``, as static hosts do), then

- injects axe-core (tests/tools/web-quality) into each page with Python Playwright driving
  Debian's Chromium, at 390 px, and prints the violations per page (rule, impact, count);
- runs Lighthouse 12 (mobile preset, Debian's Chromium, no network beyond 127.0.0.1) on the
  home, an article, a section, the verify page and a 404, and prints the four scores.

Usage:  .venv/bin/python bench/bench_web_quality.py [--no-lighthouse] [--lang ru en]
Needs ``bash scripts/setup.sh --dev`` (Chromium, Node, tests/tools/web-quality). Never part
of the test run's pass/fail: the validator's zero errors are asserted in
tests/integration/test_html_validity.py.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from tamizdat.cli import main as tamizdat

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / "tests" / "tools" / "web-quality" / "node_modules"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTICLE = {
    "en": "en/news/2026/09/hundreds-gather-on-novograds-central-square-after-the-water-cuts/",
    "ru": "ru/news/2026/09/sotni-zhiteley-novograda-vyshli-na-tsentralnuyu-ploshchad-posle-"
    "otklyucheniya/",
}


class _StaticHost(http.server.SimpleHTTPRequestHandler):
    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _pages(lang: str) -> dict[str, str]:
    return {
        "home": f"{lang}/index.html",
        "article": ARTICLE[lang],
        "section": f"{lang}/news/index.html",
        "verify": f"{lang}/verify/index.html",
        "search": f"{lang}/search/index.html",
        "archive": f"{lang}/archive/index.html",
        "404": f"{lang}/no/such/page/",
    }


def _axe(url: str, langs: list[str]) -> int:
    from playwright.sync_api import sync_playwright

    script = (TOOLS / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
    total = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 390, "height": 844})
        page = context.new_page()
        for lang in langs:
            for name, path in _pages(lang).items():
                page.goto(url + path)
                # The page's CSP allows only its own scripts: inject through the devtools
                # protocol (add_script_tag would be refused), as axe's own integrations do.
                page.evaluate(script)
                found = page.evaluate("async () => (await axe.run()).violations")
                total += len(found)
                rules = ", ".join(f"{v['id']} ({v['impact']}, {len(v['nodes'])})" for v in found)
                print(
                    f"axe {lang} {name:<8} {len(found)} violations{': ' + rules if rules else ''}"
                )
        browser.close()
    return total


def _lighthouse(url: str, langs: list[str]) -> None:
    binary = TOOLS / ".bin" / "lighthouse"
    for lang in langs:
        for name, path in _pages(lang).items():
            if name in ("search", "archive"):
                continue
            if name == "404":  # Lighthouse refuses a 404 status: audit the page at its own URL
                path = f"{lang}/404.html"
            result = subprocess.run(
                [
                    str(binary), url + path, "--quiet", "--output=json", "--output-path=stdout",
                    f"--chrome-path={CHROMIUM}",
                    "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
                    "--only-categories=performance,accessibility,best-practices,seo",
                ],
                capture_output=True, text=True, check=False, timeout=600,
            )  # fmt: skip
            if result.returncode != 0:
                print(f"lighthouse {lang} {name}: failed: {result.stderr.strip()[-300:]}")
                continue
            categories = json.loads(result.stdout)["categories"]
            scores = " ".join(
                f"{key}={round((c['score'] or 0) * 100)}" for key, c in categories.items()
            )
            print(f"lighthouse {lang} {name:<8} {scores}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-lighthouse", action="store_true")
    parser.add_argument("--lang", nargs="+", default=["ru", "en"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        site = Path(temp) / "sample"
        shutil.copytree(REPO / "sample", site)
        if tamizdat(["-q", "-C", str(site), "build"]) != 0:
            return 1
        handler = functools.partial(_StaticHost, directory=str(site / "public"))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        try:
            violations = _axe(url, args.lang)
            print(f"axe total: {violations} violations")
            if not args.no_lighthouse:
                _lighthouse(url, args.lang)
        finally:
            server.shutdown()
            server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
