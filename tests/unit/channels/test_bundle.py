"""Bundles: deterministic round trips, deltas, and refusal of every hostile shape."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from support.zipcraft import CraftEntry, CraftZip
from tamizdat.channels.bundle import (
    BUNDLE_JSON,
    FORMAT,
    BundleLimits,
    BundleSource,
    open_bundle,
    read_bundle_safely,
    write_bundle,
)
from tamizdat.errors import BundleError, MirrorResponseError, OversizeError, UserError
from tamizdat.layout import METADATA_DIR, TARGETS_DIR, by_hash_path, metadata_path


@pytest.fixture
def release(tmp_path: Path, release_factory: Any, sample_site: dict[str, bytes]) -> Path:
    out = tmp_path / "release"
    release_factory.publish(sample_site).write(out)
    changed = dict(sample_site)
    changed["articles/a1/index.html"] = b"<html><body>corrected</body></html>"
    release_factory.publish(changed).write(out)
    return out


def test_round_trip_stores_natural_paths_and_serves_the_by_hash_view(
    release: Path, tmp_path: Path
) -> None:
    out = tmp_path / "b.zip"
    counts = write_bundle(release, out)
    source = open_bundle(out)
    assert counts["release"] == 2
    assert source.release == 2
    assert source.since is None
    corrected = b"<html><body>corrected</body></html>"
    assert source.fetch("articles/a1/index.html", 10_000) == corrected
    sha = hashlib.sha256(corrected).hexdigest()
    by_hash = by_hash_path("articles/a1/index.html", sha)
    assert source.fetch(by_hash, 10_000) == corrected
    assert source.stored_as(by_hash) == source.stored_as("articles/a1/index.html")
    assert (
        source.fetch(metadata_path("timestamp", None), 10_000)
        == (release / metadata_path("timestamp", None)).read_bytes()
    )
    # Unzipped, it is the site: every signed file once, at its natural path; no by-hash copies.
    names = source.names()
    assert not any(n.startswith(TARGETS_DIR) for n in names)
    content = [n for n in names if not n.startswith(".well-known/tamizdat/")]
    assert len(content) == counts["objects"] == 7
    assert "index.html" in content
    assert sorted(source.list_files()) == names
    with zipfile.ZipFile(out) as archive:
        assert json.loads(archive.read(BUNDLE_JSON))["format"] == FORMAT == "tamizdat-bundle/2"


def test_media_stored_text_and_metadata_deflated(tmp_path: Path, release_factory: Any) -> None:
    site = {"index.html": b"<p>home</p>" * 50, "img/photo.jpg": bytes(range(256)) * 20}
    release_factory.publish(site).write(tmp_path / "release")
    write_bundle(tmp_path / "release", tmp_path / "b.zip")
    with zipfile.ZipFile(tmp_path / "b.zip") as archive:
        kinds = {i.filename: i.compress_type for i in archive.infolist()}
    assert kinds["img/photo.jpg"] == zipfile.ZIP_STORED
    assert kinds["index.html"] == zipfile.ZIP_DEFLATED
    assert kinds[metadata_path("timestamp", None)] == zipfile.ZIP_DEFLATED


def test_bundle_is_deterministic(release: Path, tmp_path: Path) -> None:
    write_bundle(release, tmp_path / "one.zip")
    write_bundle(release, tmp_path / "two.zip")
    assert (tmp_path / "one.zip").read_bytes() == (tmp_path / "two.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        names = archive.namelist()
        assert names == sorted(names)
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_delta_bundle_holds_only_changed_files(release: Path, tmp_path: Path) -> None:
    counts = write_bundle(release, tmp_path / "d.zip", since_version=1)
    source = open_bundle(tmp_path / "d.zip")
    assert source.since == 1
    content = [n for n in source.names() if not n.startswith(".well-known/tamizdat/")]
    assert counts["objects"] == 1
    assert content == ["articles/a1/index.html"]


def test_format_1_by_hash_entries_are_still_served(tmp_path: Path) -> None:
    page = b"<p>old format</p>"
    name = by_hash_path("news/index.html", hashlib.sha256(page).hexdigest())
    bundle = _zip(tmp_path / "v1.zip", [(name, page)])
    source = open_bundle(bundle)
    assert source.fetch("news/index.html", 100) == page
    assert source.fetch(name, 100) == page
    assert list(source.list_files()) == [name]


def test_missing_and_oversize_entries(release: Path, tmp_path: Path) -> None:
    write_bundle(release, tmp_path / "b.zip")
    source = open_bundle(tmp_path / "b.zip")
    with pytest.raises(MirrorResponseError):
        source.fetch("nope.html", 100)
    with pytest.raises(OversizeError):
        source.fetch("index.html", 3)


def _zip(path: Path, entries: Sequence[CraftEntry | tuple[str, bytes]]) -> Path:
    """A ZIP in the canonical form in every respect but the names and sizes chosen."""
    crafted = [e if isinstance(e, CraftEntry) else CraftEntry(*e) for e in entries]
    return CraftZip(crafted).write(path)


_OBJ = f"{TARGETS_DIR}/articles/{'a' * 64}.index.html"


@pytest.mark.parametrize(
    ("entries", "fragment", "entry"),
    [
        ([(f"{TARGETS_DIR}/../../x", b"x")], "traversal", "../x"),
        ([("/etc/passwd", b"x")], "absolute", "/etc/passwd"),
        ([(_OBJ, b"1"), (_OBJ, b"2")], "duplicate", _OBJ),
        ([(f"{TARGETS_DIR}/news/index.html", b"x")], "not a by-hash object", "news/index"),
        ([(f"{METADATA_DIR}/evil.html", b"x")], "not a metadata file name", "evil.html"),
        ([("News/a.html", b"1"), ("news/A.html", b"2")], "after case folding", "news/A.html"),
        ([(f"{TARGETS_DIR}/{'c' * 64}.z", b"\0" * (3 << 20))], "bomb", ".z"),
        ([("C:/evil", b"x")], "colon", "C:/evil"),
    ],
    ids=[
        "traversal",
        "absolute",
        "duplicate",
        "not-by-hash",
        "not-metadata",
        "case-duplicate",
        "bomb",
        "drive",
    ],
)
def test_hostile_bundles_are_refused_naming_the_entry(
    tmp_path: Path, entries: list[tuple[str, bytes]], fragment: str, entry: str
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
    entry = source.index.entries["style.css"]
    original = whole.read_bytes()
    source.close()
    # Changed after opening (a file on a USB stick being rewritten): every read checks again.
    for offset, why in ((entry.data_offset, "corrupt entry"), (entry.offset + 30, "name")):
        data = bytearray(original)
        data[offset] ^= 0xFF
        whole.write_bytes(bytes(data))
        with pytest.raises(BundleError, match=why) as info:
            BundleSource(source.index).fetch("style.css", 1000)
        assert info.value.where == f"{whole}: style.css"
        with pytest.raises(BundleError, match=why):
            open_bundle(whole)


def test_bundle_json_must_be_an_object(tmp_path: Path) -> None:
    bundle = _zip(tmp_path / "bad.zip", [(BUNDLE_JSON, b"[1,2]")])
    with pytest.raises(BundleError, match="JSON object"):
        read_bundle_safely(bundle)


def test_a_release_missing_a_listed_file_is_named_not_a_crash(
    release: Path, tmp_path: Path
) -> None:
    corrected = hashlib.sha256(b"<html><body>corrected</body></html>").hexdigest()
    (release / by_hash_path("articles/a1/index.html", corrected)).unlink()
    out = tmp_path / "b.zip"
    with pytest.raises(
        UserError, match="the release's metadata names this file, but it is missing"
    ):
        write_bundle(release, out)
    assert not out.exists()
    assert not list(tmp_path.glob(".b.zip.*"))  # no temporary file left behind
