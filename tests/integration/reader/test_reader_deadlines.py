"""A stalling mirror cannot hold a sync past its deadline, and loses the race to an honest one.

Every hostile behaviour of support.hostile_http (dripping body, slow headers, silence, endless
body, slow TLS handshake) is tried alone — the sync fails "unreachable" within the deadline
and the store keeps its release — and first in line before an honest mirror — the sync
completes from the honest one well within the deadline. The per-read timeout is set far
above the deadline, so only the deadline can end the wait. A static host answering unknown
paths with a 200 page is not called tampered; redirects stay within a mirror's origin.
"""

from __future__ import annotations

import json
import shutil
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import trustme

from support.hostile_http import HOSTILE, hostile_mirror
from support.loopback import QuietDirectoryHandler, serving
from support.trees import tree
from support.tuf_release import ReleaseFactory, sample_site
from tamizdat.cli import main
from tamizdat.reader.store import Store

pytestmark = pytest.mark.integration

DEADLINE = 4.0  # the slow mirror alone: fail within this (asserted with a 2x margin)
WITH_HONEST = 20.0  # slow mirror first, honest second: a generous deadline never reached
MARGIN = 2.0


@pytest.fixture
def releases(tmp_path: Path) -> tuple[Any, Path, Path]:
    """``behind`` serves release 1; ``current`` serves release 2."""
    factory = ReleaseFactory.articles()
    behind, current = tmp_path / "behind", tmp_path / "current"
    factory.publish(sample_site(edition="one")).write(current)
    shutil.copytree(current, behind)
    factory.publish(sample_site(edition="two")).write(current)
    return factory, behind, current


@pytest.fixture(scope="module")
def tls() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_dir(tls: trustme.CA, tmp_path: Path) -> Iterator[Callable[[Path], str]]:
    """Serve a directory over HTTPS with a certificate of the test CA (``tls``)."""
    servers: list[ThreadingHTTPServer] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.issue_cert("127.0.0.1").configure_cert(context)

    def start(root: Path) -> str:
        server = ThreadingHTTPServer(
            ("127.0.0.1", 0), partial(QuietDirectoryHandler, directory=str(root))
        )
        server.daemon_threads = True
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"https://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _sync(home: Path, *extra: str) -> tuple[int, dict[str, Any], float]:
    import contextlib
    import io

    out = io.StringIO()
    started = time.monotonic()
    with contextlib.redirect_stdout(out):
        code = main(["--json", "reader", "sync", "news", "--store-dir", str(home), *extra])
    return code, json.loads(out.getvalue()), time.monotonic() - started


def _subscribe(home: Path, fingerprint: str, *mirrors: str) -> None:
    args = ["-q", "reader", "add", "news", "--fingerprint", fingerprint, "--store-dir", str(home)]
    for url in mirrors:
        args += ["--mirror", url]
    assert main(args) == 0


def _set_mirrors(home: Path, *mirrors: str) -> None:
    file = home / "news" / "subscription.json"
    subscription = json.loads(file.read_text())
    subscription["mirrors"] = list(mirrors)
    subscription["learned_mirrors"] = []
    file.write_text(json.dumps(subscription))


def _honest(behaviour: str, root: Path, serve_dir: Callable[[Path], str], https_dir: Any) -> str:
    return https_dir(root) if behaviour == "slow-tls" else serve_dir(root)


def _ca_args(behaviour: str, tls: trustme.CA, tmp_path: Path) -> list[str]:
    if behaviour != "slow-tls":
        return []
    ca_file = tmp_path / "ca.pem"
    tls.cert_pem.write_to_path(str(ca_file))
    return ["--ca-file", str(ca_file)]


@pytest.mark.parametrize("behaviour", sorted(HOSTILE))
def test_slow_mirror_alone_fails_unreachable_within_the_deadline(
    behaviour: str, tmp_path: Path, releases: Any, serve_dir: Callable[[Path], str],
    https_dir: Any, tls: trustme.CA,
) -> None:  # fmt: skip
    factory, behind, _ = releases
    home = tmp_path / "home"
    ca = _ca_args(behaviour, tls, tmp_path)
    _subscribe(home, factory.fingerprint, _honest(behaviour, behind, serve_dir, https_dir))
    assert _sync(home, *ca)[0] == 0
    before = tree(home / "news")
    with hostile_mirror(behaviour) as slow:
        _set_mirrors(home, slow)
        code, report, seconds = _sync(home, "--deadline", str(DEADLINE), "--timeout", "60", *ca)
    assert code == 7, report
    assert report["outcome"] == "unreachable"
    assert seconds < DEADLINE * MARGIN, f"{behaviour} held the sync {seconds:.1f} s"
    # The whole deadline, or (a handshake dripped) the shorter connect timeout, cut it off.
    assert "deadline" in report["problem"] or "within 2 s" in report["problem"]
    after = tree(home / "news")
    # Only the memory of how the mirrors answered may change (reader/health.py).
    for changed in ("subscription.json", "mirrors-seen.json"):
        after.pop(changed)
        before.pop(changed)
    assert after == before  # the store is exactly as it was
    assert Store.open("news", home).release.version == 1  # type: ignore[union-attr]


