"""Reader benchmark: sync costs, bundle size and offline verification for a large release.

Builds a site of N articles (default 10,000) as plain HTML in public/, signs it with the real
signer (demo keys), serves release/ over HTTP on 127.0.0.1 (a separate process, like a real
mirror; it gzips JSON/HTML/CSS when asked, as most CDNs do), and measures:

  first sync                 seconds and bytes
  sync after one change      bytes (target: <= 10 KB + the changed files)
  sync when already current  bytes (target: <= 1 KB)
  bundle size                against a plain zip of public/
  offline verification       of the bundle, every file (target: <= 2 s), as
                             `tamizdat verify BUNDLE --fingerprint FP`

Run: .venv/bin/python bench/bench_reader.py [--articles 10000] [--json]
Bytes are response bodies (HTTP headers not included): ``*_bytes`` decoded, ``*_wire_bytes``
as transferred with gzip. ``one_change_metadata_*`` subtract the changed files (the article
and the publication log; for wire, their gzip size).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tamizdat.channels.bundle import open_bundle, write_bundle
from tamizdat.cli import main as cli
from tamizdat.fingerprint import root_fingerprint
from tamizdat.reader.client import (
    SyncOptions,
    add_subscription,
    import_bundle,
    sync_subscription,
)
from tamizdat.reader.store import Store
from tamizdat.reader.sync import update_store
from tamizdat.transport.failover import MirrorPool
from tamizdat.trust.verify.whole import verify_release

PARAGRAPH = (
    "The committee met on the {n}th day and heard testimony from residents of district {d}. "
    "Officials declined to comment on the allocation of funds, and the report remains sealed. "
)


def _article(i: int) -> str:
    body = "".join(f"<p>{PARAGRAPH.format(n=i + k, d=i % 97)}</p>" for k in range(8))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Report {i}</title>'
        f'<link rel="stylesheet" href="/style.css"></head><body><h1>Report {i}</h1>{body}</body></html>'
    )


def article_path(i: int) -> str:
    """About 50 reports a month, laid out by publication month (as the renderer does)."""
    month = f"{2006 + i // 600:04d}-{1 + (i // 50) % 12:02d}"
    return f"articles/{month}/report-{i}/index.html"


def build_site(root: Path, articles: int) -> Path:
    public = root / "public"
    for i in range(articles):
        page = public / article_path(i)
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(_article(i))
    (public / "index.html").write_text(_article(-1))
    (public / "style.css").write_text("body{font-family:serif;max-width:40em;margin:auto}")
    (root / "tamizdat.toml").write_text(
        '[site]\ntitle = "Bench News"\n[signing]\nkeys_dir = "keys"\n'
    )
    return public


def correct_article(public: Path, i: int) -> None:
    """Change one article as the renderer does: a new file renamed over the old one.

    (Editing in place would also change the release's hard-linked copies of it.)
    """
    page = public / article_path(i)
    staged = page.with_name(".staged.html")
    staged.write_text(_article(i).replace("</h1>", " (corrected)</h1>"))
    staged.replace(page)


class _CdnLikeHandler(SimpleHTTPRequestHandler):
    """A static server that gzips text when the client accepts it (like most CDNs)."""

    def send_head(self):  # type: ignore[no-untyped-def]
        path = Path(self.translate_path(self.path))
        text = path.suffix in (".json", ".html", ".css", ".xml")
        if not (text and path.is_file() and "gzip" in self.headers.get("Accept-Encoding", "")):
            return super().send_head()
        body = gzip.compress(path.read_bytes(), mtime=0)
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        return io.BytesIO(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(root: str, port: int) -> None:
    handler = partial(_CdnLikeHandler, directory=root)
    ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()


def _wait_for(port: int, seconds: float = 30.0) -> None:
    """Until the mirror process accepts connections."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sign(site: Path) -> float:
    start = time.perf_counter()
    if cli(["-q", "-C", str(site), "sign", "--demo"]) != 0:
        raise SystemExit("signing failed")
    return time.perf_counter() - start


def _zip_dir(public: Path, out: Path) -> int:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(public.rglob("*")):
            if file.is_file():
                archive.write(file, file.relative_to(public).as_posix())
    return out.stat().st_size


def run(articles: int, workdir: Path) -> dict[str, object]:
    site = workdir / "site"
    site.mkdir()
    public = build_site(site, articles)
    if cli(["-q", "-C", str(site), "keys", "init", "--demo"]) != 0:
        raise SystemExit("keys init failed")
    results: dict[str, object] = {"articles": articles, "sign_s": round(_sign(site), 2)}
    release = site / "release"
    fingerprint = root_fingerprint(
        (release / ".well-known/tamizdat/metadata/1.root.json").read_bytes()
    )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(release), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port)
        store = add_subscription(
            "bench",
            mirrors=(f"http://127.0.0.1:{port}/",),
            fingerprint=fingerprint,
            store_dir=workdir / "home",
        )
        options = SyncOptions(deadline=600, quorum=1)
        start = time.perf_counter()
        first = sync_subscription(store, options)
        results["first_sync_s"] = round(time.perf_counter() - start, 2)
        results["first_sync_bytes"] = first.fetched_bytes
        results["first_sync_wire_bytes"] = first.wire_bytes
        results["first_sync_files"] = first.fetched_files
        assert first.outcome == "current", first

        pick = articles // 4
        correct_article(public, pick)
        results["resign_s"] = round(_sign(site), 2)
        start = time.perf_counter()
        second = sync_subscription(store, options)
        results["one_change_sync_s"] = round(time.perf_counter() - start, 2)
        held = Store.open("bench", workdir / "home")
        changed = [held.read(p) for p in (article_path(pick), ".well-known/tamizdat/log.json")]
        objects = sum(len(data) for data in changed)
        objects_wire = sum(len(gzip.compress(data, mtime=0)) for data in changed)
        results["one_change_sync_bytes"] = second.fetched_bytes
        results["one_change_changed_file_bytes"] = objects
        results["one_change_metadata_bytes"] = second.fetched_bytes - objects
        results["one_change_wire_bytes"] = second.wire_bytes
        results["one_change_metadata_wire_bytes"] = second.wire_bytes - objects_wire
        results["one_change_new_objects"] = second.new_objects
        third = sync_subscription(store, options)
        results["current_sync_bytes"] = third.fetched_bytes
        results["current_sync_files"] = third.fetched_files
        results["current_sync_wire_bytes"] = third.wire_bytes
    finally:
        server.terminate()
        server.wait()

    bundle = workdir / "bundle.zip"
    results["bundle_bytes"] = write_bundle(release, bundle)["bytes"]
    results["plain_zip_of_public_bytes"] = _zip_dir(public, workdir / "public.zip")
    delta = workdir / "delta.zip"
    results["delta_bundle_bytes"] = write_bundle(release, delta, since_version=1)["bytes"]
    state = ["--state-dir", str(workdir / "verify-state")]
    start = time.perf_counter()
    code = cli(["-q", "verify", str(bundle), "--fingerprint", fingerprint, *state])
    results["bundle_verify_cli_s"] = round(time.perf_counter() - start, 2)
    assert code == 0, code
    start = time.perf_counter()
    with open_bundle(bundle) as source:
        report = verify_release(source, fingerprint=fingerprint, check="all")
    results["bundle_verify_all_s"] = round(time.perf_counter() - start, 2)
    results["bundle_verify_files"] = report.files_checked
    results["bundle_verify_listing_checked"] = report.listing_checked
    start = time.perf_counter()
    with open_bundle(bundle) as source:
        verify_release(source, fingerprint=fingerprint, check="metadata")
    results["bundle_verify_metadata_s"] = round(time.perf_counter() - start, 2)
    # The reader's own offline path: verify every file of the bundle, then write the store.
    fresh = add_subscription("fresh", fingerprint=fingerprint, store_dir=workdir / "home")
    start = time.perf_counter()
    imported = import_bundle(fresh, bundle)
    results["bundle_import_verify_all_s"] = round(time.perf_counter() - start, 2)
    assert imported.outcome == "current", imported
    start = time.perf_counter()
    with open_bundle(bundle) as source:
        pool = MirrorPool([source])
        policy_check = update_store(Store.open("fresh", workdir / "home"), pool, quorum=1)
    results["bundle_reverify_when_held_s"] = round(time.perf_counter() - start, 2)
    assert policy_check.outcome == "current"
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--serve", nargs=2, metavar=("DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]))
        return
    os.environ.setdefault("TAMIZDAT_STATE_DIR", tempfile.mkdtemp(prefix="bench-state-"))
    # The CLI's own output goes to stderr: stdout is the result.
    with (
        tempfile.TemporaryDirectory(prefix="bench-reader-") as tmp,
        contextlib.redirect_stdout(sys.stderr),
    ):
        results = run(args.articles, Path(tmp))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for key, value in results.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
