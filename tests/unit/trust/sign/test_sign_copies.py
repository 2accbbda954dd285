"""release/ holds its own copies of public/'s files: what was signed stays what was signed
whatever is later done to public/, and a release is never half there."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from trustkit import NOW, SAMPLE_FILES, SignedSite, make_signed_site, write_config, write_public

from tamizdat.errors import UnsafeFileError, UserError
from tamizdat.layout import METADATA_DIR, by_hash_path
from tamizdat.trust.sign.keys import init_keys
from tamizdat.trust.sign.signing import sign_release

ARTICLE = "en/news/2026/03/second-story/index.html"


def _signed_files(release: Path) -> dict[str, tuple[int, str]]:
    """Every current target's (length, sha256), from the release's own metadata (newer
    versions of a role read last)."""
    meta = release / METADATA_DIR
    found: dict[str, tuple[int, str]] = {}
    files = [f for f in meta.glob("*.json") if f.name.split(".")[0].isdigit()]
    for file in sorted(files, key=lambda f: int(f.name.split(".")[0])):
        signed = json.loads(file.read_bytes())["signed"]
        for path, info in signed.get("targets", {}).items():
            found[path] = (info["length"], info["hashes"]["sha256"])
    return found


def _assert_release_matches_metadata(site: SignedSite, paths: list[str]) -> None:
    signed = _signed_files(site.release)
    for path in paths:
        length, sha256 = signed[path]
        for copy in (site.release / path, site.release / by_hash_path(path, sha256)):
            data = copy.read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (length, sha256), copy


def _edit_in_place(path: Path, data: bytes) -> None:
    """What an editor that keeps hard links does (vim on a file with several links)."""
    with path.open("r+b") as handle:
        handle.write(data)
        handle.truncate()


@pytest.mark.parametrize("release", ["first", "later"])
def test_editing_public_in_place_never_changes_a_signed_file(
    signed_site: SignedSite, release: str
) -> None:
    if release == "later":
        signed_site.resign({ARTICLE: b"<p>second, corrected</p>"}, now=NOW + timedelta(hours=1))
    paths = [p for p in SAMPLE_FILES if p != "robots.txt"]
    for path in paths:
        assert (signed_site.public / path).stat().st_ino != (
            signed_site.release / path
        ).stat().st_ino
        _edit_in_place(signed_site.public / path, b"edited by hand after signing")
    _assert_release_matches_metadata(signed_site, paths)


def test_a_first_release_is_assembled_beside_and_renamed_into_place(tmp_path: Path) -> None:
    site = make_signed_site(tmp_path / "site")
    assert site.report.version == 1
    assert not list(site.release.parent.glob(".release.assembly-*"))
    _assert_release_matches_metadata(site, list(SAMPLE_FILES))
    # natural paths are links to their by-hash objects: one copy of each file in release/
    signed = _signed_files(site.release)
    for path in SAMPLE_FILES:
        natural = (site.release / path).stat()
        by_hash = (site.release / by_hash_path(path, signed[path][1])).stat()
        assert natural.st_ino == by_hash.st_ino


def test_a_refused_first_release_leaves_no_release_and_no_assembly(tmp_path: Path) -> None:
    root = tmp_path / "site"
    config = write_config(root)
    init_keys(config, demo=True, now=NOW)
    public = config.build.output_dir
    write_public(public, SAMPLE_FILES)
    os.mkfifo(public / "en" / "zz-planted")  # found after many files were copied
    with pytest.raises(UnsafeFileError):
        sign_release(
            config, public_dir=public, release_dir=config.signing.release_dir, now=NOW,
            allow_demo=True,
        )  # fmt: skip
    assert not config.signing.release_dir.exists()
    assert not list(root.glob(".release.assembly-*"))


def test_a_first_release_after_release_was_removed_copies_every_file(
    signed_site: SignedSite,
) -> None:
    """The hash cache knows every file, but a first release must still copy them all."""
    for path in sorted(signed_site.release.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    report = signed_site.resign(now=NOW + timedelta(hours=1))
    assert report.version == 1
    _assert_release_matches_metadata(signed_site, list(SAMPLE_FILES))


def test_a_hash_cache_that_lies_cannot_get_other_bytes_signed(signed_site: SignedSite) -> None:
    """A cache entry whose stamp matches but whose digest is not the file's (damaged, or
    written by someone else): the copy is checked against the digest before anything is
    signed, the previous release stays as it was."""
    write_public(signed_site.public, {ARTICLE: b"<p>new text</p>"})
    cache_file = signed_site.config.build.cache_dir / "trust" / "hashes.json"
    cache = json.loads(cache_file.read_bytes())
    st = (signed_site.public / ARTICLE).stat()
    at = cache["paths"].index(ARTICLE)
    cache["stamps"][4 * at : 4 * at + 4] = [st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns]
    lie = hashlib.sha256(b"<p>other text</p>").hexdigest()
    cache["digests"] = cache["digests"][: 64 * at] + lie + cache["digests"][64 * (at + 1) :]
    cache_file.write_text(json.dumps(cache))
    later = st.st_mtime_ns + 5_000_000_000
    os.utime(cache_file, ns=(later, later))
    before = (signed_site.release / METADATA_DIR / "timestamp.json").read_bytes()
    with pytest.raises(UserError) as caught:
        signed_site.resign(now=NOW + timedelta(hours=1))
    assert ARTICLE in str(caught.value.where)
    assert (signed_site.release / METADATA_DIR / "timestamp.json").read_bytes() == before
    assert not (signed_site.release / by_hash_path(ARTICLE, lie)).exists()


@pytest.mark.parametrize("size", [0, 1 << 20, (1 << 20) + 1, 3 << 20])
def test_files_of_every_size_are_copied_whole(tmp_path: Path, size: int) -> None:
    """Read at once up to 1 MiB, streamed above: either way the copy is the signed bytes."""
    big = "media/news/2026/03/film.mp4"
    data = bytes(range(256)) * (size // 256) + b"\x01" * (size % 256)
    site = make_signed_site(tmp_path / "site", {**SAMPLE_FILES, big: data})
    _assert_release_matches_metadata(site, [big])
    assert (site.release / big).read_bytes() == data
    site.resign({big: data[::-1]}, now=NOW + timedelta(hours=1))
    _assert_release_matches_metadata(site, [big])
