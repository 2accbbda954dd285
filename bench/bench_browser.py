"""Benchmark: tamizdat's service worker in Debian's Chromium (issue 10's figures).

Prints, never asserts:

1. the size of what the browser loads: ``sw.js`` (the worker; budget 40 KB raw, 14 KB gzip),
   the register script every page loads, the Ed25519 fallback loaded only when WebCrypto
   lacks Ed25519;
2. for sites of 1,000 and 10,000 articles, signed by the real signer: the bytes fetched on a
   cold visit to one article (the unverified first page, then everything the worker fetches
   to install and verify it), metadata alone raw and gzip (budget: 20 KB gzip at 10,000);
3. the time to the first verified article when the origin hangs and one mirror works, the
   worker installed (restarted, so it verifies the release again); and a warm (cached) load.

Every server is on 127.0.0.1 (the origin and a mirror: two ports, two origins).

    .venv/bin/python bench/bench_browser.py [--articles 1000 10000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tamizdat.config import load_config
from tamizdat.layout import MIRRORS_JSON
from tamizdat.render.theme import Theme
from tamizdat.trust.sign.keys import init_keys, read_fingerprint
from tamizdat.trust.sign.signing import sign_release
from tamizdat.web import WORKER_PATH, page_script, worker_script

CHROMIUM = os.environ.get("TAMIZDAT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
BUDGET = {"raw": 40 * 1024, "gzip": 14 * 1024}
DESKS = ("news", "culture", "investigations")


def _gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9, mtime=0))


class _Counting(SimpleHTTPRequestHandler):
    """A static mirror that counts the bytes of every file it sends; ``hang`` freezes it."""

    sent: dict[str, int]
    hang: threading.Event
    stop: threading.Event

    def log_message(self, format: str, *args: object) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        if self.hang.is_set():
            self.stop.wait()
            return
        path = Path(self.translate_path(self.path))
        path = path / "index.html" if path.is_dir() else path
        if path.is_file():
            self.sent[self.path] = self.sent.get(self.path, 0) + path.stat().st_size
        super().do_GET()


class Server:
    def __init__(self, root: Path) -> None:
        self.sent: dict[str, int] = {}
        self.hang = threading.Event()
        self.stop = threading.Event()
        handler = type("H", (_Counting,), {"sent": self.sent, "hang": self.hang, "stop": self.stop})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _page(title: str, root: str) -> bytes:
    marker = Theme().render("en", "partials/verify-status.html", {"nav": {"verify": "/"}})
    body = "<p>" + "Lorem ipsum dolor sit amet. " * 180 + "</p>"  # ~5 KB of text
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body>{marker}<h1>{title}</h1>{body}"
        f'<script src="{root}assets/tz-register.js" defer></script></body></html>'
    ).encode()


def make_release(base: Path, articles: int, origin: str, mirror: str) -> tuple[Path, list[str]]:
    """A site of ``articles`` article pages (three desks) signed by the real signer."""
    site = base / f"site-{articles}"
    public = site / "public"
    (site / "tamizdat.toml").parent.mkdir(parents=True, exist_ok=True)
    (site / "tamizdat.toml").write_text(
        '[site]\ntitle = "Bench"\nbase_url = "https://bench.example/"\n'
        '[build]\ndefault_desk = "news"\n'
        + "".join(f"[desks.{d}]\n" for d in DESKS)
        + '[signing]\nkeys_dir = "keys"\nrelease_dir = "release"\n',
        encoding="utf-8",
    )
    paths = []
    for i in range(articles):
        path = f"en/{DESKS[i % 3]}/{2007 + i % 20}/story-{i:06d}/index.html"
        paths.append(path)
        target = public / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_page(f"Story {i}", "../../../../"))
    config = load_config(site)
    init_keys(config, demo=True)
    fingerprint = read_fingerprint(config)
    assert fingerprint is not None
    (public / "index.html").write_bytes(_page("Home", ""))
    (public / "assets").mkdir()
    for name in ("tz-register.js", "tz-ed25519.js"):
        (public / "assets" / name).write_bytes(page_script(name))
    (public / WORKER_PATH).write_bytes(worker_script(fingerprint, origin))
    mirrors = {"version": 1, "mirrors": [{"name": "m", "public_url": mirror, "tags": []}]}
    sign_release(
        config,
        public_dir=public,
        release_dir=config.signing.release_dir,
        extra_files={MIRRORS_JSON: json.dumps(mirrors).encode()},
        allow_demo=True,
    )
    return config.signing.release_dir, paths


def _controlled(page: Any) -> None:
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=120_000)


def _restart(page: Any) -> None:
    session = page.context.new_cdp_session(page)
    session.send("ServiceWorker.enable")
    session.send("ServiceWorker.stopAllWorkers")
    session.detach()


def _verified(page: Any) -> bool:
    return page.get_attribute(".tz-status", "data-tz-state") in ("verified", "stale")


def run(browser: Any, base: Path, articles: int) -> None:
    root = base / f"serve-{articles}"
    root.mkdir()
    origin, mirror = Server(root), Server(root)
    try:
        started = time.perf_counter()
        release, paths = make_release(base, articles, origin.url, mirror.url)
        signed = time.perf_counter() - started
        root.rmdir()
        shutil.copytree(release, root)
        article = paths[len(paths) // 2]
        url = origin.url + article.removesuffix("index.html")
        context = browser.new_context()
        page = context.new_page()
        page.goto(url)
        first_page = sum(origin.sent.values())
        _controlled(page)
        page.reload()
        assert _verified(page), page.text_content(".tz-status")
        sent = origin.sent
        metadata = {p: n for p, n in sent.items() if "/.well-known/tamizdat/metadata/" in p}
        metadata_gz = sum(_gz((root / p.lstrip("/")).read_bytes()) for p in metadata)
        total = sum(sent.values())
        print(f"\n== {articles:,} articles (signed in {signed:.1f} s)")
        print(f"cold visit, first (unverified) page: {first_page:,} B")
        print(
            f"cold visit, everything until the article is verified: {total:,} B in "
            f"{len(sent)} files (sw.js {sent.get('/sw.js', 0):,} B)"
        )
        print(
            f"  metadata: {sum(metadata.values()):,} B raw, {metadata_gz:,} B gzip "
            f"({len(metadata)} files: {', '.join(sorted(p.rsplit('/', 1)[1] for p in metadata))})"
        )
        started = time.perf_counter()
        page.reload()
        warm = time.perf_counter() - started
        print(f"warm (cached, release fresh) reload: {warm * 1000:.0f} ms")
        origin.hang.set()
        _restart(page)
        other = origin.url + paths[len(paths) // 3].removesuffix("index.html")
        started = time.perf_counter()
        page.goto(other)
        hung = time.perf_counter() - started
        assert _verified(page), page.text_content(".tz-status")
        print(
            f"origin hangs, one mirror works, worker restarted: first verified article in {hung * 1000:.0f} ms"
        )
        context.close()
    finally:
        origin.close()
        mirror.close()


def sizes() -> None:
    worker = worker_script("ab" * 32, "https://bench.example/")
    print("== what the browser loads")
    print(
        f"sw.js: {len(worker):,} B raw, {_gz(worker):,} B gzip "
        f"(budget {BUDGET['raw']:,} / {BUDGET['gzip']:,})"
    )
    for name in ("tz-register.js", "tz-ed25519.js", "tz-verify.js"):
        data = page_script(name)
        print(f"{name}: {len(data):,} B raw, {_gz(data):,} B gzip")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args(argv)
    sizes()
    from playwright.sync_api import sync_playwright

    os.environ["TAMIZDAT_DEMO_KEYS"] = "1"
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            for count in args.articles:
                run(browser, Path(tmp), count)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
