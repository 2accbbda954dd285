"""``reader serve`` and ``reader share`` as real servers on 127.0.0.1, attacked over raw HTTP.

Who attacks: a web page the reader visits (DNS rebinding, cross-site requests, probing which
publisher's files exist), a neighbour on the LAN (traversal, slow or oversized requests).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.raw_http import ask, assert_guarded, exchange, head_bytes
from support.reader_store import FILES, TIMESTAMP, small_store
from tamizdat.errors import UserError
from tamizdat.local_http import LocalHTTPServer, ServerLimits
from tamizdat.reader.serve import make_reading_server, make_share_server
from tamizdat.reader.store import Store

pytestmark = pytest.mark.integration

SECRET = b"SECRET-OUTSIDE-THE-STORE"
Start = Callable[..., LocalHTTPServer]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    (tmp_path / "secret.txt").write_bytes(SECRET)
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "secret.txt").write_bytes(SECRET)
    return small_store(tmp_path / "home" / "stores")


@pytest.fixture
def start(store: Store) -> Iterator[Start]:
    """``start(kind, **options)`` runs a reading or share server in a thread."""
    running: list[LocalHTTPServer] = []

    def run(kind: str = "read", **options: object) -> LocalHTTPServer:
        make = make_reading_server if kind == "read" else make_share_server
        server = make(store, **options)  # type: ignore[arg-type]
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        running.append(server)
        return server

    yield run
    for server in running:
        server.shutdown()
        server.server_close()


def port_of(server: LocalHTTPServer) -> int:
    return int(server.server_address[1])


def other_port(port: int) -> int:
    return port + 1 if port < 65535 else port - 1


KINDS = ["read", "share"]

FOREIGN_HOSTS = [
    "evil.example",
    "evil.example:{port}",
    "127.0.0.1.evil.example:{port}",
    "127.0.0.1:{port}.evil.example",
    "localhost:{other}",
    "127.0.0.1:{other}",
    "127.0.0.1",
    "localhost",
    "localhost.:{port}",
    "[::1]:{other}",
    "::1:{port}",
    "[::1]",
    "[::ffff:127.0.0.1]:{port}",
    "[0:0:0:0:0:0:0:1]:{port}",
    "127.1:{port}",
    "2130706433:{port}",
    "0x7f000001:{port}",
    "127.0.0.2:{port}",
    "user@127.0.0.1:{port}",
    "",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("host", FOREIGN_HOSTS)
def test_foreign_host_is_refused(start: Start, kind: str, host: str) -> None:
    port = port_of(start(kind))
    reply = ask(port, "/index.html", host.format(port=port, other=other_port(port)))
    assert reply.status == 421
    assert reply.body == b"421 Misdirected Request\n"
    assert_guarded(reply)


@pytest.mark.parametrize("kind", KINDS)
def test_missing_or_doubled_host_is_refused(start: Start, kind: str) -> None:
    port = port_of(start(kind))
    assert ask(port, "/index.html", None).status == 421
    doubled = (("Host", "evil.example"),)
    assert ask(port, "/index.html", f"127.0.0.1:{port}", headers=doubled).status == 421
    reverse = (("Host", f"127.0.0.1:{port}"),)
    assert ask(port, "/index.html", "evil.example", headers=reverse).status == 421


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}",
                                  "[::1]:{port}"])  # fmt: skip
def test_loopback_names_are_served(start: Start, kind: str, host: str) -> None:
    port = port_of(start(kind))
    reply = ask(port, "/articles/a0/", host.format(port=port))
    assert reply.status == 200
    assert b"article zero" in reply.body
    assert_guarded(reply)


def test_names_given_by_flag_are_served_and_only_on_this_port(start: Start) -> None:
    port = port_of(start("read", names=["Reader.LAN", "10.1.2.3"]))
    assert ask(port, "/", f"reader.lan:{port}").status == 200
    assert ask(port, "/", f"10.1.2.3:{port}").status == 200
    assert ask(port, "/", f"reader.lan:{other_port(port)}").status == 421
    assert ask(port, "/", "reader.lan").status == 421


@pytest.mark.parametrize("name", ["evil/x", "http://a.example", "a.example:80", "", "a..b", "-a"])
def test_bad_names_are_refused_before_binding(store: Store, name: str) -> None:
    with pytest.raises(UserError, match="host name or IP address"):
        make_reading_server(store, names=[name])


CROSS_SITE = [
    (("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Dest", "empty")),
    (("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image")),
    (("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "script")),
    (
        ("Sec-Fetch-Site", "cross-site"),
        ("Sec-Fetch-Mode", "navigate"),
        ("Sec-Fetch-Dest", "iframe"),
    ),
    (("Sec-Fetch-Site", "same-site"), ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Dest", "empty")),
    (("Sec-Fetch-Site", "same-site"), ("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "style")),
    (("Origin", "https://evil.example"),),
    (("Origin", "null"),),
    (("Origin", "http://127.0.0.1:{other}"),),
    (("Sec-Fetch-Site", "same-origin"), ("Origin", "http://evil.example")),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("headers", CROSS_SITE, ids=lambda h: "+".join(v for _, v in h))
def test_requests_from_other_sites_get_one_answer_for_every_path(
    start: Start, kind: str, headers: tuple[tuple[str, str], ...]
) -> None:
    port = port_of(start(kind))
    sent = tuple((n, v.format(other=other_port(port))) for n, v in headers)
    present = ask(port, "/articles/a0/", headers=sent)
    absent = ask(port, "/no/such/publisher/page/", headers=sent)
    assert present.status == absent.status == 403
    assert present.body == absent.body == b"403 Forbidden\n"
    assert_guarded(present)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(
    "headers",
    [
        (),
        (("Sec-Fetch-Site", "none"), ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")),
        (("Sec-Fetch-Site", "same-origin"), ("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Dest", "empty")),
        (("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")),
        (("Origin", "http://127.0.0.1:{port}"),),
        (("Origin", "http://localhost:{port}"),),
    ],
    ids=["no-fetch-metadata", "typed-url", "same-origin-fetch", "followed-link", "origin", "origin-localhost"],
)  # fmt: skip
def test_own_pages_and_top_level_navigation_are_served(
    start: Start, kind: str, headers: tuple[tuple[str, str], ...]
) -> None:
    port = port_of(start(kind))
    sent = tuple((n, v.format(port=port)) for n, v in headers)
    assert ask(port, "/articles/a0/", headers=sent).status == 200


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO"])
def test_only_get_and_head_are_allowed(start: Start, kind: str, method: str) -> None:
    port = port_of(start(kind))
    preflight = (("Access-Control-Request-Method", "GET"), ("Origin", f"http://127.0.0.1:{port}"))
    reply = ask(port, "/index.html", method=method, headers=preflight)
    assert reply.status == 405
    assert reply.header("Allow") == "GET, HEAD"
    assert_guarded(reply)


@pytest.mark.parametrize("kind", KINDS)
def test_head_sends_the_headers_of_get_without_a_body(start: Start, kind: str) -> None:
    port = port_of(start(kind))
    got = ask(port, "/style.css")
    head = ask(port, "/style.css", method="HEAD")
    assert (got.status, head.status) == (200, 200)
    assert head.body == b""
    assert head.header("Content-Length") == got.header("Content-Length") == str(len(got.body))
    assert head.header("Content-Type") == got.header("Content-Type") == "text/css; charset=utf-8"
    assert_guarded(head)


@pytest.mark.parametrize("kind", KINDS)
def test_range_is_ignored_and_the_whole_file_sent(start: Start, kind: str) -> None:
    port = port_of(start(kind))
    reply = ask(port, "/style.css", headers=(("Range", "bytes=0-3"),))
    assert reply.status == 200
    assert reply.body == FILES["style.css"]
    assert "content-range" not in reply.headers
    assert "accept-ranges" not in reply.headers


def test_share_serves_the_mirror_layout_without_cors(start: Start) -> None:
    port = port_of(start("share"))
    origin = (("Origin", f"http://127.0.0.1:{port}"),)
    reply = ask(port, "/.well-known/tamizdat/metadata/timestamp.json", headers=origin)
    assert reply.status == 200
    assert reply.body == TIMESTAMP
    assert reply.header("Content-Type") == "application/json; charset=utf-8"
    assert_guarded(reply)


TRAVERSALS = [
    "/../secret.txt",
    "/../../secret.txt",
    "/%2e%2e/%2e%2e/secret.txt",
    "/%2E%2E/%2E%2E/%2E%2E/secret.txt",
    "/%2e%2e/subscription.json",
    "/..%2fsubscription.json",
    "/..%2F..%2F..%2Fsecret.txt",
    "/%2e%2e%5c%2e%2e%5csecret.txt",
    "/..\\..\\secret.txt",
    "/articles/..%5c..%5csubscription.json",
    "/articles/a0/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "/index.html%00.css",
    "/index.html\x00.css",
    "/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt",
    "/%c0%2e%c0%2e/secret.txt",
    "/%e0%80%ae%e0%80%ae/secret.txt",
    "/%f0%80%80%ae%f0%80%80%ae/secret.txt",
    "/%ff%fe/secret.txt",
    "/./index.html",
    "/.../secret.txt",
    "/articles//a0/",
    "/%2F%2Fetc/passwd",
    "/%252e%252e/%252e%252e/secret.txt",
    "/index.html%0d%0aX-Injected:%201",
    "/.well-known/tamizdat/metadata/../../../subscription.json",
    "/.well-known/tamizdat/metadata/%2e%2e/%2e%2e/subscription.json",
    "/.well-known/tamizdat/metadata/..%2f..%2fsubscription.json",
    "/.well-known/tamizdat/targets/../../../secret.txt",
    "/.well-known/tamizdat/targets/%2e%2e/%2e%2e/%2e%2e/secret.txt",
    "/current/metadata/timestamp.json",
    "/subscription.json",
    "http://127.0.0.1/../secret.txt",
    "*",
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("target", TRAVERSALS)
def test_traversal_gets_404_and_nothing_outside(
    start: Start, store: Store, kind: str, target: str
) -> None:
    port = port_of(start(kind))
    reply = ask(port, target.encode("latin-1"))
    assert reply.status == 404
    assert_guarded(reply)
    assert SECRET not in reply.body
    assert b"fingerprint" not in reply.body  # subscription.json's content
    assert "x-injected" not in reply.headers


def test_share_binds_loopback_by_default(store: Store) -> None:
    server = make_share_server(store)
    try:
        assert server.socket.getsockname()[0] == "127.0.0.1"
        assert server.socket.family == socket.AF_INET
    finally:
        server.server_close()


def test_reading_server_binds_loopback(store: Store) -> None:
    server = make_reading_server(store)
    try:
        assert server.socket.getsockname()[0] == "127.0.0.1"
    finally:
        server.server_close()


# --- sizes and slow clients -----------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_oversized_heads_are_refused(start: Start, kind: str) -> None:
    port = port_of(start(kind))
    long_line = ask(port, "/" + "a" * 9000)
    assert long_line.status == 414
    assert_guarded(long_line)
    many = tuple((f"X-H{i}", "v") for i in range(70))
    assert ask(port, "/", headers=many).status == 431
    big = (("X-Big", "v" * 20000),)
    refused = ask(port, "/", headers=big)
    assert refused.status == 431
    assert_guarded(refused)
    assert ask(port, "/").status == 200  # the server is still there


@pytest.mark.parametrize(("raw", "status"), [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 505),
    (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
    (b"GET /\r\n\r\n", 421),  # HTTP/0.9: no Host, and no headers unless we insist
])  # fmt: skip
def test_malformed_request_lines_get_a_short_guarded_error(
    start: Start, raw: bytes, status: int
) -> None:
    port = port_of(start("read"))
    reply = exchange(port, raw)
    assert reply.status == status
    assert_guarded(reply)
    assert b"HTTP/9.9" not in reply.body  # nothing the client sent is echoed
    assert b"GARBAGE" not in reply.body


def _stalled(port: int, partial: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(partial)
    return sock


@pytest.mark.parametrize("kind", KINDS)
def test_a_slow_client_does_not_block_another(start: Start, kind: str) -> None:
    port = port_of(start(kind))
    stalls = [_stalled(port, b"GET /index.html HTTP/1.1\r\nHo"), _stalled(port, b"GE")]
    try:
        began = time.monotonic()
        reply = ask(port, "/articles/a0/")
        assert reply.status == 200
        assert time.monotonic() - began < 5.0  # the head deadline is 10 s
    finally:
        for sock in stalls:
            sock.close()


def test_a_dripping_client_is_cut_off_at_the_head_deadline(start: Start) -> None:
    server = start("read", limits=ServerLimits(head_seconds=1.0, io_seconds=5.0))
    port = port_of(server)
    head = head_bytes("/index.html", f"127.0.0.1:{port}", headers=(("X-Pad", "p" * 200),))
    began = time.monotonic()
    closed_after: float | None = None
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.settimeout(0.1)
        for byte in head[:-1]:  # never the final newline; each byte well within io_seconds
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(1) == b"":
                    closed_after = time.monotonic() - began
                    break
            except TimeoutError:
                pass  # still open: keep dripping
            except OSError:
                closed_after = time.monotonic() - began
                break
            if time.monotonic() - began > 8.0:
                break
    assert closed_after is not None, "a client dripping its head was never cut off"
    assert closed_after < 6.0


def test_connections_beyond_the_cap_are_closed_and_service_resumes(start: Start) -> None:
    server = start("read", limits=ServerLimits(max_connections=2, head_seconds=1.0))
    port = port_of(server)
    stalls = [_stalled(port, b"GET / HTTP/1.1\r\n") for _ in range(2)]
    try:
        time.sleep(0.2)  # both are accepted and hold their slots
        with socket.create_connection(("127.0.0.1", port), timeout=5) as third:
            third.sendall(head_bytes("/", f"127.0.0.1:{port}"))
            assert third.recv(100) == b""  # closed at once, not queued behind the slow ones
        deadline = time.monotonic() + 8.0  # the 1 s head deadline frees both slots
        while True:
            try:
                if ask(port, "/articles/a0/", timeout=2.0).status == 200:
                    break
            except (OSError, IndexError):  # closed at once: still full
                pass
            assert time.monotonic() < deadline, "the slots were never freed"
            time.sleep(0.2)
    finally:
        for sock in stalls:
            sock.close()
