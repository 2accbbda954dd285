"""Bundles: deterministic round trips, deltas, and refusal of every hostile shape."""

from __future__ import annotations

import hashlib
import stat
import warnings
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tamizdat.channels.bundle import (
    BUNDLE_JSON,
    BundleLimits,
    open_bundle,
    read_bundle_safely,
    write_bundle,
)
from tamizdat.errors import BundleError, MirrorResponseError, OversizeError
from tamizdat.layout import TARGETS_DIR, metadata_path


@pytest.fixture
def release(tmp_path: Path, release_factory: Any, sample_site: dict[str, bytes]) -> Path:
    out = tmp_path / "release"
    release_factory.publish(out, sample_site)
    changed = dict(sample_site)
    changed["articles/a1/index.html"] = b"<html><body>corrected</body></html>"
    release_factory.publish(out, changed)
    return out


def test_round_trip_serves_metadata_objects_and_natural_paths(
    release: Path, tmp_path: Path
) -> None:
    out = tmp_path / "b.zip"
    counts = write_bundle(release, out)
    source = open_bundle(out)
    assert counts["release"] == 2
    assert source.release == 2
    assert source.since is None
    assert source.fetch("articles/a1/index.html", 10_000) == b"<html><body>corrected</body></html>"
    assert (
        source.fetch(metadata_path("timestamp", None), 10_000)
        == (release / metadata_path("timestamp", None)).read_bytes()
    )
    # Only objects of the current release travel, and no natural-path copies.
    objects = [n for n in source.names() if n.startswith(TARGETS_DIR)]
    assert len(objects) == counts["objects"] == 7
    assert not any(n == "index.html" for n in source.names())


def test_bundle_is_deterministic(release: Path, tmp_path: Path) -> None:
    write_bundle(release, tmp_path / "one.zip")
    write_bundle(release, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_delta_bundle_holds_only_changed_objects(release: Path, tmp_path: Path) -> None:
    counts = write_bundle(release, tmp_path / "d.zip", since_version=1)
    source = open_bundle(tmp_path / "d.zip")
    assert source.since == 1
    objects = [n for n in source.names() if n.startswith(TARGETS_DIR)]
    assert counts["objects"] == 1
    assert objects[0].endswith(".index.html")
    assert "/articles/a1/" in objects[0]


def test_missing_and_oversize_entries(release: Path, tmp_path: Path) -> None:
    write_bundle(release, tmp_path / "b.zip")
    source = open_bundle(tmp_path / "b.zip")
    with pytest.raises(MirrorResponseError):
        source.fetch("nope.html", 100)
    with pytest.raises(OversizeError):
        source.fetch("index.html", 3)


def _zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in entries:
                archive.writestr(name, data)
    return path


_OBJ = f"{TARGETS_DIR}/articles/{'a' * 64}.index.html"


def _symlink() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(f"{TARGETS_DIR}/{'b' * 64}.x")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info


@pytest.mark.parametrize(
    ("entries", "fragment", "entry"),
    [
        ([(f"{TARGETS_DIR}/../../x", b"x")], "traversal", "../x"),
        ([("/etc/passwd", b"x")], "absolute", "/etc/passwd"),
        ([(_symlink(), b"/etc/passwd")], "not a regular file", ".x"),
        ([(_OBJ, b"1"), (_OBJ, b"2")], "duplicate", _OBJ),
        ([("index.html", b"<html>")], "outside the layout", "index.html"),
        ([(f"{TARGETS_DIR}/{'c' * 64}.z", b"\0" * (3 << 20))], "bomb", ".z"),
        ([("C:/evil", b"x")], "drive letter", "C:/evil"),
    ],
    ids=["traversal", "absolute", "symlink", "duplicate", "outside", "bomb", "drive"],
)
def test_hostile_bundles_are_refused_naming_the_entry(
    tmp_path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]], fragment: str, entry: str
) -> None:
    bundle = _zip(tmp_path / "evil.zip", entries)
    with pytest.raises(BundleError) as caught:
        read_bundle_safely(bundle)
    assert fragment in str(caught.value)
    assert entry in str(caught.value)
    assert "evil.zip" in str(caught.value)


def test_absurd_entry_count_and_total_size(tmp_path: Path) -> None:
    many = [
        (f"{TARGETS_DIR}/{hashlib.sha256(str(i).encode()).hexdigest()}.f", b"x") for i in range(50)
    ]
    bundle = _zip(tmp_path / "many.zip", many)
    with pytest.raises(BundleError, match="50 entries"):
        read_bundle_safely(bundle, BundleLimits(max_entries=10))
    with pytest.raises(BundleError, match="bytes unpacked"):
        read_bundle_safely(bundle, BundleLimits(max_total_bytes=20))


def test_truncated_bundle_is_refused(release: Path, tmp_path: Path) -> None:
    whole = tmp_path / "whole.zip"
    write_bundle(release, whole)
    data = whole.read_bytes()
    for cut in (len(data) // 2, len(data) - 10):
        part = tmp_path / f"cut{cut}.zip"
        part.write_bytes(data[:cut])
        with pytest.raises(BundleError, match="truncated"):
            read_bundle_safely(part)


def test_corrupt_entry_is_reported_on_read(release: Path, tmp_path: Path) -> None:
    whole = tmp_path / "whole.zip"
    write_bundle(release, whole)
    source = open_bundle(whole)
    entry = source.index.entries[source.index.natural["style.css"]]
    data = bytearray(whole.read_bytes())
    start = entry.header_offset + 30 + len(entry.filename) + len(entry.extra)
    data[start] ^= 0xFF
    whole.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="corrupt entry"):
        open_bundle(whole).fetch("style.css", 1000)


def test_bundle_json_must_be_an_object(tmp_path: Path) -> None:
    bundle = _zip(tmp_path / "bad.zip", [(BUNDLE_JSON, b"[1,2]")])
    with pytest.raises(BundleError, match="JSON object"):
        read_bundle_safely(bundle)
