"""The HTTP transport: deadlines per file and per operation, origin-bound redirects, soft-404s.

Servers run on 127.0.0.1 (support.loopback, support.hostile_http); the per-read timeout is
set far above the deadline in every stall test, so only the deadline can end the wait.
"""

from __future__ import annotations

import contextlib
import io
import json
import time
from functools import partial
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from support.hostile_http import HOSTILE, hostile_mirror
from support.loopback import QuietDirectoryHandler, serving
from tamizdat.cli import main
from tamizdat.errors import DeadlineError, MirrorResponseError, MirrorUnreachableError
from tamizdat.layout import METADATA_DIR
from tamizdat.trust.http_client import origin_of
from tamizdat.trust.network import Deadline, NetworkLimits
from tamizdat.trust.sources import HttpSource, MissingFileError, check_metadata_shape, read_page

MARGIN = 2.0
SLOW_READS = NetworkLimits(read_timeout=60.0, deadline=None)


def _timed(fn: Any) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        fn()
    except Exception as exc:
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


@pytest.mark.integration
@pytest.mark.parametrize("behaviour", sorted(set(HOSTILE) - {"slow-tls"}))
def test_one_fetch_ends_at_the_whole_deadline(behaviour: str) -> None:
    with hostile_mirror(behaviour) as url:
        source = HttpSource(url, limits=SLOW_READS, deadline=Deadline(1.5))
        error, seconds = _timed(lambda: source.fetch(f"{METADATA_DIR}/timestamp.json", 16384))
        source.close()
    assert isinstance(error, DeadlineError), error
    assert seconds < 1.5 * MARGIN


@pytest.mark.integration
def test_one_fetch_ends_at_its_file_budget_as_unreachable_not_deadline() -> None:
    limits = NetworkLimits(read_timeout=60.0, file_budget=1.0, min_rate=1e9, deadline=None)
    with hostile_mirror("drip-body") as url:
        source = HttpSource(url, limits=limits)
        error, seconds = _timed(lambda: source.fetch("a.html", 1000))
        source.close()
    assert type(error) is MirrorUnreachableError, error
    assert "too slow" in str(error)
    assert seconds < 1.0 * MARGIN


@pytest.mark.integration
def test_close_cancels_a_fetch_in_flight() -> None:
    import threading

    with hostile_mirror("silent") as url:
        source = HttpSource(url, limits=SLOW_READS)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                source.fetch("a.html", 100)
            except Exception as exc:
                errors.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        time.sleep(0.5)
        source.close()
        thread.join(5)
    assert not thread.is_alive()
    assert isinstance(errors[0], MirrorUnreachableError)


