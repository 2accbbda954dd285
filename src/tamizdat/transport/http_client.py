"""HTTP/1.1 GETs from one mirror origin: every wait bounded by a deadline, redirects kept home.

Invariant: no socket operation (connect, TLS handshake, send, each receive) waits longer than
``min(read_timeout, time left)`` of the request's :class:`~tamizdat.transport.network.Deadline`,
and the time left is checked before each one, so a mirror that drips headers or a body one
byte at a time, or never answers, is cut off when the deadline passes — not when it stops
sending. A redirect is followed only within the mirror's own origin (scheme, host, port), at
most ``max_redirects`` times; the answer carries the URL its bytes came from. Bodies are
capped while streaming, after gzip decoding, never buffered past the cap. :meth:`close`
shuts every connection down, in-flight ones included (a hedged request that lost the race).
Only tamizdat errors escape.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import socket
import ssl
import threading
import zlib
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from tamizdat.errors import (
    MirrorResponseError,
    MirrorUnreachableError,
    OversizeError,
    TamizdatError,
    TransportError,
)
from tamizdat.transport.network import Deadline, NetworkLimits

__all__ = ["HttpAnswer", "HttpClient", "origin_of"]

_CHUNK = 64 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Mirrors and CDNs that compress JSON and HTML send less; every cap applies to decoded bytes.
_HEADERS = {"Accept-Encoding": "gzip", "User-Agent": "tamizdat"}
# A kept-alive connection the server closed meanwhile fails like this before any answer.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

Origin = tuple[str, str, int]


def origin_of(url: str) -> Origin:
    """(scheme, host, port) of ``url``, lower-cased, with the scheme's default port."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    default = 443 if scheme == "https" else 80
    return scheme, (parts.hostname or "").lower(), port or default


def _show(origin: Origin) -> str:
    return f"{origin[0]}://{origin[1]}:{origin[2]}"


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """One final answer: its status, the URL it came from, the body (200 only)."""

    status: int
    url: str
    body: bytes


class _Reader(io.RawIOBase):
    """The socket as http.client reads it: each receive bounded by the request's clock."""

    def __init__(self, connection: _Connection) -> None:
        self._connection = connection

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        conn = self._connection
        sock = conn.raw
        if sock is None:
            raise ConnectionResetError("connection closed")
        sock.settimeout(conn.clock.wait_limit(conn.read_timeout, "reading the answer"))
        count = sock.recv_into(buffer)
        conn.received += count
        return count


class _Socket:
    """What http.client sees as its socket: sends and reads bounded by the clock."""

    def __init__(self, connection: _Connection, sock: socket.socket) -> None:
        self._connection = connection
        self._sock = sock

    def makefile(self, mode: str, *args: object, **kwargs: object) -> io.BufferedReader:
        return io.BufferedReader(_Reader(self._connection), _CHUNK)

    def sendall(self, data: bytes) -> None:
        conn = self._connection
        # One timeout for the whole sendall: CPython applies a socket timeout to all of it.
        self._sock.settimeout(conn.clock.wait_limit(conn.read_timeout, "sending the request"))
        self._sock.sendall(data)

    def close(self) -> None:
        # http.client closes its socket as soon as it knows the server will close (before
        # the body is read): the connection closes the real socket once it is done with it.
        pass


class _Connection(http.client.HTTPConnection):
    """One kept-alive connection to the mirror's origin, on a clock set per request."""

    def __init__(
        self, host: str, port: int, tls: ssl.SSLContext | None, read_timeout: float
    ) -> None:
        super().__init__(host, port)
        self._tls = tls
        self.read_timeout = read_timeout
        self.clock = Deadline(None)
        self.raw: socket.socket | None = None
        self.received = 0
        self.requests = 0

    def connect(self) -> None:
        if self.raw is not None:  # http.client reconnects after it closed: drop the old one
            self.raw.close()
            self.raw = None
        limit = self.clock.wait_limit(self.read_timeout, "connecting")
        sock = socket.create_connection((self.host, self.port), timeout=limit)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                # CPython bounds the whole handshake by this one timeout (not each receive),
                # so a server dripping its handshake is cut off in time as well.
                sock.settimeout(self.clock.wait_limit(self.read_timeout, "TLS handshake"))
                sock = self._tls.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.raw = sock
        self.sock = _Socket(self, sock)

    def abort(self) -> None:
        """Unblock a receive in another thread: shut the socket down (close follows there)."""
        sock = self.raw
        if sock is not None:
            # The plain socket's shutdown: an SSL socket's would drop its TLS state under
            # the reading thread's feet.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def discard(self) -> None:
        """Close the connection and its socket for good."""
        self.close()
        sock, self.raw = self.raw, None
        if sock is not None:
            sock.close()


