"""Cross-origin reads, against real servers: ``publish`` on ``rclone serve s3`` (which has no
bucket CORS), ``mirrors check`` over loopback HTTP mirrors with and without the header, and
the cross-origin probe against servers that answer wrongly or not at all."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from publish_helpers import write_site
from releasekit import article_files, write_release

from support.loopback import dead_url
from tamizdat.cli import main
from tamizdat.errors import MirrorResponseError, MirrorUnreachableError
from tamizdat.publish.cors import PROBE_ORIGIN, probe_cross_origin

pytestmark = pytest.mark.integration


def _handler(allow: list[str]) -> type[http.server.SimpleHTTPRequestHandler]:
    class Handler(http.server.SimpleHTTPRequestHandler):
        def end_headers(self) -> None:
            for value in allow:
                self.send_header("Access-Control-Allow-Origin", value)
            super().end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@pytest.fixture
def web_servers() -> Iterator[Callable[[Path, list[str]], str]]:
    """Start HTTP servers over folders, each sending the given Allow-Origin values."""
    started: list[http.server.ThreadingHTTPServer] = []

    def start(root: Path, allow: list[str]) -> str:
        root.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_handler(allow), directory=str(root))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


def test_mirrors_check_warns_about_a_mirror_without_cors(
    tmp_path: Path,
    web_servers: Callable[[Path, list[str]], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    allows = {"open": ["*"], "closed": [], "picky": ["https://exile-news.example"]}
    mirrors: list[dict[str, object]] = [
        {
            "name": name,
            "url": f"file://{tmp_path / 'www' / name}",
            "public_url": web_servers(tmp_path / "www" / name, allow),
        }
        for name, allow in allows.items()
    ]
    site = write_site(tmp_path / "site", mirrors)
    write_release(site / "release", 1, article_files(1, count=3))
    assert main(["-C", str(site), "publish"]) == 0
    capsys.readouterr()

    code = main(["-C", str(site), "--json", "mirrors", "check", "--timeout", "5"])
    doc = json.loads(capsys.readouterr().out)
    by_name = {m["name"]: m for m in doc["mirrors"]}
    assert code == 0  # a warning, not a failed mirror: the Python reader is served
    assert {n: m["state"] for n, m in by_name.items()} == dict.fromkeys(allows, "current")
    assert by_name["open"]["cross_origin"] is True
    assert by_name["open"]["warnings"] == []
    assert by_name["closed"]["cross_origin"] is False
    assert "no Access-Control-Allow-Origin" in by_name["closed"]["warnings"][0]
    assert "mirrors headers" in by_name["closed"]["warnings"][0]
    assert by_name["picky"]["cross_origin"] is False
    assert "https://exile-news.example" in by_name["picky"]["warnings"][0]

    code = main(["-C", str(site), "mirrors", "check", "--timeout", "5"])
    err = capsys.readouterr().err
    assert code == 0
    assert err.count("warning: ") == 2
    assert "warning: closed: sends no Access-Control-Allow-Origin header" in err
    assert "warning: picky:" in err
    assert "warning: open" not in err


def test_publish_to_rclone_s3_says_bucket_cors_is_not_supported(
    tmp_path: Path,
    rclone_s3,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = rclone_s3.bucket("corsbucket")
    site = write_site(
        tmp_path / "site",
        [
            {"name": "s3", "url": f"s3://{bucket}/site", "public_url": "https://b.example/"},
            {
                "name": "disk",
                "url": f"file://{tmp_path / 'disk'}",
                "public_url": "https://a.example/",
            },
        ],
    )
    write_release(site / "release", 1, article_files(1, count=2))
    assert main(["-C", str(site), "--json", "publish", "--one-process"]) == 0
    report = {m["name"]: m for m in json.loads(capsys.readouterr().out)["mirrors"]}
    # rclone serve s3 takes PUT /bucket?cors for a bucket creation: refused, never "set";
    # its answers carry Access-Control-Allow-Origin: * on their own.
    assert report["s3"]["cors"]["state"] == "server-sends"
    assert "does not support bucket CORS" in report["s3"]["cors"]["detail"]
    assert "BucketAlreadyExists" in report["s3"]["cors"]["detail"]
    assert report["disk"]["cors"]["state"] == "web-server"

    write_release(site / "release", 2, article_files(2, count=2))
    assert main(["-C", str(site), "publish", "--one-process"]) == 0
    captured = capsys.readouterr()
    assert "s3: cross-origin reads: this S3 server does not support bucket CORS" in captured.out
    assert "note: disk: the web server in front sends the cross-origin headers" in captured.err


def test_dry_run_sets_no_cross_origin_rule(
    tmp_path: Path,
    rclone_s3,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = rclone_s3.bucket("corsdry")
    site = write_site(
        tmp_path / "site",
        [{"name": "s3", "url": f"s3://{bucket}/site", "public_url": "https://b.example/"}],
    )
    write_release(site / "release", 1, article_files(1, count=1))
    assert main(["-C", str(site), "--json", "publish", "--dry-run"]) == 0
    assert "cors" not in json.loads(capsys.readouterr().out)["mirrors"][0]


@pytest.mark.parametrize(
    ("allow", "allowed"),
    [
        (["*"], True),
        ([PROBE_ORIGIN], True),  # echoes any origin back
        ([], False),
        (["https://exile-news.example"], False),
        (["*", "*"], False),  # browsers refuse a doubled header
        (["null"], False),
    ],
)
def test_probe_reads_the_allow_origin_header(
    tmp_path: Path,
    web_servers: Callable[[Path, list[str]], str],
    allow: list[str],
    allowed: bool,
) -> None:
    url = web_servers(tmp_path / "www", allow)
    answer = probe_cross_origin(url, timeout=5)
    assert answer.status == 404  # no timestamp there: the header counts on errors too
    assert answer.allowed is allowed
    assert (answer.problem() is None) is allowed


@contextlib.contextmanager
def _raw_server(reply: Callable[[socket.socket], None]) -> Iterator[str]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(4096)
                try:
                    reply(conn)
                except OSError:
                    continue

    threading.Thread(target=serve, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    stop.set()
    listener.close()


def _silent(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")  # and then nothing: the header never ends
    stop = threading.Event()
    stop.wait(3)


def _endless(conn: socket.socket) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for _ in range(100):
        conn.sendall(b"X-Padding: " + b"a" * 1000 + b"\r\n")


def _not_http(conn: socket.socket) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (_silent, MirrorUnreachableError),
        (_endless, MirrorResponseError),
        (_not_http, MirrorResponseError),
    ],
)
def test_probe_refuses_hostile_answers(
    reply: Callable[[socket.socket], None], error: type[Exception]
) -> None:
    with _raw_server(reply) as url, pytest.raises(error) as caught:
        probe_cross_origin(url, timeout=0.5)
    assert "timestamp.json" in str(caught.value)


def test_probe_of_a_dead_mirror_is_unreachable() -> None:
    with pytest.raises(MirrorUnreachableError):
        probe_cross_origin(dead_url(), timeout=2)


def test_probe_over_https_checks_the_certificate(tmp_path: Path) -> None:
    import ssl

    import trustme

    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(_handler(["*"]), directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/"
        ca_file = tmp_path / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        assert probe_cross_origin(url, timeout=5, ca_file=str(ca_file)).allowed
        with pytest.raises(MirrorUnreachableError, match="CERTIFICATE_VERIFY_FAILED"):
            probe_cross_origin(url, timeout=5)  # not our CA: refused, never read
    finally:
        server.shutdown()
        server.server_close()
