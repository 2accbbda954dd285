"""Benchmark: ``tamizdat announce`` of a release with 20 new articles to 3 channels.

A site with 200 articles is built and signed (demo keys), announced once (the channels'
starting point), then 20 articles are added, built and signed again; we time the announce of
that release to three Telegram channels (two posting one message per story, one posting the
release) through a loopback Bot API that answers at once, so the figure is tamizdat's own
cost: loading the site, planning, formatting, the journal's fsynced writes and HTTP.

Usage:  .venv/bin/python bench/bench_announce.py [--articles 200] [--new 20]
Never part of the test run's pass/fail.
"""

from __future__ import annotations

import argparse
import http.server
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tamizdat.channels.announcer import announce_channels
from tamizdat.cli import main
from tamizdat.config import load_config
from tamizdat.publish.history import read_latest_entries

TOKEN = "1:bench-token"
TOML = """\
[site]
title = "Bench News"
base_url = "https://bench.example/"
default_language = "en"

[languages.en]
title = "Bench News"

[signing]
keys_dir = "keys"

[[mirrors]]
name = "m1"
url = "file://{root}/m1"
public_url = "https://m1.example.net/"
"""


class _Api(http.server.BaseHTTPRequestHandler):
    count = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Api.count += 1
        body = json.dumps({"ok": True, "result": {"message_id": _Api.count}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _article(site: Path, index: int) -> None:
    day = 1 + index % 28
    text = (
        f'---\ntitle: "Story number {index}"\ndate: 2026-{1 + index // 28 % 12:02d}-{day:02d}\n'
        f'lang: en\ntags: ["tag{index % 7}", "tag{index % 5}"]\nlead: "The lead of story {index}."'
        f"\n---\n{'word ' * 300}\n"
    )
    (site / "content" / f"s{index:04d}.md").write_text(text, encoding="utf-8")


def _run(site: Path, *argv: str) -> None:
    if main(["-q", "-C", str(site), *argv]) != 0:
        raise SystemExit(f"tamizdat {' '.join(argv)} failed")


def _announce(site: Path, api_url: str) -> tuple[float, int]:
    config = load_config(site)
    history = config.build.cache_dir / "mirrors-history.jsonl"
    states = {n: e.state for n, e in read_latest_entries(history).items()}
    before = _Api.count
    start = time.perf_counter()
    report = announce_channels(config, mirror_states=states, environ={"BENCH_TOKEN": TOKEN})
    elapsed = time.perf_counter() - start
    if report.errors:
        raise SystemExit(f"announce failed: {report.errors[0]}")
    return elapsed, _Api.count - before


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--new", type=int, default=20)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    api_url = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as temp:
        site = Path(temp) / "site"
        (site / "content").mkdir(parents=True)
        channels = "".join(
            f'\n[[channels]]\nname = "tg{i}"\nkind = "telegram"\nper_story = {per}\n'
            f'[channels.options]\nchat_id = "@bench_{i}"\napi_url = "{api_url}"\n'
            'token_env = "BENCH_TOKEN"\n'
            for i, per in enumerate(("true", "true", "false"))
        )
        (site / "tamizdat.toml").write_text(TOML.format(root=temp) + channels, encoding="utf-8")
        for index in range(args.articles):
            _article(site, index)
        _run(site, "build")
        _run(site, "keys", "init", "--demo")
        _run(site, "sign", "--demo")
        history = site / ".tamizdat" / "mirrors-history.jsonl"
        row = {"time": "2026-03-01T00:00:00+00:00", "mirror": "m1", "state": "current",
               "version": 1, "latency_ms": 5}  # fmt: skip
        history.write_text(json.dumps(row) + "\n")
        first, sent = _announce(site, api_url)
        print(f"first run (starting point, newest 10 per channel): {first:.2f} s, {sent} messages")
        for index in range(args.articles, args.articles + args.new):
            _article(site, index)
        _run(site, "build")
        _run(site, "sign", "--demo")
        elapsed, sent = _announce(site, api_url)
        print(
            f"release with {args.new} new articles to 3 channels: {elapsed:.2f} s, "
            f"{sent} messages ({sent / elapsed:.0f} messages/s)"
        )
        again, sent = _announce(site, api_url)
        print(f"re-run with nothing new: {again:.2f} s, {sent} messages")
    server.shutdown()


if __name__ == "__main__":
    main_bench()
