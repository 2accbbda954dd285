"""A link, FIFO, socket or device planted in a tree never gets anything outside it published.

Threat (DESIGN.md): a contributor account controls files inside the site folder, whoever hands
over a copy controls every file of it. A symbolic link to the signing key in ``media/`` must
not end up signed in release/; a FIFO at a signed path must not hang a command. Every entry
point that walks or reads a tree is tried with every kind (tests/support/planted.py): the
command fails with one ``error:`` line naming the path, and the previous public/, release/
or store is left exactly as it was, with the secret's bytes nowhere in it.
"""

from __future__ import annotations

import http.server
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest

from support.planted import (
    ALL_KINDS,
    ALWAYS_REFUSED,
    BLOCKING,
    INSIDE_LINKS,
    SECRET,
    files_holding,
    outside_secret,
    plant,
)
from support.trees import snapshot
from tamizdat.cli import main
from tamizdat.errors import UnsafeFileError
from tamizdat.local_http import LocalHTTPServer
from tamizdat.publish.release import read_release
from tamizdat.reader.serve import make_reading_server
from tamizdat.reader.store import Store
from tamizdat.render.serve import _Handler as PreviewHandler

DEADLINE = 60.0  # seconds: a FIFO or device that is read would block or never end


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Run the CLI in a thread under DEADLINE; the exit code and the ``error:`` lines
    (``verify`` reports its verdict as a ``TAMPERED:`` line on stdout instead)."""
    capsys.readouterr()
    box: list[int | BaseException] = []

    def run() -> None:
        try:
            box.append(main(["-q", *argv]))
        except BaseException as exc:
            box.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(DEADLINE)
    assert not thread.is_alive(), f"'tamizdat {' '.join(argv)}' blocked past {DEADLINE} s"
    result = box[0]
    if isinstance(result, BaseException):
        raise result
    captured = capsys.readouterr()
    lines = (captured.err + captured.out).splitlines()
    errors = [line for line in lines if line.startswith(("error:", "TAMPERED:"))]
    return result, "\n".join(errors)


def assert_refused(code: int, errors: str, *names: str, expected: int = 2) -> None:
    """Exit ``expected``, one error line, naming every one of ``names``."""
    assert code == expected, errors
    assert len(errors.splitlines()) == 1, errors
    for name in names:
        assert name in errors


@pytest.fixture(scope="module")
def signed_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A built and signed site (demo keys inside it) and its root fingerprint."""
    root = tmp_path_factory.mktemp("planted") / "site"
    assert main(["-q", "init", str(root), "--title", "Planted"]) == 0
    toml_path = root / "tamizdat.toml"  # sign refuses the scaffold's preview base_url
    toml_path.write_text(
        toml_path.read_text("utf-8").replace("http://127.0.0.1:8000/", "https://planted.example/"),
        "utf-8",
    )
    with toml_path.open("a") as toml:
        toml.write('\n[signing]\nkeys_dir = "keys"\n')
    for folder in ("static", "theme/static", "shared"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "static" / "ok.txt").write_text("fine\n")
    (root / "shared" / "logo.txt").write_text("shared inside the site\n")
    (root / "theme" / "static" / "extra.css").write_text("p {}\n")
    for argv in (["build"], ["keys", "init", "--demo"], ["sign", "--demo"]):
        assert main(["-q", "-C", str(root), *argv]) == 0
    import hashlib

    first_root = root / "release" / ".well-known" / "tamizdat" / "metadata" / "1.root.json"
    return root, hashlib.sha256(first_root.read_bytes()).hexdigest()


