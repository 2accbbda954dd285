"""What every local HTTP server of tamizdat enforces: ``reader serve``, ``reader share``, ``serve``.

Invariant: a request gets content only if

1. its head (request line and headers) arrived whole, within the size caps and the head
   deadline (a slow or endless client is cut off; it never holds a thread for long);
2. its ``Host`` header is exactly one of the names this server is reachable by
   (``127.0.0.1:PORT``, ``localhost:PORT``, ``[::1]:PORT``, the address it was bound to or, for a
   wildcard bind, this machine's LAN address, and names the user allowed). A web page that
   rebinds its own DNS name to 127.0.0.1 still sends its own name: refused with 421;
3. no browser marks it as sent by another site: ``Sec-Fetch-Site: cross-site``/``same-site``
   (except a top-level navigation, whose result the other site cannot read) or an ``Origin``
   that is not one of ours: refused with 403, the same answer for every path, so a page
   cannot probe which files (which publisher) the store holds;
4. its method is GET or HEAD (everything else: 405) and its path is a clean relative path
   (no ``..``/``.`` segments, encoded or not, no backslash, NUL, control characters, empty
   segments or invalid UTF-8 such as overlong forms): otherwise 404.

Every response, content or refusal, carries :data:`SECURITY_HEADERS`; none carries
``Access-Control-Allow-Origin``. Why refuse cross-site requests when the ``Host`` check already
stops DNS rebinding: without it, any page the reader visits could still *send* requests to
127.0.0.1 and time or count the answers (200 or 404 per path tells which publisher is read);
browsers without ``Sec-Fetch-*`` still get ``Cross-Origin-Resource-Policy``, which withholds
the bytes from other sites.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import logging
import re
import socket
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import unquote_to_bytes

from tamizdat.errors import UserError
from tamizdat.site_policy import CSP, REFERRER

__all__ = [
    "LIMITS",
    "SECURITY_HEADERS",
    "GuardedRequestHandler",
    "LocalHTTPServer",
    "ServerLimits",
    "clean_path",
    "lan_addresses",
    "reachable_names",
    "server_url",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Caps on what one client may send and how long it may take."""

    max_request_line: int = 8192
    max_header_bytes: int = 16384
    max_headers: int = 64
    head_seconds: float = 10.0  # the whole request head, however slowly it drips
    io_seconds: float = 20.0  # any one read or write of 64 KiB
    max_connections: int = 64  # beyond this, new connections are closed at once
    chunk_bytes: int = 65536


LIMITS = ServerLimits()

# The built pages carry the same CSP as a <meta>; a header can add what a meta cannot
# (frame-ancestors). "no-store": a page read from the local copy is not kept again in the
# browser's cache, where it would tell which articles were opened (the store holds them all).
SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", f"{CSP}; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", REFERRER),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
)
_LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_WILDCARDS = ("", "0.0.0.0", "::")  # noqa: S104 - names to recognise, not to bind
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_ALLOWED_METHODS = ("GET", "HEAD")


def lan_addresses() -> tuple[str, ...]:
    """This machine's address on the local network (the route a LAN packet would take).

    No packet is sent: connecting a UDP socket only picks a route. Empty when offline.
    """
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        address = str(probe.getsockname()[0])
    except OSError:
        return ()
    finally:
        probe.close()
    return () if ipaddress.ip_address(address).is_loopback else (address,)


def _host_name(name: str) -> str:
    """``name`` as it appears in a Host header (IPv6 in brackets, lower case).

    Raises:
        UserError: not a host name or IP address.
    """
    bare = name.strip().lower().removeprefix("[").removesuffix("]")
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        if not _HOSTNAME.match(bare):
            raise UserError(
                f"expected a host name or IP address to allow, found {name!r}",
                hint="give the name without scheme, port or path, e.g. reader.local",
            ) from None
        return bare
    return f"[{address.compressed}]" if address.version == 6 else address.compressed


def reachable_names(host: str, port: int, extra: Iterable[str] = ()) -> frozenset[str]:
    """The exact ``Host`` values a server bound to ``host``:``port`` answers.

    Loopback names always; the bound address if it is a specific one, this machine's LAN
    address for a wildcard bind; and every name in ``extra`` (with this port).

    Raises:
        UserError: a name in ``extra`` is not a host name or IP address.
    """
    names = set(_LOOPBACK_NAMES)
    if host in _WILDCARDS:
        names.update(lan_addresses())
    else:
        names.add(_host_name(host))
    names.update(_host_name(name) for name in extra)
    allowed = {f"{name}:{port}" for name in names}
    if port == 80:  # browsers leave the default port out of Host
        allowed.update(names)
    return frozenset(allowed)


def server_url(server: ThreadingHTTPServer, public_host: str | None = None) -> str:
    """``http://HOST:PORT/`` of a running server (``public_host`` for wildcard binds)."""
    host, port = server.server_address[:2]
    shown = public_host or (host.decode() if isinstance(host, bytes) else str(host))
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def clean_path(target: str) -> str | None:
    """The request target as a relative path (``""``, ``a/b`` or ``a/``), or None if unsafe.

    Unsafe: not origin-form (must start with one ``/``), a fragment, invalid percent-decoding
    to UTF-8 (overlong forms included), NUL or any control character, a backslash, an empty,
    ``.``-only segment (``.``, ``..``, ``...``) anywhere, before or after decoding.
    """
    path = target.split("?", 1)[0]
    if not path.startswith("/") or "#" in path:
        return None
    try:
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in decoded):
        return None
    if decoded == "/":
        return ""
    parts = decoded[1:].split("/")
    directory = parts[-1] == ""
    if directory:
        parts.pop()
    if any(p.strip(".") == "" for p in parts):  # "", ".", "..", "..."
        return None
    return "/".join(parts) + ("/" if directory else "")


