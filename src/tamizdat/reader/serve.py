"""Local servers over a reader's store: the reading UI, and nearby sharing as a mirror.

Invariant: both servers only ever send files of the store's current, verified release
(natural paths are hard links to verified objects; the share server adds the verified
metadata and by-hash objects). No request reaches outside the store, nothing is fetched from
the network, and every HTML page of the reading server carries a banner with the publisher
fingerprint, the release version and its age — with a warning when it is stale.
"""

from __future__ import annotations

import html
import logging
import mimetypes
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date, format_timedelta

from tamizdat.errors import TamperedError, UnsafeFileError
from tamizdat.reader.store import ReleaseInfo, Store
from tamizdat.trust.fingerprint import format_fingerprint

__all__ = ["Banner", "banner_html", "make_reading_server", "make_share_server"]

logger = logging.getLogger(__name__)

BANNER_CSS_PATH = "/.tamizdat-reader/banner.css"
_BANNER_CSS = (
    b".tamizdat-banner{font:14px/1.4 sans-serif;background:#eef4ee;color:#113;"
    b"border-bottom:1px solid #8a8;padding:.4em .8em}"
    b".tamizdat-banner.stale{background:#fff1d6;border-color:#c80}"
    b".tamizdat-banner code{font-size:12px;word-spacing:.2em}"
)
_BODY = re.compile(rb"<body\b[^>]*>", re.IGNORECASE)
_LANG = re.compile(rb"<html\b[^>]*\blang=[\"']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)", re.I)
_CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'"


@dataclass(frozen=True, slots=True)
class Banner:
    """What the reader is told about the page in front of them."""

    fingerprint: str
    version: int
    age: str
    published: datetime | None
    stale: bool


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def make_banner(info: ReleaseInfo, language: str, now: datetime | None = None) -> Banner:
    """The banner facts, with the age in ``language`` (Babel; English if unknown)."""
    now = now or datetime.now(UTC)
    published = _parse_time(info.published)
    since = published or _parse_time(info.verified_at) or now
    expires = _parse_time(info.expires)
    stale = info.stale or (expires is not None and expires <= now)
    try:
        locale = Locale.parse(language.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        locale = Locale.parse("en")
    age = format_timedelta(since - now, add_direction=True, locale=locale)
    return Banner(info.fingerprint, info.version, age, published, stale)


def banner_html(banner: Banner, language: str = "en") -> bytes:
    """The banner as an HTML fragment (no script, no inline style: CSP-safe)."""
    fingerprint = html.escape(format_fingerprint(banner.fingerprint))
    verb = "updated" if banner.published else "checked"
    text = f"Verified copy · release {banner.version} · {verb} {html.escape(banner.age)}"
    warning = ""
    if banner.stale:
        when = (
            format_date(banner.published, format="long", locale="en")
            if banner.published
            else "an unknown date"
        )
        warning = (
            f"<br><strong>Authentic, published {html.escape(when)}, possibly outdated.</strong> "
            "No newer release could be confirmed; sync again when you can."
        )
    css = "tamizdat-banner stale" if banner.stale else "tamizdat-banner"
    return (
        f'<link rel="stylesheet" href="{BANNER_CSS_PATH}">'
        f'<div class="{css}" role="status" lang="en">{text}<br>'
        f"Publisher fingerprint <code>{fingerprint}</code>{warning}</div>"
    ).encode()


def inject_banner(page: bytes, info: ReleaseInfo, now: datetime | None = None) -> bytes:
    """Insert the banner right after ``<body>`` (or at the top if there is none)."""
    match = _LANG.search(page[:4096])
    language = match.group(1).decode() if match else "en"
    fragment = banner_html(make_banner(info, language, now), language)
    body = _BODY.search(page)
    if body is None:
        return fragment + page
    return page[: body.end()] + fragment + page[body.end() :]


def _clean_path(raw: str) -> str | None:
    """The request path as a relative layout path, or None if it tries to leave the root."""
    path = unquote(urlsplit(raw).path)
    if "\x00" in path or "\\" in path:
        return None
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        return None
    relative = "/".join(parts)
    return relative + "/" if path.endswith("/") and relative else relative


class _Handler(BaseHTTPRequestHandler):
    server_version = "tamizdat-reader"
    sys_version = ""

    def __init__(self, *args: Any, store: Store, share: bool, **kwargs: Any) -> None:
        self.store = store
        self.share = share
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def do_GET(self) -> None:
        self._respond(head=False)

    def _read(self, path: str) -> tuple[str, bytes] | None:
        """The file's name and bytes: a regular file of the store, reached through no link
        (:meth:`Store.read`); a link, FIFO or device planted in the store is not served."""
        if path == "" or path.endswith("/"):
            path += "index.html"
        read = self.store.read if self.share else self.store.read_site
        for candidate in (path, f"{path}/index.html"):
            try:
                return candidate, read(candidate)
            except (FileNotFoundError, TamperedError):
                continue
            except UnsafeFileError as exc:
                logger.warning("not serving %s: %s", exc.where, exc.message)
                return None
        return None

    def _respond(self, *, head: bool) -> None:
        path = _clean_path(self.path)
        info = self.store.release
        if path is None or info is None:
            self._send(404, b"not found", "text/plain; charset=utf-8", head)
            return
        if not self.share and "/" + path == BANNER_CSS_PATH:
            self._send(200, _BANNER_CSS, "text/css; charset=utf-8", head)
            return
        found = self._read(path)
        if found is None:
            self._send(404, b"not found", "text/plain; charset=utf-8", head)
            return
        name, data = found
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind == "text/html" and not self.share:
            data = inject_banner(data, info)
        if kind.startswith("text/") or kind in ("application/json", "application/javascript"):
            kind += "; charset=utf-8"
        self._send(200, data, kind, head)

    def _send(self, status: int, data: bytes, kind: str, head: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        if self.share:
            # A mirror: any page (and later the service worker) may fetch from it.
            self.send_header("Access-Control-Allow-Origin", "*")
            self.send_header("Vary", "Origin")
        else:
            self.send_header("Content-Security-Policy", _CSP)
        self.end_headers()
        if not head:
            self.wfile.write(data)


def _server(store: Store, host: str, port: int, share: bool) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), partial(_Handler, store=store, share=share))
    server.daemon_threads = True
    return server


def make_reading_server(store: Store, port: int = 0) -> ThreadingHTTPServer:
    """The verified site with banners, on 127.0.0.1 only (``port`` 0 picks a free one)."""
    return _server(store, "127.0.0.1", port, share=False)


def make_share_server(store: Store, host: str = "0.0.0.0", port: int = 0) -> ThreadingHTTPServer:  # noqa: S104
    """The store as an ordinary mirror (the layout) for neighbours' readers to sync from."""
    return _server(store, host, port, share=True)


def server_url(server: ThreadingHTTPServer, public_host: str | None = None) -> str:
    """``http://HOST:PORT/`` of a running server (``public_host`` for 0.0.0.0 binds)."""
    host, port = server.server_address[:2]
    shown = public_host or str(host)
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"
