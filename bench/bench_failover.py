"""Fail-over benchmark: one hanging mirror among three, time until the reader is current.

Signs the built-in sample site with the real signer (demo keys), serves the release from two
honest mirrors on 127.0.0.1 (HTTP/1.1, kept alive) and one hanging mirror: a socket whose
accept queue is full, so the kernel drops every connection attempt, as a censor dropping a
mirror's packets does (no root needed). Each scenario subscribes a fresh reader and runs
``tamizdat reader sync`` as a command (interpreter start included, as a reader sees it),
then syncs once more (the reader now remembers which mirror failed).

Target (issue 13, item 5): one hanging mirror among three → current in ≤ 3 s.

Run: .venv/bin/python bench/bench_failover.py [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tamizdat.cli import main as cli

ROOT = Path(__file__).resolve().parents[1]
TARGET = 3.0


class _Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # kept alive, as real mirrors are
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def _mirror(folder: Path) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(folder)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def _hanging() -> Iterator[str]:
    """A port whose accept queue is full: every further SYN is dropped, connects hang."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler: list[socket.socket] = []
    for _ in range(4):
        sock = socket.socket()
        sock.settimeout(0.3)
        try:
            sock.connect(("127.0.0.1", port))
            filler.append(sock)
        except TimeoutError:
            sock.close()
            break
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        for sock in filler:
            sock.close()
        listener.close()


def _release(work: Path) -> tuple[Path, str]:
    site = work / "site"
    shutil.copytree(ROOT / "sample", site)
    toml = site / "tamizdat.toml"
    text = toml.read_text(encoding="utf-8").replace(
        'base_url = "http://127.0.0.1:8000/"', 'base_url = "https://news.example/"'
    )
    toml.write_text(text + '\n[signing]\nkeys_dir = "keys"\n', encoding="utf-8")
    for argv in (["build"], ["keys", "init", "--demo"], ["sign", "--demo"]):
        with contextlib.redirect_stdout(sys.stderr):
            assert cli(["-q", "-C", str(site), *argv]) == 0, argv
    release = site / "release"
    root = (release / ".well-known/tamizdat/metadata/1.root.json").read_bytes()
    return release, hashlib.sha256(root).hexdigest()


def _sync(home: Path) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TAMIZDAT_READER_HOME": str(home)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "tamizdat", "--json", "reader", "sync", "news"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    return seconds, json.loads(done.stdout)["outcome"]


def _startup() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "tamizdat", "--version"], capture_output=True, check=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        release, fingerprint = _release(work)
        with _mirror(release) as one, _mirror(release) as two, _hanging() as dead:
            orders = {"hanging first": [dead, one, two], "hanging second": [one, dead, two],
                      "hanging third": [one, two, dead], "none hanging": [one, two]}  # fmt: skip
            for label, mirrors in orders.items():
                first: list[float] = []
                again: list[float] = []
                for run in range(args.runs):
                    home = work / f"home-{len(rows)}-{run}"
                    add = ["reader", "add", "news", "--fingerprint", fingerprint,
                           "--store-dir", str(home)] + [f"--mirror={m}" for m in mirrors]  # fmt: skip
                    with contextlib.redirect_stdout(sys.stderr):
                        assert cli(["-q", *add]) == 0
                    seconds, outcome = _sync(home)
                    assert outcome == "current", (label, outcome)
                    first.append(seconds)
                    seconds, outcome = _sync(home)
                    assert outcome == "current", (label, outcome)
                    again.append(seconds)
                rows.append({
                    "scenario": label,
                    "first_sync_s": round(statistics.median(first), 2),
                    "first_sync_max_s": round(max(first), 2),
                    "next_sync_s": round(statistics.median(again), 2),
                })  # fmt: skip
    startup = round(_startup(), 2)
    if args.json:
        print(json.dumps({"target_s": TARGET, "startup_s": startup, "rows": rows}, indent=2))
        return
    print(f"one hanging mirror among three; target: current in <= {TARGET:g} s")
    print(f"(interpreter start and imports alone: {startup} s; median of {args.runs} runs)")
    print(f"{'scenario':<16} {'first sync':>11} {'worst':>7} {'next sync':>10}")
    for row in rows:
        print(f"{row['scenario']:<16} {row['first_sync_s']:>10}s {row['first_sync_max_s']:>6}s "
              f"{row['next_sync_s']:>9}s")  # fmt: skip


if __name__ == "__main__":
    main()
