"""Mirrors that stall on purpose, on 127.0.0.1: the slow-loris family a censor can field.

Invariant: each server binds 127.0.0.1 on a port the kernel picks, serves every request the
same hostile way until the client goes or the server is closed, and closing it ends every
connection thread within a fraction of a second. Nothing here asserts.

Behaviours (``HOSTILE`` names them all):

- ``drip-body``: honest headers announcing a large body, then one byte every half second.
- ``slow-headers``: a status line, then one header byte every half second, for ever.
- ``silent``: accepts the connection, reads the request, never answers.
- ``endless-body``: a chunked body of small chunks, for ever.
- ``slow-tls``: for an https:// URL, a TLS record header announcing a large handshake
  message, then one byte every half second (the handshake never completes).
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["HOSTILE", "hostile_mirror"]

_TICK = 0.5
Behaviour = Callable[[socket.socket, threading.Event], None]


def _read_request(sock: socket.socket, stop: threading.Event) -> bool:
    """Read until the end of the request headers; False if the client went away."""
    data = b""
    sock.settimeout(_TICK)
    while b"\r\n\r\n" not in data and not stop.is_set():
        try:
            chunk = sock.recv(4096)
        except TimeoutError:
            continue
        if not chunk:
            return False
        data += chunk
    return not stop.is_set()


def _drip(sock: socket.socket, stop: threading.Event, piece: Callable[[int], bytes]) -> None:
    """Send ``piece(n)`` every tick until the client goes or the server stops."""
    n = 0
    while not stop.wait(_TICK):
        sock.sendall(piece(n))
        n += 1


def _drip_body(sock: socket.socket, stop: threading.Event) -> None:
    if _read_request(sock, stop):
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
        sock.sendall(b"Content-Length: 1000\r\n\r\n")
        _drip(sock, stop, lambda n: b"{" if n == 0 else b" ")


def _slow_headers(sock: socket.socket, stop: threading.Event) -> None:
    if _read_request(sock, stop):
        sock.sendall(b"HTTP/1.1 200 OK\r\nX-Stall: ")
        _drip(sock, stop, lambda n: b"a")


def _silent(sock: socket.socket, stop: threading.Event) -> None:
    if _read_request(sock, stop):
        stop.wait()


def _endless_body(sock: socket.socket, stop: threading.Event) -> None:
    if _read_request(sock, stop):
        sock.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        _drip(sock, stop, lambda n: b"8\r\n        \r\n")


def _slow_tls(sock: socket.socket, stop: threading.Event) -> None:
    sock.settimeout(_TICK)
    with contextlib.suppress(TimeoutError):
        sock.recv(4096)  # the ClientHello
    # Handshake record, TLS 1.2, 16 KiB long: the client waits for all of it.
    sock.sendall(b"\x16\x03\x03\x40\x00")
    _drip(sock, stop, lambda n: b"\x00")


HOSTILE: dict[str, Behaviour] = {
    "drip-body": _drip_body,
    "slow-headers": _slow_headers,
    "silent": _silent,
    "endless-body": _endless_body,
    "slow-tls": _slow_tls,
}


@contextmanager
def hostile_mirror(behaviour: str) -> Iterator[str]:
    """Serve ``behaviour`` while the block runs; yields the mirror URL (https for slow-tls)."""
    act = HOSTILE[behaviour]
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            # OSError: the client went away, what a stalling server hopes it will not do.
            with contextlib.suppress(OSError):
                act(self.request, stop)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    scheme = "https" if behaviour == "slow-tls" else "http"
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}/"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        time.sleep(_TICK)  # let the connection threads see the stop and close their sockets
