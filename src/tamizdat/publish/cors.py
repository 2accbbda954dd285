"""Cross-origin reads: what a mirror must answer so the browser worker on *another* mirror's
origin may fetch from it, how a store is told so, and how ``mirrors check`` asks.

Invariant: a mirror is reported as allowing cross-origin reads only when its public URL
answered a GET carrying an ``Origin`` with ``Access-Control-Allow-Origin: *`` (or that very
origin echoed back). What a store's management API accepted is a *setting*, not proof: a CDN
in front of a bucket may strip the header, so only the probe of the public URL counts. The
probe reads headers only, at most :data:`MAX_HEADER_BYTES`, and never waits past its
deadline in total (a mirror that drips its headers one byte at a time is cut off).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from tamizdat.errors import MirrorResponseError, MirrorUnreachableError
from tamizdat.layout import METADATA_DIR

__all__ = [
    "BUCKET_CORS_RULES",
    "MAX_HEADER_BYTES",
    "PROBE_ORIGIN",
    "CorsOutcome",
    "CorsState",
    "CrossOriginAnswer",
    "probe_cross_origin",
]

# What publish asks an S3 bucket for: any origin may GET/HEAD (the worker runs on every
# mirror's origin, and the signed content is public anyway); nothing may write. TUF clients
# send no custom headers, so no preflight is needed beyond the defaults.
BUCKET_CORS_RULES: dict[str, list[dict[str, object]]] = {
    "CORSRules": [
        {
            "AllowedOrigins": ["*"],
            "AllowedMethods": ["GET", "HEAD"],
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["Content-Length", "Content-Type", "ETag"],
            "MaxAgeSeconds": 86400,
        }
    ]
}

CorsState = Literal["set", "server-sends", "unsupported", "web-server"]


@dataclass(frozen=True, slots=True)
class CorsOutcome:
    """What a store did about cross-origin reads during publish.

    ``set``: the store accepted and confirmed the rule. ``server-sends``: the store has no
    such setting but its answers already carry the header. ``unsupported``: neither; readers'
    browsers on other origins cannot fetch from it. ``web-server``: files only — the web
    server in front decides (see ``tamizdat mirrors headers``).
    """

    state: CorsState
    detail: str

    @property
    def needs_attention(self) -> bool:
        return self.state == "unsupported"


# An origin that can never be a real site (RFC 6761 .invalid): a server that echoes it back
# echoes any origin, which is as good as "*".
PROBE_ORIGIN = "https://tamizdat-cors-check.invalid"
MAX_HEADER_BYTES = 32 * 1024
PROBE_PATH = f"{METADATA_DIR}/timestamp.json"


@dataclass(frozen=True, slots=True)
class CrossOriginAnswer:
    """The status and ``Access-Control-Allow-Origin`` of one answer to a cross-origin GET."""

    url: str
    status: int
    allow_origin: str | None

    @property
    def allowed(self) -> bool:
        return self.allow_origin is not None and self.allow_origin.strip() in ("*", PROBE_ORIGIN)

    def problem(self) -> str | None:
        """Why a browser on another origin could not read this answer, or None if it could."""
        if self.allowed:
            return None
        if self.allow_origin is None:
            return "sends no Access-Control-Allow-Origin header"
        return f"sends Access-Control-Allow-Origin {self.allow_origin.strip()[:80]!r}, not '*'"


def probe_cross_origin(
    public_url: str, *, timeout: float, ca_file: str | None = None
) -> CrossOriginAnswer:
    """GET the mirror's ``timestamp.json`` as a browser on another origin would; headers only.

    Raises:
        MirrorUnreachableError: no connection, TLS failure, or no full header within
            ``timeout`` seconds in total.
        MirrorResponseError: not an HTTP answer, or headers longer than MAX_HEADER_BYTES.
    """
    url = public_url.rstrip("/") + "/" + PROBE_PATH
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise MirrorResponseError(f"expected an http(s) URL, found {public_url!r}", where=url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host_header = parts.netloc.rpartition("@")[2]
    request = (
        f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host_header}\r\nOrigin: {PROBE_ORIGIN}\r\n"
        "User-Agent: tamizdat\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    ).encode("ascii", "strict")
    deadline = time.monotonic() + timeout
    try:
        with contextlib.ExitStack() as stack:
            sock = stack.enter_context(socket.create_connection((parts.hostname, port), timeout))
            if parts.scheme == "https":
                context = ssl.create_default_context(cafile=ca_file)
                # the TLS socket takes the connection over: it is the one to close
                sock = stack.enter_context(
                    context.wrap_socket(sock, server_hostname=parts.hostname)
                )
            sock.sendall(request)
            head = _read_head(sock, deadline, url)
    except (OSError, ssl.SSLError) as exc:
        raise MirrorUnreachableError(
            f"cannot ask for cross-origin headers: {exc!r}", where=url
        ) from None
    return _parse_head(head, url)


def _read_head(sock: socket.socket, deadline: float, url: str) -> bytes:
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        left = deadline - time.monotonic()
        if left <= 0:
            raise MirrorUnreachableError("no complete answer header in time", where=url)
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            break
        buffer += chunk
        if len(buffer) > MAX_HEADER_BYTES and b"\r\n\r\n" not in buffer[:MAX_HEADER_BYTES]:
            raise MirrorResponseError(
                f"expected answer headers under {MAX_HEADER_BYTES} bytes, found more", where=url
            )
    return buffer.partition(b"\r\n\r\n")[0]


def _parse_head(head: bytes, url: str) -> CrossOriginAnswer:
    lines = head.decode("latin-1").split("\r\n")
    status_line = lines[0].split(" ", 2)
    if (
        len(status_line) < 2
        or not status_line[0].startswith("HTTP/")
        or not (status_line[1].isdigit())
    ):
        raise MirrorResponseError(f"expected an HTTP answer, found {lines[0][:80]!r}", where=url)
    allow: str | None = None
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "access-control-allow-origin":
            allow = value.strip() if allow is None else f"{allow}, {value.strip()}"
    return CrossOriginAnswer(url=url, status=int(status_line[1]), allow_origin=allow)
