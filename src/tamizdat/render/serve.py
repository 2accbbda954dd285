"""``tamizdat serve``: a local preview of public/ that rebuilds when the sources change.

Invariant: the server only ever shows a complete build. Rebuilds go through the atomic
build (:mod:`tamizdat.render.output`), so a request sees the old tree or the new one; a
failed rebuild is reported and the last good build keeps being served. It listens on the
loopback interface unless told otherwise, lists no directories, and screens requests like
every local server (:mod:`tamizdat.local_http`: Host, other sites, methods, paths, sizes,
deadlines), sending the site's Content-Security-Policy as a header too (a header can say
``frame-ancestors``; a meta can't) with the other security headers. Unpublished drafts
(``--drafts``) are thus as closed to other web pages as the rest of the preview.
"""

from __future__ import annotations

import http.server
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from tamizdat.catalogs import preferred_language
from tamizdat.config import Config
from tamizdat.errors import TamizdatError, UnsafeFileError
from tamizdat.files import open_below, read_regular
from tamizdat.local_http import LIMITS as HTTP_LIMITS
from tamizdat.local_http import GuardedRequestHandler, LocalHTTPServer, ServerLimits

__all__ = ["PreviewServer", "ServeLimits", "source_state"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServeLimits:
    """How often to look for changes, and how long to wait for the server to stop."""

    poll_seconds: float = 0.5
    shutdown_seconds: float = 5.0


LIMITS = ServeLimits()

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
}


class _Handler(GuardedRequestHandler, http.server.SimpleHTTPRequestHandler):
    """Static files from the output folder, screened and headed as in :mod:`tamizdat.local_http`."""

    extensions_map = {  # noqa: RUF012 - the base class declares it this way
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        **_TYPES,
    }

    def send_head(self) -> Any:
        """The base class's answer, once the file proved a regular file reached through no
        link below the folder (:func:`tamizdat.files.open_below`): a link, FIFO or device
        planted in the output folder is a 404, never followed, never a hung request.

        The root address goes to the language the browser asks for (``Accept-Language``),
        when the site has it; otherwise the root page lets the reader choose."""
        if self.path.split("?", 1)[0] == "/":
            lang = preferred_language(self.headers.get("Accept-Language"), self._languages())
            if lang is not None:
                self.send_response(302)
                self.send_header("Location", f"/{lang}/index.html")
                self.send_header("Vary", "Accept-Language")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
        path = self.translate_path(self.path)
        if os.path.isdir(path):  # noqa: PTH112 - the base class works on strings
            path = os.path.join(path, "index.html")  # noqa: PTH118
        relative = Path(os.path.relpath(path, self.directory)).as_posix()
        if relative != "." and not relative.startswith("../"):
            try:
                open_below(self.directory, relative).close()
            except UnsafeFileError as exc:
                log.warning("not serving %s: %s", relative, exc.message)
                self._not_found()
                return None
            except OSError:
                pass  # missing: the base class answers as usual
        return super().send_head()

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self._not_found()
        return

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code == 404:
            self._not_found()
            return
        super().send_error(code, message, explain)

    def _languages(self) -> list[str]:
        """The site's languages: the top folders with their own 404 page."""
        return sorted(p.parent.name for p in Path(self.directory).glob("*/404.html"))

    def _not_found(self) -> None:
        """The 404 page in the language of the missing address's first folder, else the
        browser's, else the site-wide one that speaks every language."""
        languages = self._languages()
        first = self.path.lstrip("/").split("/", 1)[0]
        lang = first if first in languages else None
        lang = lang or preferred_language(self.headers.get("Accept-Language"), languages)
        body = b"<h1>Not found</h1>"
        for name in ([f"{lang}/404.html"] if lang else []) + ["404.html"]:
            try:
                body = read_regular(Path(self.directory) / name)
                break
            except (OSError, UnsafeFileError):
                continue
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def source_state(config: Config) -> dict[str, tuple[int, int]]:
    """(mtime, size) of every file a build reads: content, static, theme, data, config."""
    state: dict[str, tuple[int, int]] = {}
    build = config.build
    skip = {build.output_dir, build.cache_dir}
    folders = [build.content_dir, *build.static_dirs, build.theme_dir, build.data_dir]
    for folder in folders:
        for directory, subdirs, names in os.walk(folder):
            subdirs[:] = sorted(d for d in subdirs if Path(directory, d) not in skip)
            for name in names:
                path = os.path.join(directory, name)  # noqa: PTH118 - hot loop
                try:
                    st = os.stat(path)  # noqa: PTH116 - hot loop
                except OSError:
                    continue
                state[path] = (st.st_mtime_ns, st.st_size)
    try:
        st = config.file.stat()
        state[str(config.file)] = (st.st_mtime_ns, st.st_size)
    except OSError:
        state[str(config.file)] = (0, -1)
    return state


class PreviewServer:
    """Serves ``config.build.output_dir`` and rebuilds on change (see the module docstring).

    ``rebuild`` runs one build (raising :class:`TamizdatError` on bad input); ``on_result``
    hears of every rebuild: ``(error or None, result or None)``.
    """

    def __init__(
        self,
        config: Config,
        rebuild: Callable[[], object],
        *,
        bind: str = "127.0.0.1",
        port: int = 8000,
        names: Iterable[str] = (),
        on_result: Callable[[TamizdatError | None, object], None] | None = None,
        limits: ServeLimits = LIMITS,
        http_limits: ServerLimits = HTTP_LIMITS,
    ) -> None:
        self.config = config
        self.rebuild = rebuild
        self.on_result = on_result
        self.limits = limits
        self.stopped = threading.Event()
        handler = partial(_Handler, directory=str(config.build.output_dir))
        self.httpd = LocalHTTPServer((bind, port), handler, extra_names=names, limits=http_limits)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"

    def start(self) -> None:
        """Start answering requests in a background thread."""
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="tamizdat-serve", daemon=True
        )
        self._thread.start()

    def run_rebuild(self) -> None:
        """Rebuild once; an error is reported and the last good build stays served."""
        try:
            result = self.rebuild()
        except TamizdatError as error:
            log.info("rebuild failed: %s", error)
            if self.on_result:
                self.on_result(error, None)
            return
        if self.on_result:
            self.on_result(None, result)

    def watch(self, baseline: dict[str, tuple[int, int]] | None = None) -> None:
        """Poll the sources until :meth:`stop`; rebuild whenever something changed.

        ``baseline`` is the state the last build saw (taken *before* it started), so an edit
        made while that build ran is not missed.
        """
        state = baseline if baseline is not None else source_state(self.config)
        while not self.stopped.wait(self.limits.poll_seconds):
            current = source_state(self.config)
            if current != state:
                state = current
                self.run_rebuild()
                # Changes made during the build trigger the next one.

    def stop(self) -> None:
        """Stop watching and serving; safe to call from any thread, more than once."""
        self.stopped.set()
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(self.limits.shutdown_seconds)
            self._thread = None
        self.httpd.server_close()
