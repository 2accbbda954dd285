"""HTTP/1.1 GETs from one mirror origin: every wait bounded, frozen connections resumed.

Invariant: no socket operation waits longer than ``min(limit, time left)`` of the request's
:class:`~tamizdat.transport.network.Deadline`, and the time left is checked before each one,
so a mirror that drips headers or a body one byte at a time, or never answers, is cut off
when the deadline passes — not when it stops sending. ``limit`` is ``connect_timeout`` for a
connect or TLS handshake, ``stall_timeout`` inside an answer (or before the answer on a
kept-alive connection), ``read_timeout`` otherwise. A connection that stalls mid-body is
taken as frozen by a censor (who freezes each connection after some bytes): the transfer
resumes on a fresh connection with ``Range`` and ``If-Range`` (only for a plain body with a
validator, so the pieces are one representation), every resumption must bring new bytes, and
once a freeze was seen the client asks in pieces small enough to pass. A redirect is followed
only within the mirror's origin (scheme, host, port), at most ``max_redirects`` times; the
answer carries the URL its bytes came from. Bodies are capped while streaming, after gzip
decoding, never buffered past the cap. :meth:`close` shuts every connection down, in-flight
ones included (a hedged request that lost the race). Only tamizdat errors escape; their
messages say in plain words what the mirror did, the raw error is logged (``-v``).
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import io
import logging
import re
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
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
# A connection that freezes before this many bytes is not a censor counting bytes.
_MIN_FREEZE = 2048

logger = logging.getLogger(__name__)

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


class _Stalled(Exception):  # noqa: N818 - internal signal, never escapes the client
    """No byte for ``stall_timeout`` on a connection: the client resumes on a fresh one."""


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
        limit = conn.clock.wait_limit(conn.wait, "reading the answer")
        sock.settimeout(limit)
        try:
            count = sock.recv_into(buffer)
        except TimeoutError:
            if conn.stall and limit >= conn.wait:
                raise _Stalled from None  # the pause, not the clock, ran out
            raise
        conn.received += count
        conn.total += count
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
        limit = conn.limits.read_timeout
        self._sock.settimeout(conn.clock.wait_limit(limit, "sending the request"))
        self._sock.sendall(data)

    def close(self) -> None:
        # http.client closes its socket as soon as it knows the server will close (before
        # the body is read): the connection closes the real socket once it is done with it.
        pass


def _connect_words(exc: OSError, limit: float) -> str:
    """What a failed connect says about the mirror, in plain words."""
    if isinstance(exc, socket.gaierror):
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
            return "its name does not exist in DNS (blocked by name?)"
        return "its name could not be looked up (no DNS answer)"
    if isinstance(exc, TimeoutError):
        return f"did not answer within {limit:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "refused the connection"
    if isinstance(exc, ConnectionResetError | ConnectionAbortedError):
        return "reset the connection"
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "cannot be reached (no route to it)"
    return f"cannot be connected to ({exc.strerror or type(exc).__name__})"


def _tls_words(exc: OSError, limit: float) -> str:
    """What a failed TLS handshake says about the mirror, in plain words."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return "presented a certificate that is not valid for its name (a look-alike server?)"
    if isinstance(exc, TimeoutError):
        return f"did not complete the secure (TLS) handshake within {limit:g} s"
    if isinstance(exc, ConnectionResetError | ConnectionAbortedError | BrokenPipeError):
        return "cut the connection during the secure (TLS) handshake"
    if isinstance(exc, ssl.SSLError):
        return "failed the secure (TLS) handshake"
    return _connect_words(exc, limit)


class _Connection(http.client.HTTPConnection):
    """One kept-alive connection to the mirror's origin, on a clock set per request.

    ``wait`` bounds the next receive; ``stall`` says whether running out of it means the
    connection froze (resume elsewhere) rather than that the mirror is unreachable.
    ``total`` counts the bytes received since it connected.
    """

    def __init__(
        self, host: str, port: int, tls: ssl.SSLContext | None, limits: NetworkLimits
    ) -> None:
        super().__init__(host, port)
        self._tls = tls
        self.limits = limits
        self.clock = Deadline(None)
        self.raw: socket.socket | None = None
        self.received = 0
        self.total = 0
        self.wait = limits.read_timeout
        self.stall = False

    def connect(self) -> None:
        if self.raw is not None:  # http.client reconnects after it closed: drop the old one
            self.raw.close()
            self.raw = None
        self.total = 0
        limit = self.clock.wait_limit(
            min(self.limits.connect_timeout, self.limits.read_timeout), "connecting"
        )
        try:
            sock = socket.create_connection((self.host, self.port), timeout=limit)
        except OSError as exc:
            raise self._unreachable(_connect_words(exc, limit), exc) from None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls is not None:
                # CPython bounds the whole handshake by this one timeout (not each receive),
                # so a server dripping its handshake is cut off in time as well.
                limit = self.clock.wait_limit(
                    min(self.limits.connect_timeout, self.limits.read_timeout), "TLS handshake"
                )
                sock.settimeout(limit)
                try:
                    sock = self._tls.wrap_socket(sock, server_hostname=self.host)
                except OSError as exc:
                    raise self._unreachable(_tls_words(exc, limit), exc) from None
        except BaseException:
            sock.close()
            raise
        self.raw = sock
        self.sock = _Socket(self, sock)

    def _unreachable(self, words: str, exc: BaseException) -> TransportError:
        where = f"{'https' if self._tls else 'http'}://{self.host}:{self.port}"
        if self.clock.passed:
            return self.clock.expired_error("connecting", where=where)
        logger.info("%s %s: %r", where, words, exc)  # the raw error, for -v
        return MirrorUnreachableError(words, where=where)

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


