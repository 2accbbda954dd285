"""Mirrors that compress (as most CDNs do): fewer bytes on the wire, caps on decoded bytes."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from support.loopback import Servers
from support.tuf_release import ReleaseFactory
from tamizdat.reader.client import SyncOptions, add_subscription, sync_subscription

pytestmark = pytest.mark.integration

_TEXT = (".json", ".html", ".css", ".xml")


def _handler(root: Path, bomb: str | None, asked: list[str]) -> type[BaseHTTPRequestHandler]:
    class Compressing(BaseHTTPRequestHandler):
        """Serves ``root``; gzips text when asked to; ``bomb`` (a name suffix) inflates."""

        def do_GET(self) -> None:
            asked.append(self.headers.get("Accept-Encoding", ""))
            file = root / self.path.lstrip("/")
            if not file.is_file():
                self.send_error(404)
                return
            data = file.read_bytes()
            gzip_ok = "gzip" in self.headers.get("Accept-Encoding", "")
            if bomb is not None and self.path.endswith(bomb):
                data = b"\0" * (16 << 20)  # 16 MiB that compress to ~16 KiB
            elif not (gzip_ok and self.path.endswith(_TEXT)):
                self._send(data, None)
                return
            self._send(gzip.compress(data, mtime=0), "gzip")

        def _send(self, body: bytes, encoding: str | None) -> None:
            self.send_response(200)
            if encoding:
                self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Compressing


@pytest.fixture
def serve_gzip() -> Iterator[Callable[..., tuple[str, list[str]]]]:
    servers = Servers()

    def start(root: Path, bomb: str | None = None) -> tuple[str, list[str]]:
        asked: list[str] = []
        return servers.start(_handler(root, bomb, asked)), asked

    yield start
    servers.close()


def _release(tmp_path: Path) -> tuple[Any, Path]:
    factory = ReleaseFactory.articles()
    site = {f"articles/a{i}/index.html": b"<p>the same words</p>" * 200 for i in range(5)}
    factory.publish(site).write(tmp_path / "release")
    return factory, tmp_path / "release"


def test_sync_asks_for_gzip_and_counts_wire_bytes(
    tmp_path: Path, serve_gzip: Callable[..., tuple[str, list[str]]]
) -> None:
    factory, release = _release(tmp_path)
    url, asked = serve_gzip(release)
    store = add_subscription(
        "news", mirrors=(url,), fingerprint=factory.fingerprint, store_dir=tmp_path / "home"
    )
    report = sync_subscription(store, SyncOptions(quorum=1))
    assert report.outcome == "current"
    assert asked
    assert all(a == "gzip" for a in asked)
    assert 0 < report.wire_bytes < report.fetched_bytes / 5
    assert store.read("articles/a3/index.html") == b"<p>the same words</p>" * 200


def test_gzip_bomb_is_cut_at_the_signed_length_and_skipped(
    tmp_path: Path, serve_gzip: Callable[..., tuple[str, list[str]]]
) -> None:
    factory, release = _release(tmp_path)
    evil, _ = serve_gzip(release, bomb=".index.html")
    honest, _ = serve_gzip(release)
    store = add_subscription(
        "news", mirrors=(evil, honest), fingerprint=factory.fingerprint,
        store_dir=tmp_path / "home",
    )  # fmt: skip
    report = sync_subscription(store, SyncOptions(quorum=1, workers=1))
    assert report.outcome == "current"
    notes = [n for n in report.notes if n.mirror == evil]
    assert notes
    assert notes[0].kind == "tampered"
    assert "found more" in notes[0].problem
    assert report.fetched_bytes < 1 << 20  # the 16 MiB were never held