def _redirecting(target: str) -> type[BaseHTTPRequestHandler]:
    """Answers every GET with a 302 to ``target`` + the path (``{port}``: its own port)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            address: Any = self.server.server_address
            location = target.replace("{port}", str(address[1]))
            self.send_response(302)
            self.send_header("Location", location + self.path.lstrip("/"))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


@pytest.mark.integration
@pytest.mark.parametrize(
    "elsewhere",
    [
        "http://localhost:{port}/new/",  # same server, another host name
        "https://127.0.0.1:{port}/new/",  # another scheme
        "http://127.0.0.1:1/new/",  # another port
        "//evil.invalid/new/",  # scheme-relative, another host
    ],
)
def test_redirect_off_the_origin_is_refused_naming_both_urls(elsewhere: str) -> None:
    with serving(_redirecting(elsewhere)) as url:
        source = HttpSource(url)
        with pytest.raises(MirrorResponseError, match="refusing the redirect") as refused:
            source.fetch("page.html", 100)
        source.close()
    assert f"{url}page.html" in refused.value.message
    target = elsewhere.split("{port}")[0].removeprefix("//")
    assert target in refused.value.message
    assert refused.value.where == f"{url}page.html"


@pytest.mark.integration
def test_redirect_loop_within_the_origin_is_cut() -> None:
    with serving(_redirecting("http://127.0.0.1:{port}/new/")) as url:
        source = HttpSource(url, limits=NetworkLimits(max_redirects=3))
        with pytest.raises(MirrorResponseError, match="expected at most 3 redirects"):
            source.fetch("page.html", 100)  # /new/page.html redirects again, and again
        source.close()


@pytest.mark.integration
def test_same_origin_redirect_bytes_come_from_the_target(tmp_path: Path) -> None:
    class Moved(QuietDirectoryHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path.startswith("/old/"):
                self.send_response(301)
                self.send_header("Location", "/new/" + self.path[len("/old/") :])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            super().do_GET()

    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "page.html").write_bytes(b"<p>moved</p>")
    with serving(partial(Moved, directory=str(tmp_path))) as url:
        data, where = read_page(url + "old/page.html")
        source = HttpSource(url + "old/")
        assert source.fetch("page.html", 100) == b"<p>moved</p>"
        with pytest.raises(MissingFileError) as missing:
            source.fetch("gone.html", 100)
        source.close()
    assert (data, where) == (b"<p>moved</p>", url + "new/page.html")
    assert missing.value.where == url + "new/gone.html"  # where the answer came from


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("http://127.0.0.1:8080/a", ("http", "127.0.0.1", 8080)),
        ("HTTPS://Mirror.Example/", ("https", "mirror.example", 443)),
        ("http://mirror.example/", ("http", "mirror.example", 80)),
        ("http://mirror.example:80@evil.example/", ("http", "evil.example", 80)),
    ],
)
def test_origin_is_scheme_host_and_port(url: str, origin: tuple[str, str, int]) -> None:
    assert origin_of(url) == origin


def _metadata(kind: str) -> bytes:
    return json.dumps({"signed": {"_type": kind, "version": 1}, "signatures": []}).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"<!doctype html><html>app</html>",
        b"\xef\xbb\xbf<html>",
        b"Not Found",
        b"",
        b"[1, 2]",
        b"{}",
        b'{"error": "not found"}',
        b'{"signed": {"_type": "root"}}',  # no signatures list
        b"\xff\xfe{",
        _metadata("timestamp"),  # metadata, of another role
    ],
)
@pytest.mark.parametrize("name", ["2.root.json", "3.snapshot.json", "7.site-en.json"])
def test_metadata_path_holding_no_metadata_of_its_type_is_missing(body: bytes, name: str) -> None:
    with pytest.raises(MissingFileError, match="taken as missing"):
        check_metadata_shape(f"{METADATA_DIR}/{name}", body, "mirror")


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("2.root.json", "root"),
        ("timestamp.json", "timestamp"),
        ("3.snapshot.json", "snapshot"),
        ("4.targets.json", "targets"),
        ("7.desk.en.json", "targets"),
    ],
)
def test_metadata_of_its_type_goes_on_to_verification(name: str, kind: str) -> None:
    check_metadata_shape(f"{METADATA_DIR}/{name}", _metadata(kind), "mirror")  # no error


def test_shape_rule_leaves_other_files_alone() -> None:
    check_metadata_shape("articles/index.html", b"<html>", "mirror")
    check_metadata_shape(".well-known/tamizdat/targets/x.json", b"<html>", "mirror")


def _cli(*argv: str) -> tuple[int, float]:
    started = time.monotonic()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(argv))
    return code, time.monotonic() - started


@pytest.mark.integration
def test_verify_url_of_a_dripping_mirror_ends_at_its_deadline() -> None:
    with hostile_mirror("drip-body") as url:
        code, seconds = _cli(
            "verify", url, "--fingerprint", "ab" * 32, "--deadline", "2", "--timeout", "60"
        )
    assert code == 7
    assert seconds < 2 * MARGIN


@pytest.mark.integration
@pytest.mark.parametrize("behaviour", ["drip-body", "slow-headers"])
def test_verify_page_url_of_a_dripping_server_ends_at_its_deadline(
    behaviour: str, tmp_path: Path
) -> None:
    with hostile_mirror(behaviour) as url:
        code, seconds = _cli(
            "verify", "--page", url + "page.html", "--against", str(tmp_path),
            "--fingerprint", "ab" * 32, "--deadline", "2", "--timeout", "60",
        )  # fmt: skip
    assert code == 7
    assert seconds < 2 * MARGIN


def test_verify_refuses_a_deadline_that_is_not_positive() -> None:
    code, _ = _cli("verify", "x", "--fingerprint", "ab" * 32, "--deadline", "0")
    assert code != 0
