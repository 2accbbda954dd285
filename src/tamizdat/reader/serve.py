"""Local servers over a reader's store: the reading UI, and nearby sharing as a mirror.

Invariant: both servers only ever send files of the store's current, verified release
(natural paths are hard links to verified objects; the share server adds the verified
metadata and by-hash objects). No request reaches outside the store, nothing is fetched from
the network, requests are screened as :mod:`tamizdat.local_http` says (Host, other sites,
methods, paths, sizes, deadlines; security headers on every answer; no CORS), the share
server listens on loopback unless the reader asks for the LAN, and every HTML page of the
reading server carries a banner with the publisher fingerprint, the release version and its
age — with a warning when it is stale.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import mimetypes
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from babel.core import Locale, UnknownLocaleError
from babel.dates import format_date, format_timedelta

from tamizdat.catalogs import accepted_languages, catalog_languages, translations_for
from tamizdat.errors import TamperedError, UnsafeFileError, UserError
from tamizdat.fingerprint import format_fingerprint
from tamizdat.local_http import (
    LIMITS,
    GuardedRequestHandler,
    LocalHTTPServer,
    ServerLimits,
    server_url,
)
from tamizdat.reader.store import ReleaseInfo, Store

__all__ = [
    "Banner",
    "banner_html",
    "make_reading_server",
    "make_share_server",
    "server_url",
    "share_address",
]

logger = logging.getLogger(__name__)

BANNER_CSS_PATH = "/.tamizdat-reader/banner.css"
_BANNER_CSS = (
    b".tamizdat-banner{font:14px/1.4 sans-serif;background:#eef4ee;color:#113;"
    b"border-bottom:1px solid #8a8;padding:.4em .8em}"
    b".tamizdat-banner.stale{background:#fff1d6;border-color:#c80}"
    b".tamizdat-banner code{font-size:12px;word-spacing:.2em}"
)
_LANGUAGE_DIR = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8}){0,3}$")
_BODY = re.compile(rb"<body\b[^>]*>", re.IGNORECASE)
_LANG = re.compile(rb"<html\b[^>]*\blang=[\"']?([A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)", re.I)


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
    """The banner as an HTML fragment (no script, no inline style: CSP-safe), in
    ``language`` (the shared catalogs; English where there is none)."""
    # The page's own language when a catalog speaks it, else English: the lang attribute
    # says which one the words are in (and only shipped catalogs are ever compiled).
    base = language.split("-")[0].lower()
    language = base if base in catalog_languages() else "en"
    _ = translations_for(language).gettext
    locale = Locale.parse(language)
    fingerprint = html.escape(format_fingerprint(banner.fingerprint))
    if banner.published:
        line = _("Verified copy · release %(version)s · updated %(age)s")
    else:
        line = _("Verified copy · release %(version)s · checked %(age)s")
    text = html.escape(line % {"version": banner.version, "age": banner.age})
    warning = ""
    if banner.stale:
        when = (
            format_date(banner.published, format="long", locale=locale)
            if banner.published
            else _("an unknown date")
        )
        stale = _("Authentic, published %(date)s, possibly outdated.") % {"date": when}
        advice = _("No newer release could be confirmed; sync again when you can.")
        warning = f"<br><strong>{html.escape(stale)}</strong> {html.escape(advice)}"
    css = "tamizdat-banner stale" if banner.stale else "tamizdat-banner"
    lang = html.escape(language, quote=True)
    return (
        f'<link rel="stylesheet" href="{BANNER_CSS_PATH}">'
        f'<div class="{css}" role="status" lang="{lang}">{text}<br>'
        f"{html.escape(_('Publisher fingerprint'))} <code>{fingerprint}</code>{warning}</div>"
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


class _Handler(GuardedRequestHandler):
    """The store's files (see :mod:`tamizdat.local_http` for what is refused first)."""

    server_version = "tamizdat-reader"

    def __init__(self, *args: Any, store: Store, share: bool, **kwargs: Any) -> None:
        self.store = store
        self.share = share
        super().__init__(*args, **kwargs)

    def do_HEAD(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._respond(head=True)

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
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
        path = self.relative_path
        info = self.store.release
        if info is None:
            self.send_error(404)
            return
        if not self.share and "/" + path == BANNER_CSS_PATH:
            self._send(_BANNER_CSS, "text/css; charset=utf-8", head)
            return
        if not self.share and path == "" and self._to_preferred_language(head):
            return
        found = self._read(path)
        if found is None:
            self._not_found(path, info, head)
            return
        name, data = found
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if kind == "text/html" and not self.share:
            data = inject_banner(data, info)
        if kind.startswith("text/") or kind in ("application/json", "application/javascript"):
            kind += "; charset=utf-8"
        self._send(data, kind, head)

    def _has_page(self, path: str) -> bool:
        try:
            self.store.read_site(path)
        except (FileNotFoundError, TamperedError, UnsafeFileError):
            return False
        return True

    def _to_preferred_language(self, head: bool) -> bool:
        """Redirect the root to the home page in the browser's language, when the site has
        one (``Accept-Language``); False leaves the root page, which greets in all."""
        for lang in accepted_languages(self.headers.get("Accept-Language")):
            if self._has_page(f"{lang}/index.html"):
                self.send_response(302)
                self.send_header("Location", f"/{lang}/index.html")
                self.send_header("Vary", "Accept-Language")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True
        return False

    def _not_found(self, path: str, info: ReleaseInfo, head: bool) -> None:
        """The site's own 404 page (the missing address's language, else the browser's,
        else the one in every language), with the banner; a bare 404 when sharing."""
        if not self.share:
            first = path.split("/", 1)[0]
            wanted = [first, *accepted_languages(self.headers.get("Accept-Language"))]
            names = [f"{lang}/404.html" for lang in wanted if _LANGUAGE_DIR.match(lang)]
            for name in [*names, "404.html"]:
                found = self._read(name)
                if found is not None:
                    data = inject_banner(found[1], info)
                    self.send_response(404)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if not head:
                        self.write_body(data)
                    return
        self.send_error(404)

    def _send(self, data: bytes, kind: str, head: bool) -> None:
        # No Access-Control-Allow-Origin, even when sharing: tamizdat readers syncing from
        # a share are not browsers and need none; any header here would let every page the
        # reader visits read the store (and so learn which publisher they follow).
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.write_body(data)


def _server(
    store: Store, host: str, port: int, share: bool, names: Iterable[str], limits: ServerLimits
) -> LocalHTTPServer:
    handler = partial(_Handler, store=store, share=share)
    return LocalHTTPServer((host, port), handler, extra_names=names, limits=limits)


def make_reading_server(
    store: Store, port: int = 0, *, names: Iterable[str] = (), limits: ServerLimits = LIMITS
) -> LocalHTTPServer:
    """The verified site with banners, on 127.0.0.1 only (``port`` 0 picks a free one).

    ``names``: host names besides the loopback ones the reader opens it by.

    Raises:
        OSError: the port cannot be bound.
        UserError: a name is not a host name or IP address.
    """
    return _server(store, "127.0.0.1", port, False, names, limits)


def share_address(*, lan: bool, bind: str | None) -> str:
    """Where ``reader share`` listens: loopback unless ``lan``; all IPv4 interfaces with ``lan``.

    Raises:
        UserError: ``bind`` is not an IP address, or is not a loopback one without ``lan``.
    """
    if bind is None:
        return "0.0.0.0" if lan else "127.0.0.1"  # noqa: S104 - the LAN share, asked for
    try:
        address = ipaddress.ip_address(bind.removeprefix("[").removesuffix("]"))
    except ValueError:
        raise UserError(
            f"expected an IP address to listen on, found {bind!r}", hint="e.g. --bind 192.168.1.20"
        ) from None
    if not lan and not address.is_loopback:
        raise UserError(
            f"listening on {bind} would share the store beyond this device",
            hint="add --lan to share on the local network on purpose",
        )
    return address.compressed


def make_share_server(
    store: Store,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    names: Iterable[str] = (),
    limits: ServerLimits = LIMITS,
) -> LocalHTTPServer:
    """The store as an ordinary mirror (the layout) for other readers to sync from.

    Loopback by default; pass a LAN or wildcard ``host`` (see :func:`share_address`) to share
    with the network. No CORS: tamizdat clients need none (see :meth:`_Handler._send`).

    Raises:
        OSError: the address cannot be bound.
        UserError: a name is not a host name or IP address.
    """
    return _server(store, host, port, True, names, limits)
