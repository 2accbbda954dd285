"""A raw HTTP/1.1 client for tests: sends exactly the bytes given (any Host, any path).

Invariant: only 127.0.0.1 is contacted; every socket is closed before the call returns.
``http.client`` and ``urllib`` normalise or refuse the hostile requests these tests need
(no Host, two Host headers, NUL in the path, absolute-form targets), hence bytes.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from tamizdat.local_http import SECURITY_HEADERS

__all__ = ["Reply", "ask", "assert_guarded", "exchange", "head_bytes"]

_UNSET = object()


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, list[str]]  # lower-case names
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


def exchange(port: int, raw: bytes, timeout: float = 10.0) -> Reply:
    """Send ``raw``, read until the server closes, parse the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(raw)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return Reply(status, headers, body)


def head_bytes(
    target: str | bytes,
    host: str | None,
    *,
    method: str = "GET",
    headers: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """A request head; ``host`` None sends no Host header."""
    path = target if isinstance(target, bytes) else target.encode("latin-1")
    lines = [method.encode() + b" " + path + b" HTTP/1.1"]
    if host is not None:
        lines.append(b"Host: " + host.encode("latin-1"))
    lines += [f"{name}: {value}".encode("latin-1") for name, value in headers]
    return b"\r\n".join([*lines, b"Connection: close", b"", b""])


def ask(
    port: int,
    target: str | bytes = "/",
    host: str | object | None = _UNSET,
    *,
    method: str = "GET",
    headers: tuple[tuple[str, str], ...] = (),
    timeout: float = 10.0,
) -> Reply:
    """One request; ``host`` defaults to ``127.0.0.1:PORT`` (None: no Host header)."""
    name = f"127.0.0.1:{port}" if host is _UNSET else host
    assert name is None or isinstance(name, str)
    return exchange(port, head_bytes(target, name, method=method, headers=headers), timeout)


def assert_guarded(reply: Reply) -> None:
    """The answer of a tamizdat local server: every security header once, and no CORS."""
    for name, value in SECURITY_HEADERS:
        assert reply.headers.get(name.lower()) == [value], name
    assert "access-control-allow-origin" not in reply.headers
