"""The reader against real HTTP mirrors on 127.0.0.1, through the command line."""

from __future__ import annotations

import http.client
import json
import shutil
import threading
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from support.killing import run_killing
from support.tuf_release import ReleaseFactory, now, sample_site
from tamizdat.cli import main
from tamizdat.reader.serve import make_reading_server, make_share_server, server_url
from tamizdat.reader.store import Store

pytestmark = pytest.mark.integration


@pytest.fixture
def releases(tmp_path: Path) -> tuple[Any, Path, Path]:
    """``behind`` serves release 1; ``current`` serves release 2 (every article changed)."""
    factory = ReleaseFactory.articles()
    behind, current = tmp_path / "behind", tmp_path / "current"
    factory.publish(sample_site(edition="one")).write(current)
    shutil.copytree(current, behind)
    factory.publish(sample_site(edition="two")).write(current)
    return factory, behind, current


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    capsys.readouterr()
    code = main(["--json", *argv])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else None


def _add(home: Path, fp: str, *mirrors: str) -> None:
    args = ["reader", "add", "news", "--fingerprint", fp, "--store-dir", str(home)]
    for url in mirrors:
        args += ["--mirror", url]
    assert main(["-q", *args]) == 0


def test_down_behind_current_gives_current(
    tmp_path: Path, releases: Any, serve_dir: Callable[[Path], str], dead_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    factory, behind, current = releases
    home = tmp_path / "home"
    _add(home, factory.fingerprint, dead_url, serve_dir(behind), serve_dir(current))
    capsys.readouterr()
    code, report = _run(
        capsys, "reader", "sync", "news", "--store-dir", str(home), "--timeout", "2"
    )
    assert code == 0
    assert report["outcome"] == "current"
    assert report["version"] == 2
    assert any(n["mirror"] == dead_url and n["kind"] == "unreachable" for n in report["notes"])
    store = Store.open("news", home)
    assert b"edition two" in store.read("articles/a0/index.html")


def test_tampering_http_mirror_is_skipped(
    tmp_path: Path, releases: Any, serve_dir: Callable[[Path], str],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    factory, _, current = releases
    evil = tmp_path / "evil"
    shutil.copytree(current, evil)
    for obj in (evil / ".well-known/tamizdat/targets/articles/a1").iterdir():
        obj.write_bytes(obj.read_bytes().replace(b"edition", b"FORGED!"))
    home = tmp_path / "home"
    _add(home, factory.fingerprint, serve_dir(evil), serve_dir(current))
    code, report = _run(capsys, "reader", "sync", "news", "--store-dir", str(home))
    assert code == 0
    assert report["outcome"] == "current"
    assert [n["kind"] for n in report["notes"]] == ["tampered"]
    assert b"FORGED" not in Store.open("news", home).read("articles/a1/index.html")


def test_frozen_mirrors_give_stale_and_a_banner(
    tmp_path: Path, serve_dir: Callable[[Path], str],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    factory = ReleaseFactory.articles()
    frozen = tmp_path / "frozen"
    factory.publish(sample_site(), timestamp_expires=now() - timedelta(seconds=60)).write(frozen)
    home = tmp_path / "home"
    _add(home, factory.fingerprint, serve_dir(frozen), serve_dir(frozen))
    code, report = _run(capsys, "reader", "sync", "news", "--store-dir", str(home))
    assert code == 3
    assert report["outcome"] == "stale"
    server = make_reading_server(Store.open("news", home))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = server_url(server)
        with urllib.request.urlopen(url + "articles/a0/") as response:
            page = response.read()
            csp = response.headers["Content-Security-Policy"]
            assert csp.startswith("default-src 'none'")
            assert csp.endswith("frame-ancestors 'none'")
        assert b"possibly outdated" in page
        assert b"release 1" in page
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url + "%2e%2e/%2e%2e/subscription.json")
        assert refused.value.code == 404
        refused.value.close()
    finally:
        server.shutdown()
        server.server_close()


def test_killed_sync_leaves_previous_release_readable(
    tmp_path: Path, releases: Any, serve_dir: Callable[[Path], str],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    factory, behind, current = releases
    home = tmp_path / "home"
    old_url = serve_dir(behind)
    _add(home, factory.fingerprint, old_url)
    assert main(["-q", "reader", "sync", "news", "--store-dir", str(home)]) == 0
    store = Store.open("news", home)
    before = store.read("articles/a3/index.html")
    subscription = json.loads((home / "news" / "subscription.json").read_text())
    subscription["mirrors"] = [serve_dir(current)]
    (home / "news" / "subscription.json").write_text(json.dumps(subscription))
    # The sync runs in a process of its own, through a source that SIGKILLs it after the
    # 6th file delivered: mid-download, with some objects stored and the release not.
    killed = run_killing("sync", str(home), "news", "6", timeout=60)
    assert killed.returncode == -9, killed.stderr
    assert store.release is not None
    assert store.release.version == 1
    assert store.read("articles/a3/index.html") == before
    # The next sync completes and reuses what the killed one stored.
    capsys.readouterr()
    code, report = _run(capsys, "reader", "sync", "news", "--store-dir", str(home))
    assert code == 0
    assert report["version"] == 2
    assert report["new_objects"] < 7


def test_neighbour_syncs_from_a_shared_store(
    tmp_path: Path, releases: Any, serve_dir: Callable[[Path], str],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    factory, _, current = releases
    _add(tmp_path / "a", factory.fingerprint, serve_dir(current))
    assert main(["-q", "reader", "sync", "news", "--store-dir", str(tmp_path / "a")]) == 0
    server = make_share_server(Store.open("news", tmp_path / "a"), "127.0.0.1")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = server_url(server)
        with urllib.request.urlopen(url + ".well-known/tamizdat/metadata/timestamp.json") as r:
            assert r.headers["Access-Control-Allow-Origin"] is None  # no CORS: not needed
        _add(tmp_path / "b", factory.fingerprint, url)
        capsys.readouterr()
        code, report = _run(capsys, "reader", "sync", "news", "--store-dir", str(tmp_path / "b"))
    finally:
        server.shutdown()
        server.server_close()
    assert code == 0
    assert report["outcome"] == "current"
    assert report["version"] == 2
    assert (
        Store.open("news", tmp_path / "b").read("index.html")
        == (current / "index.html").read_bytes()
    )


def test_cli_bundle_verify_import_and_reexport(
    tmp_path: Path, releases: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    factory, _, current = releases
    site = tmp_path / "site"
    site.mkdir()
    (site / "tamizdat.toml").write_text(
        f'[site]\ntitle = "Test News"\n[signing]\nrelease_dir = "{current}"\n'
    )
    code, counts = _run(capsys, "-C", str(site), "bundle", "-o", str(tmp_path / "full.zip"))
    assert code == 0
    assert counts["release"] == 2
    code, delta = _run(
        capsys, "-C", str(site), "bundle", "-o", str(tmp_path / "d.zip"), "--since", "1"
    )
    # Every page changed between the releases; only the stylesheet stays behind.
    assert code == 0
    assert delta["counts"]["objects"] == 6
    assert delta["counts"]["bytes"] < counts["counts"]["bytes"]
    home = str(tmp_path / "home")
    code, report = _run(
        capsys, "reader", "add", "news", "--from-bundle", str(tmp_path / "full.zip"),
        "--fingerprint", factory.fingerprint, "--store-dir", home,
    )  # fmt: skip
    assert code == 0
    assert report["outcome"] == "current"
    code, _again = _run(
        capsys, "reader", "bundle", "news", "-o", str(tmp_path / "re.zip"), "--store-dir", home
    )
    assert code == 0
    assert (tmp_path / "re.zip").read_bytes() == (tmp_path / "full.zip").read_bytes()
    code, listing = _run(capsys, "reader", "list", "--store-dir", home)
    assert listing["subscriptions"][0]["release"]["version"] == 2
    code, _ = _run(
        capsys, "reader", "add", "x", "--mirror", "http://127.0.0.1:9/", "--store-dir", home
    )
    assert code == 2


def test_stalling_mirror_times_out_and_is_skipped(
    tmp_path: Path, releases: Any, serve_dir: Callable[[Path], str],
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import socket

    factory, _, current = releases
    with socket.socket() as stall:  # accepts connections (kernel backlog), never answers
        stall.bind(("127.0.0.1", 0))
        stall.listen(8)
        stalled = f"http://127.0.0.1:{stall.getsockname()[1]}/"
        home = tmp_path / "home"
        _add(home, factory.fingerprint, stalled, serve_dir(current))
        code, report = _run(
            capsys, "reader", "sync", "news", "--store-dir", str(home), "--timeout", "0.5"
        )
    assert code == 0
    assert report["outcome"] == "current"
    assert any(n["mirror"] == stalled and n["kind"] == "unreachable" for n in report["notes"])


def _bilingual_site() -> dict[str, bytes]:
    files = sample_site()
    for lang, title in (("en", "Front page"), ("ru", "Главная")):
        files[f"{lang}/index.html"] = (
            f'<!doctype html><html lang="{lang}"><body><h1>{title}</h1></body></html>'
        ).encode()
        files[f"{lang}/404.html"] = (
            f'<!doctype html><html lang="{lang}"><body><h1>404 {lang}</h1></body></html>'
        ).encode()
    files["404.html"] = b'<!doctype html><html lang="en"><body><h1>404 all</h1></body></html>'
    return files


def test_reading_server_speaks_the_readers_language(
    tmp_path: Path, serve_dir: Callable[[Path], str], capsys: pytest.CaptureFixture[str]
) -> None:
    factory = ReleaseFactory.articles()
    mirror = tmp_path / "mirror"
    factory.publish(_bilingual_site()).write(mirror)
    home = tmp_path / "home"
    _add(home, factory.fingerprint, serve_dir(mirror))
    code, _report = _run(capsys, "reader", "sync", "news", "--store-dir", str(home))
    assert code == 0
    server = make_reading_server(Store.open("news", home))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host, port = server.server_address[:2]

        def get(path: str, language: str | None = None) -> tuple[int, dict[str, str], str]:
            connection = http.client.HTTPConnection(str(host), int(port), timeout=10)
            try:
                headers = {"Accept-Language": language} if language else {}
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                found = {k.lower(): v for k, v in response.getheaders()}
                return response.status, found, response.read().decode()
            finally:
                connection.close()

        status, headers, _ = get("/", "ru-RU,ru;q=0.9,en;q=0.5")
        assert (status, headers["location"]) == (302, "/ru/index.html")
        assert headers["vary"] == "Accept-Language"
        assert get("/", "fr")[0] == 200
        assert get("/", "../../etc")[0] == 200
        status, _, body = get("/ru/missing/page/")
        assert status == 404
        assert "404 ru" in body
        assert "Проверенная копия" in body  # the banner, in the page's language
        status, _, body = get("/missing", "ru")
        assert (status, "404 ru" in body) == (404, True)
        status, _, body = get("/missing")
        assert (status, "404 all" in body) == (404, True)
    finally:
        server.shutdown()
        server.server_close()
