"""A small signed site served from real loopback origins, for the service worker's e2e tests.

The origin and every mirror are HTTP servers on 127.0.0.1 (different ports: different
origins). Each server can be switched, while the browser runs, to misbehave the way a
censor or a hostile mirror does: answer 503, hang, freeze mid-body, alter HTML, go away.
Pages carry the theme's real status marker (``partials/verify-status.html``, rendered with
the real catalogs) and the real register script; ``/sw.js`` is what ``tamizdat build``
publishes (:func:`tamizdat.web.worker_script`), and every file is a signed target.

Invariant: mirrors send ``Access-Control-Allow-Origin: *`` (the worker fetches them
cross-origin) unless a test turns it off; nothing listens outside 127.0.0.1.
"""

from __future__ import annotations

import re
import shutil
import socket
import struct
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from support.tuf_release import Release, ReleaseFactory, mirror_list, new_key
from tamizdat.render.theme import Theme
from tamizdat.web import page_script, worker_script

__all__ = ["FORGED", "Origin", "SignedSite", "article_page"]

# What a tampering server writes into every HTML page it alters.
FORGED = "FORGED-BY-MIRROR"


class _Handler(SimpleHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def end_headers(self) -> None:
        if self.server.origin.cors:
            self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:
        origin = self.server.origin
        origin.requests.append(self.path)
        mode = origin.mode
        is_page = self.path.endswith((".html", "/"))
        if mode == "503":
            self.send_error(503)
        elif mode == "reset":
            # Abort the connection (RST), as a censor's middlebox does.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif mode == "hang":
            origin.stop.wait()
        elif mode == "freeze" and is_page:
            self._freeze()
        elif mode == "tamper" and is_page:
            self._tamper()
        else:
            super().do_GET()

    def _body(self) -> bytes | None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        return path.read_bytes() if path.is_file() else None

    def _tamper(self) -> None:
        body = self._body()
        if body is None:
            self.send_error(404)
            return
        # Into the headline (whatever its attributes), else before </body>: always altered.
        forged, count = re.subn(rb"(<h1[^>]*>)", rb"\1" + FORGED.encode() + b" ", body, count=1)
        if not count:
            forged = body.replace(b"</body>", f"<p>{FORGED}</p></body>".encode())
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(forged)))
        self.end_headers()
        self.wfile.write(forged)

    def _freeze(self) -> None:
        # Honest headers and the first half of the page, then nothing: a censor freezing the
        # connection mid-file (real ones do after about 16 KB; these pages are smaller).
        body = self._body() or b""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        # Hold the connection until the client gives up on it (the watchdog) or the test ends.
        self.connection.settimeout(0.2)
        while not self.server.origin.stop.is_set():
            try:
                if self.connection.recv(1) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        self.server.origin.abandoned.set()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    origin: Origin

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a reset or abandoned connection is what these servers are for


@dataclass
class Origin:
    """One HTTP origin on 127.0.0.1 serving ``root``; ``mode`` switches its behaviour."""

    root: Path
    cors: bool = True
    mode: str = "honest"  # honest | 503 | reset | hang | freeze | tamper
    requests: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    abandoned: threading.Event = field(default_factory=threading.Event)
    _server: _Server | None = None
    _url: str = ""

    def start(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        handler: Any = lambda *args: _Handler(*args, directory=str(self.root))  # noqa: E731
        server = _Server(("127.0.0.1", 0), handler)
        server.origin = self
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        self._server = server
        self._url = f"http://127.0.0.1:{server.server_address[1]}/"
        return self._url

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/`` (kept after :meth:`kill`: the address stays blocked)."""
        return self._url

    def kill(self) -> None:
        """Stop listening (connections are refused from now on, as for a blocked address)."""
        self.stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def article_page(title: str, body: str, lang: str, root: str, extra: str = "") -> bytes:
    """A page with the theme's real status marker (in ``lang``) and register script;
    ``extra`` names another partial of the theme to render into the page."""
    theme = Theme()
    context = {"nav": {"verify": f"{root}verify/"}, "root": root}
    marker = theme.render(lang, "partials/verify-status.html", context)
    if extra:
        body += theme.render(lang, extra, context)
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f'<link rel="stylesheet" href="{root}style.css"></head><body>{marker}'
        f'<h1>{title}</h1><div id="body">{body}</div>'
        f'<p><a id="next" href="{root}a2/">next</a></p>'
        f'<script src="{root}assets/tz-register.js" defer></script></body></html>'
    ).encode()


@dataclass
class SignedSite:
    """A publisher, its origin and mirrors; :meth:`publish` signs and places a release."""

    base: Path
    mirror_count: int = 2
    factory: ReleaseFactory = field(
        default_factory=lambda: ReleaseFactory(desks=[], root_keys=[new_key()], root_threshold=1)
    )
    origin: Origin = field(init=False)
    mirrors: list[Origin] = field(init=False)
    release: Release | None = None

    def __post_init__(self) -> None:
        self.origin = Origin(self.base / "origin")
        self.mirrors = [Origin(self.base / f"m{i}") for i in range(self.mirror_count)]
        for server in (self.origin, *self.mirrors):
            server.start()

    @property
    def servers(self) -> list[Origin]:
        return [self.origin, *self.mirrors]

    def files(
        self, edition: int, anchor: str | None = None, listed: int | None = None
    ) -> dict[str, bytes]:
        """Every file of the site (``anchor``: another fingerprint baked into sw.js;
        ``listed``: only the first so many mirrors in the signed mirror list)."""
        files = {
            "index.html": article_page("Home", f"home, edition {edition}", "en", ""),
            "a1/index.html": article_page("Статья один", f"отчёт, выпуск {edition}", "ru", "../"),
            "a2/index.html": article_page(
                "Article two", f"report two, edition {edition}", "en", "../"
            ),
            "a3/index.html": article_page(
                "Article three", f"report three, edition {edition}", "en", "../"
            ),
            "404.html": article_page("Not found", "no such page", "en", "/"),
            "mirrors/index.html": article_page(
                "Mirrors", " ".join(m.url for m in self.mirrors), "en", "../"
            ),
            "verify/index.html": article_page(
                "Check", "", "en", "../", "partials/verify-in-browser.html"
            ),
            "assets/tz-verify.js": page_script("tz-verify.js"),
            "style.css": b"body{font-family:serif}",
            "assets/tz-register.js": page_script("tz-register.js"),
            "assets/tz-ed25519.js": page_script("tz-ed25519.js"),
            "sw.js": worker_script(anchor or self.factory.fingerprint, self.origin.url),
        }
        files.update(mirror_list([m.url for m in self.mirrors[:listed]]))
        return files

    def publish(
        self,
        edition: int = 1,
        *,
        timestamp_expires: datetime | None = None,
        to: list[Origin] | None = None,
        anchor: str | None = None,
        listed: int | None = None,
    ) -> Release:
        """Sign release ``edition`` and write it to ``to`` (default: every server)."""
        self.release = self.factory.publish(
            self.files(edition, anchor, listed), timestamp_expires=timestamp_expires
        )
        for server in to if to is not None else self.servers:
            self.place(self.release, server)
        return self.release

    @staticmethod
    def place(release: Release, server: Origin) -> None:
        """Replace what ``server`` serves with ``release``."""
        if server.root.exists():
            shutil.rmtree(server.root)
        release.write(server.root)

    def close(self) -> None:
        for server in self.servers:
            server.kill()
