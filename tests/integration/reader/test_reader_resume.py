"""A censor that freezes each connection after some bytes: the HTTP client resumes with Range.

The server here (127.0.0.1, HTTP/1.1, kept alive) stops sending once a connection carried
``freeze_after`` body bytes and holds it open, as the censor's 16 KB freeze does; every
fresh connection gets the same allowance. Files must still arrive whole and exact, over
``Range``/``If-Range`` on fresh connections; where resuming is impossible the error says so
in words. Failures of a connect are said in words too (the raw error only in the log).
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import re
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from support.loopback import serving
from tamizdat.errors import MirrorResponseError, MirrorUnreachableError
from tamizdat.transport.http_client import _connect_words, _tls_words
from tamizdat.transport.network import NetworkLimits
from tamizdat.transport.sources import HttpSource

pytestmark = pytest.mark.integration
QUICK = NetworkLimits(stall_timeout=0.3, deadline=60.0)
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")
BIG = b"".join(hashlib.sha256(b"%d" % n).digest() for n in range(4000))  # 128 KB, no gzip gain


class _Freezer:
    """What the server does: its files, its per-connection allowance, what it was asked."""

    def __init__(
        self,
        files: dict[str, bytes],
        freeze_after: int | None,
        *,
        etag: bool = True,
        gzip_whole: bool = False,
        wrong_range: bool = False,
    ) -> None:
        self.files = files
        self.freeze_after = freeze_after
        self.etag = etag
        self.gzip_whole = gzip_whole
        self.wrong_range = wrong_range
        self.connections = 0
        self.requests: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()


def _handler(state: _Freezer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            self.sent = 0
            with state.lock:
                state.connections += 1

        def _body(self, data: bytes) -> None:
            limit = state.freeze_after
            if limit is not None and self.sent + len(data) > limit:
                self.wfile.write(data[: max(0, limit - self.sent)])
                self.wfile.flush()
                state.stop.wait(30)  # frozen: the connection stays open, nothing more comes
                self.close_connection = True
                return
            self.sent += len(data)
            self.wfile.write(data)

        def do_GET(self) -> None:
            name = self.path.lstrip("/")
            wanted = self.headers.get("Range", "")
            with state.lock:
                state.requests.append(wanted)
            data = state.files.get(name)
            if data is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            found = _RANGE.match(wanted)
            if_range = self.headers.get("If-Range")
            if found and (if_range is None or if_range == '"v1"'):
                start = int(found.group(1))
                end = min(len(data), int(found.group(2)) + 1) if found.group(2) else len(data)
                shown = 0 if state.wrong_range else start
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {shown}-{end - 1}/{len(data)}")
                body = data[start:end]
            else:
                self.send_response(200)
                body = data
                if state.gzip_whole and "gzip" in self.headers.get("Accept-Encoding", ""):
                    body = gzip.compress(data, mtime=0)
                    self.send_header("Content-Encoding", "gzip")
            if state.etag:
                self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self._body(body)

    return Handler


@contextmanager
def _freezing(state: _Freezer) -> Iterator[str]:
    try:
        with serving(_handler(state)) as url:
            yield url
    finally:
        state.stop.set()


def _fetch(url: str, name: str, limits: NetworkLimits = QUICK) -> bytes:
    source = HttpSource(url, limits=limits, connections=4)
    try:
        return source.fetch(name, 1 << 20)
    finally:
        source.close()


@pytest.mark.parametrize("freeze_after", [4096, 16384, 50_000])
def test_a_file_frozen_on_every_connection_arrives_whole(freeze_after: int) -> None:
    state = _Freezer({"big.bin": BIG}, freeze_after)
    with _freezing(state) as url:
        assert _fetch(url, "big.bin") == BIG
    assert state.connections > 1
    # After the first freeze the client asks in pieces that pass: few fruitless connections.
    assert state.connections <= 2 * len(BIG) // (freeze_after // 2) + 3


def test_a_file_that_needs_too_many_pieces_is_given_up() -> None:
    state = _Freezer({"big.bin": BIG}, 4096)
    limits = NetworkLimits(stall_timeout=0.3, deadline=60.0, max_pieces=5)
    with _freezing(state) as url, pytest.raises(MirrorUnreachableError) as caught:
        _fetch(url, "big.bin", limits)
    assert "5 requests did not bring the whole file" in caught.value.message


def test_a_kept_alive_connection_carries_request_after_request() -> None:
    files = {f"f{n}.txt": f"file {n}".encode() * 100 for n in range(5)}
    state = _Freezer(files, None)
    with _freezing(state) as url:
        source = HttpSource(url, limits=QUICK)
        try:
            for name, data in files.items():
                assert source.fetch(name, 1 << 20) == data
        finally:
            source.close()
    assert state.connections == 1


def test_a_kept_alive_connection_frozen_between_files_is_replaced() -> None:
    files = {f"f{n}.bin": BIG[n * 3000 : (n + 1) * 3000] for n in range(8)}
    state = _Freezer(files, 10_000)
    with _freezing(state) as url:
        source = HttpSource(url, limits=QUICK)
        try:
            for name, data in files.items():
                assert source.fetch(name, 1 << 20) == data
        finally:
            source.close()


def test_a_compressed_body_that_froze_is_fetched_again_plain_in_pieces() -> None:
    state = _Freezer({"big.bin": BIG}, 16384, gzip_whole=True)
    with _freezing(state) as url:
        assert _fetch(url, "big.bin") == BIG
    assert any(r.startswith("bytes=0-") for r in state.requests)


def test_a_frozen_body_without_a_validator_cannot_resume_and_says_so() -> None:
    state = _Freezer({"big.bin": BIG}, 16384, etag=False)
    with _freezing(state) as url, pytest.raises(MirrorUnreachableError) as caught:
        _fetch(url, "big.bin")
    assert "no way to resume" in caught.value.message


def test_a_partial_answer_for_other_bytes_than_asked_is_refused() -> None:
    state = _Freezer({"big.bin": BIG}, 16384, wrong_range=True)
    with _freezing(state) as url, pytest.raises(MirrorResponseError) as caught:
        _fetch(url, "big.bin")
    assert "asked for bytes from" in caught.value.message


def test_a_refused_connection_is_said_in_words(dead_url: str) -> None:
    with pytest.raises(MirrorUnreachableError) as caught:
        _fetch(dead_url, "a.txt")
    assert caught.value.message == "refused the connection"


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "does not exist in DNS"),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure"), "could not be looked up"),
        (TimeoutError("timed out"), "did not answer within 2 s"),
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "refused the connection"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "reset the connection"),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), "cannot be reached"),
        (OSError(errno.EACCES, "Permission denied"), "cannot be connected to (Permission"),
    ],
)
def test_connect_failures_in_plain_words(error: OSError, words: str) -> None:
    said = _connect_words(error, 2.0)
    assert words in said
    assert "Error" not in said
    assert "errno" not in said.lower()


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (ssl.SSLCertVerificationError("certificate verify failed"), "not valid for its name"),
        (TimeoutError("timed out"), "handshake within 2 s"),
        (ConnectionResetError(errno.ECONNRESET, "reset"), "cut the connection"),
        (ssl.SSLError("wrong version"), "failed the secure (TLS) handshake"),
    ],
)
def test_tls_failures_in_plain_words(error: OSError, words: str) -> None:
    assert words in _tls_words(error, 2.0)