class HttpClient:
    """Bounded GETs to one origin, over at most ``connections`` kept-alive connections.

    ``wire_bytes`` counts response bodies as they arrived (compressed or not).
    """

    def __init__(
        self,
        base_url: str,
        *,
        limits: NetworkLimits,
        ca_file: str | None = None,
        connections: int = 1,
    ) -> None:
        self.origin = origin_of(base_url)
        self.limits = limits
        self.wire_bytes = 0
        self._tls: ssl.SSLContext | None = None
        if self.origin[0] == "https":
            self._tls = ssl.create_default_context(cafile=ca_file)
        self._idle: list[_Connection] = []
        self._busy: set[_Connection] = set()
        self._max_idle = max(1, connections)
        self._lock = threading.Lock()
        self._closed = False

    def close(self) -> None:
        """Close every connection; requests still running fail at once (as unreachable)."""
        with self._lock:
            self._closed = True
            idle, busy = list(self._idle), list(self._busy)
            self._idle.clear()
        for conn in busy:
            conn.abort()
        for conn in idle:
            conn.discard()

    def get(self, url: str, max_length: int, clock: Deadline) -> HttpAnswer:
        """GET ``url`` (already encoded), following same-origin redirects; body only for 200.

        Raises:
            MirrorResponseError: a redirect to another origin (naming both URLs), too many
                redirects, an unknown Content-Encoding or broken gzip.
            MirrorUnreachableError: connection, TLS or read failure, or the file's budget
                ran out. DeadlineError: the whole operation's deadline passed.
            OversizeError: a 200 body longer than ``max_length`` (after decoding).
        """
        asked = url
        for _ in range(self.limits.max_redirects + 1):
            status, location, body = self._request(url, max_length, clock)
            if status not in _REDIRECTS or location is None:
                return HttpAnswer(status, url, body)
            target = urljoin(url, location.strip())
            if origin_of(target) != self.origin:
                raise MirrorResponseError(
                    f"refusing the redirect from {url} to {target}: it leaves the mirror's "
                    f"origin {_show(self.origin)}",
                    where=url,
                    hint="a mirror must serve its files itself; use the URL it redirects "
                    "to as a mirror of its own if you trust it to be one",
                )
            url = target
        raise MirrorResponseError(
            f"expected at most {self.limits.max_redirects} redirects for {asked}, found more",
            where=url,
        )

    def _acquire(self) -> tuple[_Connection, bool]:
        with self._lock:
            if self._closed:
                raise MirrorUnreachableError("the mirror's connections were closed")
            conn = self._idle.pop() if self._idle else None
            reused = conn is not None
            if conn is None:
                port = self.origin[2]
                conn = _Connection(self.origin[1], port, self._tls, self.limits.read_timeout)
            self._busy.add(conn)
        return conn, reused

    def _release(self, conn: _Connection, keep: bool) -> None:
        with self._lock:
            self._busy.discard(conn)
            if keep and not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.discard()

    def _request(self, url: str, max_length: int, clock: Deadline) -> tuple[int, str | None, bytes]:
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        while True:
            conn, reused = self._acquire()
            conn.clock, conn.received = clock, 0
            keep = False
            try:
                conn.request("GET", target, headers=_HEADERS)
                response = conn.getresponse()
                body = b""
                if response.status == 200:
                    body = self._read_body(response, url, max_length)
                keep = response.status == 200 and not response.will_close
                return response.status, response.getheader("Location"), body
            except TamizdatError:
                raise
            except (OSError, http.client.HTTPException, ValueError) as exc:
                if reused and isinstance(exc, _STALE) and not conn.received:
                    continue  # the server dropped an idle connection: once more, on a new one
                raise self._failure(exc, url, clock) from None
            finally:
                self._release(conn, keep)

    def _failure(self, exc: BaseException, url: str, clock: Deadline) -> TransportError:
        if clock.passed:
            return clock.expired_error(f"GET {url}", where=url)
        if isinstance(exc, TimeoutError):
            return MirrorUnreachableError(
                f"no data from the mirror for {self.limits.read_timeout:g} s", where=url
            )
        if isinstance(exc, ssl.SSLError):
            return MirrorUnreachableError(f"TLS failure: {exc}", where=url)
        with self._lock:
            closed = self._closed
        if closed:
            return MirrorUnreachableError("the request was cancelled", where=url)
        return MirrorUnreachableError(f"cannot fetch: {exc!r}", where=url)

    def _read_body(self, response: http.client.HTTPResponse, url: str, max_length: int) -> bytes:
        encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip"):
            raise MirrorResponseError(
                f"expected a gzip or plain body, found Content-Encoding {encoding!r}", where=url
            )
        declared = response.getheader("Content-Length")
        # A compressed body's length says nothing about the decoded size: then only the
        # streamed, decoded count is capped.
        identity = encoding == "identity"
        if identity and declared and declared.isdigit() and int(declared) > max_length:
            raise _oversize(url, max_length)
        body = _Body(url, max_length, gzip=encoding != "identity")
        while chunk := response.read1(_CHUNK):
            with self._lock:
                self.wire_bytes += len(chunk)
            body.feed(chunk)
        response.close()  # read1 never closes a body it read to its length: done with it
        return body.finish()


def _oversize(url: str, max_length: int) -> OversizeError:
    return OversizeError(f"expected at most {max_length} bytes, found more", where=url)


class _Body:
    """A body being received: decoded (gzip) in bounded steps, capped at ``max_length``."""

    def __init__(self, url: str, max_length: int, *, gzip: bool) -> None:
        self.url = url
        self.max_length = max_length
        self.size = 0
        self.parts: list[bytes] = []
        self.decoder = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzip else None

    def _add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.size > self.max_length:
            raise _oversize(self.url, self.max_length)
        self.parts.append(piece)

    def feed(self, chunk: bytes) -> None:
        if self.decoder is None:
            self._add(chunk)
            return
        try:
            while chunk:
                # Never more than one byte past the cap per step: a gzip bomb stays small.
                piece = self.decoder.decompress(chunk, self.max_length + 1 - self.size)
                self._add(piece)
                chunk = self.decoder.unconsumed_tail
        except zlib.error as exc:
            raise MirrorResponseError(f"the gzip body is corrupt: {exc}", where=self.url) from None

    def finish(self) -> bytes:
        if self.decoder is not None and not self.decoder.eof:
            raise MirrorResponseError("the gzip body ends early", where=self.url)
        return b"".join(self.parts)