@dataclass(frozen=True, slots=True)
class _Piece:
    """What one request brought: the status, and for 200/206 the body (whole or cut off)."""

    status: int
    location: str | None
    body: bytes = b""
    complete: bool = True
    plain: bool = True  # no Content-Encoding: bytes of the file itself, resumable
    validator: str | None = None  # a strong ETag or Last-Modified, for If-Range
    content_range: str | None = None


def _validator(response: http.client.HTTPResponse) -> str | None:
    etag = response.getheader("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return response.getheader("Last-Modified")


def _content_range(value: str | None, url: str) -> tuple[int, int]:
    """(first byte, full length) of a 206 answer's ``Content-Range: bytes A-B/N``."""
    found = _CONTENT_RANGE.match((value or "").strip())
    if found is None:
        raise MirrorResponseError(
            f"expected a Content-Range 'bytes A-B/N' with a partial answer, found {value!r}",
            where=url,
        )
    return int(found.group(1)), int(found.group(3))


class HttpClient:
    """Bounded GETs to one origin, over at most ``connections`` kept-alive connections.

    ``wire_bytes`` counts response bodies as they arrived (compressed or not). Once a
    connection to this origin froze after some bytes (``freeze_after``), every request goes
    on a fresh connection for a piece of half that size.
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
        self.freeze_after: int | None = None
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
                redirects, an unknown Content-Encoding or broken gzip, a wrong partial answer.
            MirrorUnreachableError: connection, TLS or read failure, a frozen transfer that
                cannot resume, or the file's budget ran out. DeadlineError: the whole
                operation's deadline passed.
            OversizeError: a 200 body longer than ``max_length`` (after decoding).
        """
        asked = url
        for _ in range(self.limits.max_redirects + 1):
            status, location, body = self._fetch(url, max_length, clock)
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

    def _learn_freeze(self, total: int) -> None:
        """A connection froze after ``total`` bytes: ask in pieces that pass from now on."""
        if total >= _MIN_FREEZE:
            with self._lock:
                self.freeze_after = min(self.freeze_after or total, total)

    def _range(self, start: int, validator: str | None) -> dict[str, str] | None:
        """Headers asking for the file from ``start`` (None: ask for the whole file)."""
        with self._lock:
            freeze = self.freeze_after
        if start == 0 and freeze is None:
            return None
        end = "" if freeze is None else str(start + max(1024, freeze // 2) - 1)
        headers = {**_HEADERS, "Accept-Encoding": "identity", "Range": f"bytes={start}-{end}"}
        if validator:
            headers["If-Range"] = validator
        return headers

    def _fetch(self, url: str, max_length: int, clock: Deadline) -> tuple[int, str | None, bytes]:
        """One URL; a body cut off by a frozen connection is resumed on a fresh one."""
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        data = bytearray()  # grows piece by piece (a bytes object would be copied each time)
        size: int | None = None  # the file's full length, once an answer said it
        validator: str | None = None
        fruitless = 0  # resumptions in a row that brought no new byte
        for _ in range(self.limits.max_pieces):
            start = len(data)
            ranged = self._range(start, validator)
            piece = self._exchange(target, url, ranged or _HEADERS, start, max_length, clock)
            before = len(data)
            if piece.status == 206 and ranged is not None:
                first, size = _content_range(piece.content_range, url)
                if first != start or start + len(piece.body) > size:
                    raise MirrorResponseError(
                        f"asked for bytes from {start}, found an answer for {piece.content_range}",
                        where=url,
                    )
                if size > max_length:
                    raise _oversize(url, max_length)
                data += piece.body
            elif piece.status == 200:
                data = bytearray(piece.body)  # the whole file (again): the range was ignored
                size = len(data) if piece.complete else None
                validator = piece.validator
            elif not (piece.status == 416 and size is not None and start == size):
                return piece.status, piece.location, b""
            validator = validator or piece.validator
            if size is not None and len(data) >= size:
                return 200, None, bytes(data)
            progress = piece.plain and len(data) > before
            if piece.complete and piece.status == 206 and progress:
                continue  # one piece of several: ask for the next
            fruitless = 0 if progress else fruitless + 1
            if not piece.plain:
                data = bytearray()  # compressed bytes cannot be resumed: again, plain, in pieces
            if fruitless >= 2 or (piece.plain and validator is None):
                logger.info("%s: stopped at byte %d of %s", url, len(data), size or "?")
                raise MirrorUnreachableError(
                    "stopped sending in the middle of a file, and resuming brought nothing"
                    if validator
                    else "stopped sending in the middle of a file, and offers no way to resume",
                    where=url,
                )
        raise MirrorUnreachableError(
            f"froze so often that {self.limits.max_pieces} requests did not bring the whole file",
            where=url,
        )

    def _acquire(self, *, fresh: bool) -> tuple[_Connection, bool]:
        with self._lock:
            if self._closed:
                raise MirrorUnreachableError("the mirror's connections were closed")
            conn = self._idle.pop() if self._idle and not fresh else None
            reused = conn is not None
            if conn is None:
                port = self.origin[2]
                conn = _Connection(self.origin[1], port, self._tls, self.limits)
            self._busy.add(conn)
        return conn, reused

    def _release(self, conn: _Connection, keep: bool) -> None:
        with self._lock:
            self._busy.discard(conn)
            if keep and not self._closed and len(self._idle) < self._max_idle:
                self._idle.append(conn)
                return
        conn.discard()

    def _exchange(
        self,
        target: str,
        url: str,
        headers: dict[str, str],
        start: int,
        max_length: int,
        clock: Deadline,
    ) -> _Piece:
        """One request on one connection: a kept-alive one if it still answers, else fresh."""
        fresh = self.freeze_after is not None  # connections freeze: each carries one piece
        while True:
            conn, reused = self._acquire(fresh=fresh)
            conn.clock, conn.received = clock, 0
            # A kept-alive connection may be frozen: give it a pause's time, not a timeout's.
            conn.wait, conn.stall = (
                (self.limits.stall_timeout, True) if reused else (self.limits.read_timeout, False)
            )
            keep = False
            try:
                conn.request("GET", target, headers=headers)
                response = conn.getresponse()
                conn.wait, conn.stall = self.limits.stall_timeout, True
                piece = self._read_piece(conn, response, url, start, max_length)
                keep = piece.complete and not response.will_close and piece.status in (200, 206)
                return piece
            except _Stalled:
                self._learn_freeze(conn.total)
                fresh = True  # the kept-alive connection froze: once more on a fresh one
            except TamizdatError:
                raise
            except (OSError, http.client.HTTPException, ValueError) as exc:
                if not (reused and isinstance(exc, _STALE) and not conn.received):
                    raise self._failure(exc, url, clock) from None
                fresh = True  # the server dropped an idle connection: once more, on a new one
            finally:
                self._release(conn, keep and self.freeze_after is None)

    def _failure(self, exc: BaseException, url: str, clock: Deadline) -> TransportError:
        if clock.passed:
            return clock.expired_error(f"GET {url}", where=url)
        with self._lock:
            closed = self._closed
        if closed:
            return MirrorUnreachableError("the request was cancelled", where=url)
        if isinstance(exc, TimeoutError):
            words = f"stopped answering for {self.limits.read_timeout:g} s"
        elif isinstance(exc, ssl.SSLError):
            words = "broke the secure (TLS) connection"
        elif isinstance(exc, ConnectionResetError | BrokenPipeError):
            words = "cut the connection (reset)"
        else:
            words = "broke the connection"
        logger.info("%s: %s: %r", url, words, exc)  # the raw error, for -v
        return MirrorUnreachableError(words, where=url)

    def _read_piece(
        self,
        conn: _Connection,
        response: http.client.HTTPResponse,
        url: str,
        start: int,
        max_length: int,
    ) -> _Piece:
        status, location = response.status, response.getheader("Location")
        if status not in (200, 206):
            return _Piece(status, location)
        encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding not in ("identity", "gzip", "x-gzip"):
            raise MirrorResponseError(
                f"expected a gzip or plain body, found Content-Encoding {encoding!r}", where=url
            )
        cap = max_length - start if status == 206 else max_length
        declared = response.getheader("Content-Length")
        length = int(declared) if declared and declared.isdigit() else None
        # A compressed body's length says nothing about the decoded size: then only the
        # streamed, decoded count is capped.
        plain = encoding == "identity"
        if plain and length is not None and length > cap:
            raise _oversize(url, max_length)
        body = _Body(url, cap, gzip=not plain)
        complete = True
        try:
            while chunk := response.read1(_CHUNK):
                with self._lock:
                    self.wire_bytes += len(chunk)
                body.feed(chunk)
        except _Stalled:
            self._learn_freeze(conn.total)
            complete = False
        if complete:
            response.close()  # read1 never closes a body it read to its length: done with it
            # A plain body shorter than announced: the connection ended early (resumable).
            complete = not plain or length is None or body.size >= length
        return _Piece(
            status,
            location,
            body.finish() if complete else body.partial(),
            complete,
            plain,
            _validator(response),
            response.getheader("Content-Range"),
        )


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

    def partial(self) -> bytes:
        """What arrived so far (decoded), for a body cut off mid-way."""
        return b"".join(self.parts)

    def finish(self) -> bytes:
        if self.decoder is not None and not self.decoder.eof:
            raise MirrorResponseError("the gzip body ends early", where=self.url)
        return b"".join(self.parts)
