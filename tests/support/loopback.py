"""Plain HTTP servers on 127.0.0.1 for tests, and a loopback URL where nothing listens.

Invariant: every server binds 127.0.0.1 on a port the kernel picks, writes no log line, and
is shut down and closed by whoever started it (a ``with`` block or :meth:`Servers.close`).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["QuietDirectoryHandler", "Servers", "dead_url", "serving"]

Handler = Callable[..., BaseHTTPRequestHandler]


class QuietDirectoryHandler(SimpleHTTPRequestHandler):
    """Serves files under ``directory=``; writes no log line per request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(handler: Handler) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 while the block runs; yields ``http://127.0.0.1:PORT/``."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # Daemon request threads: a client that stalls cannot hold the test run open.
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class Servers:
    """Servers started on demand during one test (a fixture's ``start``); ``close`` stops all."""

    def __init__(self) -> None:
        self._stack = ExitStack()

    def start(self, handler: Handler) -> str:
        """Serve ``handler``; returns its URL (with a trailing slash)."""
        return self._stack.enter_context(serving(handler))

    def directory(self, root: Path) -> str:
        """Serve the files under ``root`` as a plain static mirror; returns its URL."""
        return self.start(partial(QuietDirectoryHandler, directory=str(root)))

    def close(self) -> None:
        self._stack.close()


def dead_url() -> str:
    """A loopback URL where nothing listens (a blocked mirror)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
