"""``tamizdat serve`` as a real server on 127.0.0.1: serves, rebuilds on change, survives errors."""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.raw_http import ask, assert_guarded
from tamizdat.cli import main
from tamizdat.render.privacy import CSP

pytestmark = pytest.mark.integration

ARTICLE = "en/news/2024/05/breaking/index.html"


def write_article(site: Path, body: str) -> None:
    (site / "content/breaking.md").write_text(
        "---\ntitle: Breaking\nslug: breaking\ndate: 2024-05-01T09:00:00Z\nauthor: editors\n"
        f"tags: [news]\n---\n\n{body}\n",
        "utf-8",
    )


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (lower-case names) and body."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            status, headers, body = response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        status, headers, body = error.code, error.headers, error.read()
        error.close()
    return status, {k.lower(): v for k, v in headers.items()}, body


def wait_for(condition: Callable[[], bool], seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


# The server is stopped with Ctrl-C (SIGINT), as a person at a terminal stops it. A suite
# started with SIGINT ignored (nohup, a background job) hands that disposition down, and a
# Python started that way never raises KeyboardInterrupt; so the child restores it first.
_AT_A_TERMINAL = (
    "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'tamizdat'; runpy.run_module('tamizdat', run_name='__main__')"
)


class Server:
    def __init__(self, site: Path, *extra: str) -> None:
        command = [sys.executable, "-c", _AT_A_TERMINAL, "-C", str(site), "serve"]
        self.process = subprocess.Popen(
            [*command, "--port", "0", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        match = re.search(r"(http://127\.0\.0\.1:\d+/)", line)
        assert match, f"no URL printed: {line!r}"
        self.url = match.group(1)
        self.stderr: list[str] = []
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def page(self, path: str) -> bytes:
        return fetch(self.url + path)[2]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout=15)
        finally:
            self.close()

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._reader.join(10)
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self.process.stdout.close()
        self.process.stderr.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    site = tmp_path / "site"
    assert main(["-q", "init", str(site), "--language", "en"]) == 0
    write_article(site, "First version of the text.")
    running = Server(site)
    try:
        yield running, site
    finally:
        running.close()


def test_serves_the_site_with_headers(server: tuple[Server, Path]) -> None:
    running, _site = server
    assert running.url.startswith("http://127.0.0.1:")
    status, headers, body = fetch(running.url)
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-security-policy"].startswith(CSP)
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert b"<html" in body
    status, _h, body = fetch(running.url + ARTICLE.removesuffix("index.html"))
    assert status == 200
    assert b"First version" in body
    status, headers, _b = fetch(running.url + "sitemap.xml")
    assert status == 200
    assert headers["content-type"].startswith("application/xml")
    status, _h, body = fetch(running.url + "no/such/page")
    assert status == 404
    status, _h, _b = fetch(running.url + "en/")  # a folder without index.html: no listing
    assert status in (200, 404)


def test_rebuilds_on_change_and_keeps_serving_after_an_error(
    server: tuple[Server, Path],
) -> None:
    running, site = server
    assert b"First version" in running.page(ARTICLE)
    write_article(site, "Second version, rebuilt while serving.")
    assert wait_for(lambda: b"Second version" in running.page(ARTICLE)), running.stderr

    (site / "content/broken.md").write_text("---\ntitle: [unclosed\n---\nx\n", "utf-8")
    assert wait_for(lambda: any("content/broken.md:3" in line for line in running.stderr)), (
        running.stderr
    )
    assert any("still serving the last good build" in line for line in running.stderr)
    assert b"Second version" in running.page(ARTICLE)

    (site / "content/broken.md").unlink()
    write_article(site, "Third version after the fix.")
    assert wait_for(lambda: b"Third version" in running.page(ARTICLE)), running.stderr
    assert running.stop() == 0
    assert not [p for p in site.iterdir() if p.name.startswith(".public-old")]


PREVIEW_REFUSED = [
    ("/", "evil.example:{port}", (), 421),
    ("/", "127.0.0.1.evil.example:{port}", (), 421),
    ("/", None, (), 421),
    ("/", "localhost:{other}", (), 421),
    ("/", "[::ffff:127.0.0.1]:{port}", (), 421),
    ("/", "127.0.0.1:{port}", (("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "cors")), 403),
    ("/", "127.0.0.1:{port}", (("Origin", "https://evil.example"),), 403),
    ("/%2e%2e/%2e%2e/tamizdat.toml", "127.0.0.1:{port}", (), 404),
    ("/..%2f..%2ftamizdat.toml", "127.0.0.1:{port}", (), 404),
    ("/%c0%ae%c0%ae/tamizdat.toml", "127.0.0.1:{port}", (), 404),
    ("/index.html%00", "127.0.0.1:{port}", (), 404),
    ("/en\\..\\..\\tamizdat.toml", "127.0.0.1:{port}", (), 404),
]


def test_preview_screens_requests_like_the_reader_servers(server: tuple[Server, Path]) -> None:
    running, site = server
    port = int(running.url.rstrip("/").rsplit(":", 1)[1])
    other = port + 1 if port < 65535 else port - 1
    config = (site / "tamizdat.toml").read_bytes()
    for target, host, headers, status in PREVIEW_REFUSED:
        name = host.format(port=port, other=other) if host else None
        reply = ask(port, target.encode("latin-1"), name, headers=headers)
        assert reply.status == status, (target, host, headers)
        assert_guarded(reply)
        assert config not in reply.body
    served = ask(port, "/", f"localhost:{port}")
    assert served.status == 200
    assert_guarded(served)
    posted = ask(port, "/", method="POST")
    assert posted.status == 405
    assert posted.header("Allow") == "GET, HEAD"
    assert_guarded(posted)
    missing = ask(port, "/no/such/page")
    assert missing.status == 404
    assert_guarded(missing)


def test_preview_answers_a_name_given_with_allow_host_and_only_that(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert main(["-q", "init", str(site), "--language", "en"]) == 0
    write_article(site, "Text.")
    running = Server(site, "--allow-host", "newsroom.lan")
    try:
        port = int(running.url.rstrip("/").rsplit(":", 1)[1])
        assert ask(port, "/", f"newsroom.lan:{port}").status == 200
        assert ask(port, "/", f"evil.example:{port}").status == 421
    finally:
        running.close()


def _raw_get(url: str, path: str, language: str | None) -> tuple[int, dict[str, str], bytes]:
    """One request, redirects not followed."""
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname or "", parsed.port, timeout=10)
    try:
        connection.request("GET", path, headers={"Accept-Language": language} if language else {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("accept", "location"),
    [
        ("ru-RU,ru;q=0.9,en;q=0.8", "/ru/index.html"),
        ("en-GB", "/en/index.html"),
        ("fr, ru;q=0.3", "/ru/index.html"),
        ("fr", None),
        ("*", None),
        ("ru;q=0, ../etc", None),
        (None, None),
    ],
)
def test_root_goes_to_the_language_the_browser_asks_for(
    tmp_path: Path, accept: str | None, location: str | None
) -> None:
    site = tmp_path / "site"
    assert main(["-q", "init", str(site), "--language", "en", "--language", "ru"]) == 0
    running = Server(site)
    try:
        status, headers, _body = _raw_get(running.url, "/", accept)
        if location is None:
            assert status == 200  # the root page greets in every language
        else:
            assert status == 302
            assert headers["location"] == location
            assert headers["vary"] == "Accept-Language"
    finally:
        running.close()


def test_404_speaks_the_language_of_the_missing_address(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert main(["-q", "init", str(site), "--language", "en", "--language", "ru"]) == 0
    running = Server(site)
    try:
        status, _h, body = _raw_get(running.url, "/ru/no/such/page/", None)
        assert status == 404
        assert '<html lang="ru">' in body.decode()
        assert "Страница не найдена" in body.decode()
        status, _h, body = _raw_get(running.url, "/no/such/page", "ru")
        assert status == 404
        assert '<html lang="ru">' in body.decode()
        status, _h, body = _raw_get(running.url, "/no/such/page", None)
        assert status == 404
        # The site-wide 404 page: every language, each marked with its own.
        assert 'lang="ru"' in body.decode()
        assert 'lang="en"' in body.decode()
    finally:
        running.close()