class _HeadRefusedError(Exception):
    """The request head broke a cap; answer ``status`` and close."""

    def __init__(self, status: HTTPStatus) -> None:
        super().__init__(status.phrase)
        self.status = status


class LocalHTTPServer(ThreadingHTTPServer):
    """A threading server with a connection cap and the set of names it answers to.

    Raises:
        OSError: the address cannot be bound (in use, not this machine's).
        UserError: a name in ``extra_names`` is not a host name or IP address.
    """

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: Any,
        *,
        extra_names: Iterable[str] = (),
        limits: ServerLimits = LIMITS,
    ) -> None:
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        extra = tuple(_host_name(name) for name in extra_names)  # fails before binding
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)
        self.allowed_hosts = reachable_names(address[0], int(self.server_address[1]), extra)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            # Full: close at once rather than queue; held slots free themselves within
            # head_seconds + io_seconds.
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class GuardedRequestHandler(BaseHTTPRequestHandler):
    """Reads one request within the limits, refuses what the module docstring lists.

    Subclasses implement ``do_GET``/``do_HEAD``; :attr:`relative_path` is the cleaned path.
    One request per connection (HTTP/1.0 semantics), so no idle keep-alive holds a slot.
    """

    server_version = "tamizdat"
    sys_version = ""
    relative_path = ""

    @property
    def limits(self) -> ServerLimits:
        return cast(LocalHTTPServer, self.server).limits

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.limits.io_seconds)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def end_headers(self) -> None:
        for name, value in SECURITY_HEADERS:
            self.send_header(name, value)
        super().end_headers()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """A short plain-text answer; never echoes what the client sent."""
        status = HTTPStatus(code)
        self.close_connection = True
        # http.server leaves out the status line and headers for HTTP/0.9 (also its
        # assumption for an unparsable request line): headers are what protects, keep them.
        if self.request_version == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        body = f"{status.value} {status.phrase}\n".encode()
        self.send_response(status.value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        if status is HTTPStatus.METHOD_NOT_ALLOWED:
            self.send_header("Allow", ", ".join(_ALLOWED_METHODS))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def write_body(self, data: bytes) -> None:
        """Send ``data`` in chunks, so the write timeout bounds each chunk, not the file."""
        view = memoryview(data)
        step = self.limits.chunk_bytes
        for start in range(0, len(view), step):
            self.wfile.write(view[start : start + step])

    def handle_one_request(self) -> None:
        self.close_connection = True
        watchdog = threading.Timer(self.limits.head_seconds, self._cut_off)
        watchdog.daemon = True
        watchdog.start()
        try:
            try:
                complete = self._read_head()
            finally:
                watchdog.cancel()
            if complete:
                self._dispatch()
                self.wfile.flush()
        except _HeadRefusedError as refused:
            self.requestline = self.command = ""
            self.request_version = "HTTP/1.0"
            with contextlib.suppress(OSError):
                self.send_error(refused.status)
        except OSError as error:  # timeouts, resets, a cut-off client: nobody to answer
            self.log_message("connection dropped: %s", type(error).__name__)

    def _cut_off(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _read_head(self) -> bool:
        """Read and parse the head; False if the client left (or was cut off) mid-way."""
        limits = self.limits
        line = self.rfile.readline(limits.max_request_line + 1)
        if len(line) > limits.max_request_line:
            raise _HeadRefusedError(HTTPStatus.REQUEST_URI_TOO_LONG)
        if not line.endswith(b"\n"):
            return False
        lines: list[bytes] = []
        size = 0
        while True:
            header = self.rfile.readline(limits.max_header_bytes - size + 1)
            size += len(header)
            if size > limits.max_header_bytes or len(lines) >= limits.max_headers:
                raise _HeadRefusedError(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE)
            if not header.endswith(b"\n"):
                return False
            lines.append(header)
            if header in (b"\r\n", b"\n"):
                break
        self.raw_requestline = line
        stream, self.rfile = self.rfile, io.BytesIO(b"".join(lines))
        try:
            return self.parse_request()  # answers 400/505 itself
        finally:
            self.rfile = stream

    def _dispatch(self) -> None:
        allowed = cast(LocalHTTPServer, self.server).allowed_hosts
        hosts = self.headers.get_all("Host") or []
        if len(hosts) != 1 or hosts[0].strip().lower() not in allowed:
            self.send_error(HTTPStatus.MISDIRECTED_REQUEST)
            return
        if _from_another_site(self.headers, allowed):
            self.send_error(HTTPStatus.FORBIDDEN)
            return
        if self.command not in _ALLOWED_METHODS:
            self.send_error(HTTPStatus.METHOD_NOT_ALLOWED)
            return
        path = clean_path(self.path)
        if path is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        self.relative_path = path
        getattr(self, "do_" + self.command)()


def _from_another_site(headers: Any, allowed: frozenset[str]) -> bool:
    site = (headers.get("Sec-Fetch-Site") or "").strip().lower()
    if site in ("cross-site", "same-site"):
        mode = (headers.get("Sec-Fetch-Mode") or "").strip().lower()
        dest = (headers.get("Sec-Fetch-Dest") or "").strip().lower()
        # A top-level navigation (a link the reader follows) shows the page to the reader
        # only: the other site gets no handle on it (Cross-Origin-Opener-Policy).
        if not (mode == "navigate" and dest == "document"):
            return True
    origins = headers.get_all("Origin") or []
    return any(origin.strip().lower() not in {f"http://{h}" for h in allowed} for origin in origins)
