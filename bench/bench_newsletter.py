"""Benchmark: one newsletter (a digest of 10 stories) to N subscribers through an SMTP server
on loopback (aiosmtpd, in this process, counting and discarding what it receives).

Prints messages per second and the sender's peak traced memory for each N: the peak must stay
flat as the list grows (subscribers are read a page at a time, each message is built, sent
and forgotten before the next). The server's own allocations are traced too and are small.

Usage:  .venv/bin/python bench/bench_newsletter.py [--subscribers 1000 10000] [--dkim]
Never part of the test run's pass/fail.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tamizdat.channels.announce import Announcement, Story
from tamizdat.channels.email.sender import EmailSender, open_store

START = datetime(2026, 12, 1, 8, tzinfo=UTC)


class Counter:
    def __init__(self) -> None:
        self.messages = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages += 1
        return "250 OK"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _digest(key: str) -> Announcement:
    stories = tuple(
        Story(path=f"/en/news/story-{n}/", lang="en", title=f"Story number {n} of the day",
              lead="A lead of a couple of sentences. " * 3, published=START + timedelta(hours=n),
              updated=None, desk="news", tags=("news",), reading_minutes=3 + n, revision=f"r{n}")
        for n in range(10)
    )  # fmt: skip
    return Announcement(key=key, channel="bench", kind="digest", lang="en", release=1,
                        published=START, stories=stories,
                        mirrors=("https://a.example/", "https://b.example/", "https://c.example/"),
                        fingerprint="ab" * 32, site_title="Bench News")  # fmt: skip


def _row(count: int, dkim: bool, folder: Path) -> str:
    counter = Counter()
    port = _port()
    controller = Controller(counter, hostname="127.0.0.1", port=port)
    controller.start()
    environ: dict[str, str] = {}
    options: dict[str, Any] = {"from": "news@bench.example", "smtp_host": "127.0.0.1",
                               "smtp_port": port, "smtp_security": "plain",
                               "rate_per_second": 1e6, "site_dir": str(folder / str(count))}  # fmt: skip
    if dkim:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = folder / "dkim.pem"
        pem.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))  # fmt: skip
        environ["BENCH_DKIM"] = str(pem)
        options |= {"dkim_selector": "b", "dkim_key_file_env": "BENCH_DKIM"}
    sender = EmailSender("bench", options, environ)
    store = open_store(sender.settings)
    rows = ((f"reader{n:06d}@bench.example", "en", "bench") for n in range(count))
    store.import_rows(rows, 0.0, confirmed=True)
    sender.send(_digest("warm-up-" + "x"))  # theme, templates, session: not measured
    tracemalloc.start()
    began = time.perf_counter()
    receipt = sender.send(_digest(f"digest-{count}"))
    seconds = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sender.close()
    controller.stop()
    assert receipt.counts["sent"] == count, receipt.counts
    return (f"{count:>8}  {count / seconds:>9.0f}  {seconds:>8.1f}  {peak / 1e6:>10.1f}"
            f"  {'yes' if dkim else 'no'}")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--dkim", action="store_true", help="DKIM-sign every message (RSA 2048)")
    args = parser.parse_args(argv)
    print(f"{'N':>8}  {'msgs/s':>9}  {'seconds':>8}  {'peak MB':>10}  dkim")
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.subscribers:
            print(_row(count, args.dkim, Path(tmp)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