@pytest.fixture
def site(signed_site: tuple[Path, str], tmp_path: Path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(signed_site[0], copy, symlinks=True)
    return copy


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    return outside_secret(tmp_path)


def _allow_links(site: Path) -> None:
    toml = site / "tamizdat.toml"
    text = toml.read_text()
    assert "[build]\n" in text
    toml.write_text(text.replace("[build]\n", "[build]\nfollow_links_inside_site = true\n", 1))


# --- tamizdat build ------------------------------------------------------------------------

BUILD_PLACES = (
    "content/planted.md",
    "content/news/planted.jpg",
    "media/planted.txt",
    "static/planted.txt",
    "theme/templates/planted.html",
    "theme/static/planted.css",
)


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("place", BUILD_PLACES)
def test_build_refuses_what_is_planted_in_the_site(
    site: Path, secret: Path, capsys: pytest.CaptureFixture[str], place: str, kind: str
) -> None:
    before = snapshot(site / "public")
    plant(site / place, kind, secret=secret, inside=site / "shared" / "logo.txt")
    code, errors = cli(capsys, "-C", str(site), "build")
    assert_refused(code, errors, place)
    assert snapshot(site / "public") == before
    assert files_holding(site / "public", SECRET) == []


@pytest.mark.parametrize("kind", ALWAYS_REFUSED)
def test_build_opt_in_still_refuses_what_leaves_the_site(
    site: Path, secret: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    _allow_links(site)
    before = snapshot(site / "public")
    plant(site / "static" / "planted.txt", kind, secret=secret)
    code, errors = cli(capsys, "-C", str(site), "build")
    assert_refused(code, errors, "static/")
    assert snapshot(site / "public") == before
    assert files_holding(site / "public", SECRET) == []


@pytest.mark.parametrize("kind", INSIDE_LINKS)
def test_build_opt_in_follows_links_that_stay_inside(
    site: Path, secret: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    _allow_links(site)
    shared = site / "shared" / "logo.txt"
    plant(site / "static" / "planted.txt", kind, secret=secret, inside=shared)
    code, errors = cli(capsys, "-C", str(site), "build")
    assert code == 0, errors
    copied = site / "public" / "planted.txt"
    if kind == "link-to-inside-dir":
        copied = copied / "logo.txt"
    assert copied.read_bytes() == shared.read_bytes()
    assert not copied.is_symlink()


def test_authors_file_linked_out_of_the_site_is_refused(
    site: Path, secret: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(site / "public")
    authors = site / "data" / "authors.yaml"
    authors.unlink()
    plant(authors, "link-to-outside-file", secret=secret)
    code, errors = cli(capsys, "-C", str(site), "build")
    assert_refused(code, errors, "data/authors.yaml")
    assert snapshot(site / "public") == before


@pytest.mark.parametrize("opt_in", [False, True])
def test_a_site_folder_that_is_a_link_out_is_refused(
    site: Path, secret: Path, capsys: pytest.CaptureFixture[str], opt_in: bool
) -> None:
    if opt_in:
        _allow_links(site)
    before = snapshot(site / "public")
    shutil.rmtree(site / "media")
    (site / "media").symlink_to(secret.parent, target_is_directory=True)
    code, errors = cli(capsys, "-C", str(site), "build")
    assert_refused(code, errors, "build.static_dirs")
    assert "media" in errors
    assert snapshot(site / "public") == before


# --- tamizdat sign, publish ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("place", ["planted.txt", "en/planted.txt"])
def test_sign_refuses_what_is_planted_in_public(
    site: Path, secret: Path, capsys: pytest.CaptureFixture[str], place: str, kind: str
) -> None:
    before = snapshot(site / "release")
    plant(site / "public" / place, kind, secret=secret, inside=site / "public" / "index.html")
    code, errors = cli(capsys, "-C", str(site), "sign", "--demo")
    # A chain's or loop's first hop is a planted link too, and may be the one named.
    assert_refused(code, errors, f"public/{place.removesuffix('planted.txt')}", "planted.txt")
    assert snapshot(site / "release") == before
    assert files_holding(site / "release", SECRET) == []


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_publish_refuses_what_is_planted_in_release(site: Path, secret: Path, kind: str) -> None:
    plant(
        site / "release" / "planted.txt",
        kind,
        secret=secret,
        inside=site / "release" / "index.html",
    )
    with pytest.raises(UnsafeFileError) as caught:
        read_release(site / "release")
    assert caught.value.where is not None
    assert caught.value.where.endswith("planted.txt")


# --- tamizdat verify DIR, bundle, zim ------------------------------------------------------


def _object_of(release: Path, name: str) -> Path:
    found = sorted((release / ".well-known" / "tamizdat" / "targets").glob(f"*.{name}"))
    assert found, name
    return found[0]


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("place", ["index.html", "extra/planted.txt"])
def test_verify_dir_calls_a_planted_file_tampered(
    signed_site: tuple[Path, str],
    tmp_path: Path,
    secret: Path,
    capsys: pytest.CaptureFixture[str],
    place: str,
    kind: str,
) -> None:
    copy = tmp_path / "usb"
    shutil.copytree(signed_site[0] / "release", copy, symlinks=True)
    if (copy / place).exists():
        (copy / place).unlink()
    plant(copy / place, kind, secret=secret, inside=copy / "robots.txt")
    code, errors = cli(capsys, "verify", str(copy), "--fingerprint", signed_site[1])
    # A chain's or loop's first hop (".hop-NAME") is planted too, and may be the one named.
    folder, _slash, name = place.rpartition("/")
    assert_refused(code, errors, folder, name, expected=5)
    assert "TAMPERED" in errors


@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("command", ["bundle", "zim"])
def test_bundle_and_zim_refuse_a_planted_object(
    site: Path, secret: Path, capsys: pytest.CaptureFixture[str], command: str, kind: str
) -> None:
    release = site / "release"
    target = _object_of(release, "index.html")
    target.unlink()
    plant(target, kind, secret=secret, inside=release / "robots.txt")
    out = site.parent / f"out.{command}"
    code, errors = cli(capsys, "-C", str(site), command, "-o", str(out))
    assert_refused(code, errors, target.name)
    assert not out.exists()


# --- the reader: import, its store, its server, the preview server ---------------------------


@pytest.fixture(scope="module")
def reader_home(signed_site: tuple[Path, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("reader")
    bundle = base / "v1.zip"
    assert main(["-q", "-C", str(signed_site[0]), "bundle", "-o", str(bundle)]) == 0
    home = base / "home"
    argv = ["reader", "add", "news", "--from-bundle", str(bundle)]
    assert main(["-q", *argv, "--fingerprint", signed_site[1], "--store-dir", str(home)]) == 0
    return home


@pytest.fixture
def home(reader_home: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(reader_home, copy, symlinks=True)
    return copy


@pytest.mark.parametrize("kind", [*BLOCKING, "socket", "dangling-link", "link-loop"])
def test_reader_import_of_a_special_file_fails_at_once(
    home: Path, secret: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    before = snapshot(home)
    bundle = home.parent / "handed-over.zip"
    plant(bundle, kind, secret=secret)
    code, errors = cli(capsys, "reader", "import", "news", str(bundle), "--store-dir", str(home))
    assert_refused(code, errors, "handed-over.zip")
    assert snapshot(home) == before


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_reader_bundle_refuses_a_planted_store_object(
    home: Path, secret: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    store = Store.open("news", home)
    objects = sorted(store.objects.rglob("*.index.html"))
    assert objects
    objects[0].unlink()
    plant(objects[0], kind, secret=secret, inside=store.current / "site" / "robots.txt")
    out = home.parent / "for-a-friend.zip"
    code, errors = cli(capsys, "reader", "bundle", "news", "-o", str(out), "--store-dir", str(home))
    assert_refused(code, errors, "index.html")
    assert not out.exists()


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=DEADLINE) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture
def serving() -> Iterator[Callable[[http.server.HTTPServer], str]]:
    servers: list[http.server.HTTPServer] = []

    def start(server: http.server.HTTPServer) -> str:
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_reader_serve_never_serves_a_planted_file(
    home: Path, secret: Path, serving: Callable[[http.server.HTTPServer], str], kind: str
) -> None:
    store = Store.open("news", home)
    page = store.current / "site" / "index.html"
    page.unlink()
    plant(page, kind, secret=secret, inside=store.current / "site" / "robots.txt")
    url = serving(make_reading_server(store))
    assert _get(url) == 404
    assert _get(url + "index.html") == 404
    assert _get(url + "robots.txt") == 200


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_preview_serve_never_serves_a_planted_file(
    site: Path, secret: Path, serving: Callable[[http.server.HTTPServer], str], kind: str
) -> None:
    public = site / "public"
    plant(public / "planted.txt", kind, secret=secret, inside=public / "robots.txt")
    handler = partial(PreviewHandler, directory=str(public))
    url = serving(LocalHTTPServer(("127.0.0.1", 0), handler))
    assert _get(url + "planted.txt") == 404
    assert _get(url + "robots.txt") == 200
