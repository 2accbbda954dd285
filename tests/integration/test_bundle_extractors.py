"""Differential: what readers' archive tools unpack from a bundle is exactly what was verified.

For a bundle tamizdat writes, Info-ZIP ``unzip`` (central directory), Python ``zipfile``
(central directory), ``bsdtar`` fed through a pipe (libarchive's streaming reader: local
headers only) and a minimal local-header walker written here must each produce, byte for
byte, the file set ``tamizdat verify`` checked. The control cases show the harness sees a
difference when there is one: archives the bundle reader refuses do unpack differently.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support.trees import tree
from support.tuf_release import ReleaseFactory
from support.zipcraft import CraftEntry, CraftZip, unicode_path_field
from tamizdat.channels.bundle import open_bundle, write_bundle
from tamizdat.errors import BundleError
from tamizdat.trust.verify.whole import verify_release

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not (shutil.which("unzip") and shutil.which("bsdtar")),
        reason="Debian unzip and libarchive-tools not installed (scripts/setup.sh)",
    ),
]

SITE = {
    "index.html": b"<!doctype html><h1>home</h1>" + b"<p>lead</p>" * 200,
    "news/2026/caf\u00e9-\u00e9lection/index.html": "<p>выборы, élection</p>".encode(),
    "media/\u0444\u043e\u0442\u043e.jpg": bytes(range(256)) * 40,  # stored, not deflated
    "empty.txt": b"",
    "data/search.json": b'{"articles": [' + b'{"t": "x", "u": "/a/"},' * 9000 + b"{}]}",
    "a/b/c/d/e/deep.css": b"body{margin:0}",
}
_LOCAL = struct.Struct("<4s5H3L2H")
_ENV = {**os.environ, "LC_ALL": "C.UTF-8"}


def _unzip(bundle: Path, out: Path) -> None:
    subprocess.run(["unzip", "-qq", "-o", str(bundle), "-d", str(out)], check=True, env=_ENV)


def _python_zipfile(bundle: Path, out: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(out)


def _bsdtar_streaming(bundle: Path, out: Path) -> None:
    # Through a pipe, libarchive cannot seek to the central directory: it streams.
    out.mkdir()
    subprocess.run(
        ["bsdtar", "-xf", "-", "-C", str(out)], input=bundle.read_bytes(), check=True, env=_ENV
    )


def _walk_local_headers(data: bytes) -> Iterator[tuple[str, bytes]]:
    """What a naive streaming extractor sees: local headers from offset 0, in order."""
    pos = 0
    while data[pos : pos + 4] == b"PK\x03\x04":
        fields = _LOCAL.unpack_from(data, pos)
        method, csize, name_len, extra_len = fields[3], fields[7], fields[9], fields[10]
        name = data[pos + 30 : pos + 30 + name_len].decode("utf-8")
        start = pos + 30 + name_len + extra_len
        raw = data[start : start + csize]
        yield name, raw if method == 0 else zlib.decompress(raw, -zlib.MAX_WBITS)
        pos = start + csize


def _local_walker(bundle: Path, out: Path) -> None:
    for name, content in _walk_local_headers(bundle.read_bytes()):
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


EXTRACTORS: dict[str, Callable[[Path, Path], None]] = {
    "info-zip-unzip": _unzip,
    "python-zipfile": _python_zipfile,
    "bsdtar-streaming": _bsdtar_streaming,
    "local-header-walker": _local_walker,
}


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """A bundle we wrote and the file set ``verify`` checked in it, name by name."""
    root = tmp_path_factory.mktemp("verified")
    publisher = ReleaseFactory.bare()
    release = publisher.publish(SITE)
    bundle = root / "site.zip"
    write_bundle(release.write(root / "release"), bundle)
    with open_bundle(bundle) as source:
        report = verify_release(source, fingerprint=release.fingerprint)
        assert report.outcome == "current"
        assert report.listing_checked
        files = {name: source.fetch(name, 1 << 24) for name in source.names()}
    assert set(SITE) <= set(files)
    return bundle, files


@pytest.mark.parametrize("extract", sorted(EXTRACTORS))
def test_extractor_unpacks_exactly_the_verified_files(
    extract: str, verified: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    bundle, files = verified
    out = tmp_path / "out"
    EXTRACTORS[extract](bundle, out)
    assert not [p for p in out.rglob("*") if p.is_symlink()]
    assert tree(out) == files


def _extract_all(bundle: Path, tmp_path: Path) -> dict[str, dict[str, bytes]]:
    results = {}
    for name, extract in EXTRACTORS.items():
        out = tmp_path / name
        try:
            extract(bundle, out)
        except (subprocess.CalledProcessError, zipfile.BadZipFile, zlib.error):
            results[name] = {"<failed>": b""}
            continue
        results[name] = tree(out) if out.exists() else {}
    return results


_PAGE = "news/2026/election/index.html"
_CONTROLS = {
    # unzip honours the Unicode Path field, other readers take the plain name.
    "unicode-path-extra": CraftZip(
        [
            CraftEntry(
                _PAGE,
                b"<p>report</p>",
                central_extra=unicode_path_field(_PAGE.encode(), "news/2026/forged/index.html"),
            )
        ]
    ),
    # Readers of the central directory see one page; local-header readers see two.
    "hidden-local-entry": CraftZip(
        [
            CraftEntry("news/2026/forged/index.html", b"<p>forged</p>", in_central=False),
            CraftEntry(_PAGE, b"<p>report</p>"),
        ]
    ),
    # The central directory names one page, the local header another.
    "name-differs": CraftZip(
        [
            CraftEntry(
                _PAGE, b"<p>report</p>", local_name=_PAGE.replace("election", "electiom").encode()
            )
        ]
    ),
}


@pytest.mark.parametrize("case", sorted(_CONTROLS))
def test_control_archives_the_reader_refuses_do_unpack_differently(
    case: str, tmp_path: Path
) -> None:
    bundle = _CONTROLS[case].write(tmp_path / "control.zip")
    with pytest.raises(BundleError):
        open_bundle(bundle)
    results = _extract_all(bundle, tmp_path / "out")
    assert len({tuple(sorted(r.items())) for r in results.values()}) > 1, results