@pytest.mark.parametrize("behaviour", sorted(HOSTILE))
def test_slow_mirror_first_loses_the_race_to_an_honest_one(
    behaviour: str, tmp_path: Path, releases: Any, serve_dir: Callable[[Path], str],
    https_dir: Any, tls: trustme.CA,
) -> None:  # fmt: skip
    factory, _, current = releases
    home = tmp_path / "home"
    ca = _ca_args(behaviour, tls, tmp_path)
    honest = _honest(behaviour, current, serve_dir, https_dir)
    with hostile_mirror(behaviour) as slow:
        _subscribe(home, factory.fingerprint, slow, honest)
        code, report, seconds = _sync(home, "--deadline", str(WITH_HONEST), "--timeout", "60", *ca)
    assert code == 0, report
    assert (report["outcome"], report["version"], report["source"]) == ("current", 2, honest)
    # Hedge (2 s), a probe's wait for the next root and the timestamp quorum wait (2 s
    # each) are the whole cost of the slow mirror: far below the deadline.
    assert seconds < WITH_HONEST / MARGIN, f"{behaviour} held the sync {seconds:.1f} s"
    assert b"edition two" in Store.open("news", home).read("articles/a0/index.html")


class _SoftNotFound(QuietDirectoryHandler):
    """A static host that answers unknown paths with 200 and its app page."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code != 404:
            super().send_error(code, message, explain)
            return
        body = b"<!doctype html><html><body><div id=app>Loading\xe2\x80\xa6</div></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def soft_404_dir() -> Iterator[Callable[[Path], str]]:
    from support.loopback import Servers

    servers = Servers()
    yield lambda root: servers.start(partial(_SoftNotFound, directory=str(root)))
    servers.close()


def test_soft_404_host_is_not_called_tampered(
    tmp_path: Path, releases: Any, soft_404_dir: Callable[[Path], str]
) -> None:
    factory, _, current = releases
    home = tmp_path / "home"
    _subscribe(home, factory.fingerprint, soft_404_dir(current))
    code, report, _ = _sync(home)
    assert code == 0, report
    assert report["outcome"] == "current"
    assert not [n for n in report["notes"] if n["kind"] == "tampered"]


def test_soft_404_host_missing_a_listed_file_is_missing_not_tampered(
    tmp_path: Path, releases: Any, soft_404_dir: Callable[[Path], str]
) -> None:
    factory, _, current = releases
    metadata = current / ".well-known/tamizdat/metadata"
    newest = max(int(p.name.split(".")[0]) for p in metadata.glob("*.snapshot.json"))
    (
        metadata / f"{newest}.snapshot.json"
    ).unlink()  # now the host answers the snapshot's path with its app page
    home = tmp_path / "home"
    _subscribe(home, factory.fingerprint, soft_404_dir(current))
    code, report, _ = _sync(home)
    assert code == 7, report
    assert report["outcome"] == "unreachable"
    assert [n["kind"] for n in report["notes"]] == ["missing"]
    assert "expected snapshot metadata" in report["notes"][0]["problem"]


def _redirect_to(base: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", base + self.path.lstrip("/"))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def test_mirror_redirecting_to_another_host_is_not_followed(
    tmp_path: Path, releases: Any, serve_dir: Callable[[Path], str]
) -> None:
    factory, _, current = releases
    honest = serve_dir(current)
    with serving(_redirect_to(honest)) as redirecting:
        home = tmp_path / "home"
        _subscribe(home, factory.fingerprint, redirecting)
        code, report, _ = _sync(home)
    assert code == 7, report
    assert report["outcome"] == "unreachable"
    problem = report["notes"][0]["problem"]
    assert "refusing the redirect" in problem
    assert f"{redirecting}.well-known/tamizdat/metadata/1.root.json" in problem
    assert f"{honest}.well-known/tamizdat/metadata/1.root.json" in problem
    assert Store.open("news", home).release is None
