"""Signing a small public/ produces standard TUF metadata, incrementally."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from trustkit import NOW, SAMPLE_FILES, SignedSite, make_signed_site, write_public
from tuf.api.metadata import Metadata, Root, Snapshot, Targets, Timestamp
from tuf.ngclient import Updater

from tamizdat.config import load_config
from tamizdat.errors import KeyStoreError
from tamizdat.fingerprint import root_fingerprint
from tamizdat.layout import LOG_JSON, METADATA_DIR, by_hash_path, log_entry_path
from tamizdat.trust.log_chain import read_log
from tamizdat.trust.sign import release_dir as rel
from tamizdat.trust.sign.signing import sign_release

META = METADATA_DIR


def _load(release: Path, name: str) -> Metadata:  # type: ignore[type-arg]
    return Metadata.from_bytes((release / META / name).read_bytes())


def _walk_roles(release: Path) -> dict[str, Metadata[Targets]]:
    """Every current targets role, each verified with its delegator's keys."""
    root = _load(release, "root.json")
    timestamp = _load(release, "timestamp.json")
    root.verify_delegate("timestamp", timestamp)
    snap_version = timestamp.signed.snapshot_meta.version
    snapshot = _load(release, f"{snap_version}.snapshot.json")
    root.verify_delegate("snapshot", snapshot)
    assert isinstance(snapshot.signed, Snapshot)
    roles: dict[str, Metadata[Targets]] = {}
    targets = _load(release, f"{snapshot.signed.meta['targets.json'].version}.targets.json")
    root.verify_delegate("targets", targets)
    roles["targets"] = targets
    queue = ["targets"]
    while queue:
        parent = roles[queue.pop()]
        delegations = parent.signed.delegations
        for child in delegations.roles.values() if delegations and delegations.roles else []:
            version = snapshot.signed.meta[f"{child.name}.json"].version
            md = _load(release, f"{version}.{child.name}.json")
            parent.verify_delegate(child.name, md)
            assert md.signed.version == version
            roles[child.name] = md
            queue.append(child.name)
    return roles


def test_release_is_valid_tuf_with_by_hash_objects(signed_site: SignedSite) -> None:
    release = signed_site.release
    roles = _walk_roles(release)
    seen = {}
    for md in roles.values():
        for path, target in md.signed.targets.items():
            seen[path] = target
            obj = (release / by_hash_path(path, target.hashes["sha256"])).read_bytes()
            target.verify_length_and_hashes(obj)
            assert (release / path).read_bytes() == obj
    assert set(seen) == {*SAMPLE_FILES, LOG_JSON, log_entry_path(0)}
    assert (
        root_fingerprint((release / META / "1.root.json").read_bytes()) == signed_site.fingerprint
    )
    assert isinstance(_load(release, "1.root.json").signed, Root)


def test_ngclient_accepts_release_and_downloads_every_target(
    signed_site: SignedSite, tuf_updater: Callable[[Path, bytes], Updater], tmp_path: Path
) -> None:
    root = (signed_site.release / META / "1.root.json").read_bytes()
    updater = tuf_updater(signed_site.release, root)
    updater.refresh()
    for path, data in SAMPLE_FILES.items():
        info = updater.get_targetinfo(path)
        assert info is not None, path
        saved = updater.download_target(info, str(tmp_path / "dl"))
        assert Path(saved).read_bytes() == data


# Every shape of the role layout: closed years (merged), months, page runs, archive years.
LAYOUT_FILES: dict[str, bytes] = {
    **SAMPLE_FILES,
    "en/news/2024/05/old/index.html": b"old",
    "media/news/2024/05/old-480.jpg": b"img",
    **{f"en/page/{n}/index.html": f"home {n}".encode() for n in (2, 99, 100, 150)},
    **{f"ru/culture/page/{n}/index.html": f"culture {n}".encode() for n in (3, 120)},
    "en/archive/2026/03/index.html": b"march",
    "en/archive/2024/05/index.html": b"may",
    "en/archive/index.html": b"archive",
}


def test_ngclient_resolves_every_shape_of_the_role_layout(
    tmp_path: Path, tuf_updater: Callable[[Path, bytes], Updater]
) -> None:
    site = make_signed_site(tmp_path / "site", LAYOUT_FILES)
    roles = _walk_roles(site.release)
    assert {"news-2024", "news-2026-03", "culture-page-ru-0", "culture-page-ru-1"} <= set(roles)
    assert {"site-en-page-0", "site-en-page-1", "site-en-archive-2026"} <= set(roles)
    updater = tuf_updater(site.release, (site.release / META / "1.root.json").read_bytes())
    updater.refresh()
    for path, data in LAYOUT_FILES.items():
        info = updater.get_targetinfo(path)
        assert info is not None, path
        saved = updater.download_target(info, str(tmp_path / "dl"))
        assert Path(saved).read_bytes() == data


def test_metadata_under_200_bytes_per_file(signed_site: SignedSite) -> None:
    # Tiny sites pay a fixed cost for root and keys; check the per-target cost instead.
    roles = _walk_roles(signed_site.release)
    leaf_bytes = sum(
        len((signed_site.release / META / f"{md.signed.version}.{name}.json").read_bytes())
        for name, md in roles.items()
        if md.signed.targets
    )
    signature_overhead = 300 * sum(1 for md in roles.values() if md.signed.targets)
    assert (leaf_bytes - signature_overhead) / len(SAMPLE_FILES) < 200


def test_incremental_resign_touches_only_changed_roles(signed_site: SignedSite) -> None:
    _settle_hash_cache(signed_site)
    report = signed_site.resign({"en/news/2026/03/third/index.html": b"third"})
    assert report.hashed == 1
    assert report.added == ("en/news/2026/03/third/index.html",)
    assert set(report.roles_signed) == {"news-2026-03", "site-well-known-tamizdat"}
    _settle_hash_cache(signed_site)
    again = signed_site.resign()
    assert again.hashed == 0
    assert set(again.roles_signed) == {"site-well-known-tamizdat"}
    assert (again.added, again.changed, again.removed) == ((), (), ())
    _walk_roles(signed_site.release)


def test_removed_file_leaves_release_and_old_objects_are_pruned(signed_site: SignedSite) -> None:
    old = hashlib.sha256(SAMPLE_FILES["robots.txt"]).hexdigest()
    signed_site.resign({"robots.txt": b"v2"})
    assert (signed_site.release / by_hash_path("robots.txt", old)).exists()  # previous release
    report = signed_site.resign({"robots.txt": None})
    assert report.removed == ("robots.txt",)
    assert not (signed_site.release / "robots.txt").exists()
    assert not (signed_site.release / by_hash_path("robots.txt", old)).exists()
    assert "robots.txt" not in {
        p for md in _walk_roles(signed_site.release).values() for p in md.signed.targets
    }


def test_log_chain_matches_snapshots(signed_site: SignedSite) -> None:
    signed_site.resign({"index.html": b"new home"})
    log = read_log(lambda p: (signed_site.release / p).read_bytes(), "log")
    assert [e.version for e in log.entries] == [1, 2]
    for entry in log.entries:
        snap = (signed_site.release / META / f"{entry.version}.snapshot.json").read_bytes()
        assert hashlib.sha256(snap).hexdigest() == entry.snapshot_sha256
    assert log.entries[1].changed == ("index.html",)


def test_timestamp_is_signed_last_and_names_the_snapshot(signed_site: SignedSite) -> None:
    timestamp = _load(signed_site.release, "timestamp.json")
    assert isinstance(timestamp.signed, Timestamp)
    snap = (signed_site.release / META / "1.snapshot.json").read_bytes()
    timestamp.signed.snapshot_meta.verify_length_and_hashes(snap)
    assert timestamp.signed.expires == NOW + timedelta(days=3)


def test_demo_keys_refused_without_permission(
    signed_site: SignedSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TAMIZDAT_DEMO_KEYS", raising=False)
    with pytest.raises(KeyStoreError, match="demo key"):
        sign_release(
            signed_site.config,
            public_dir=signed_site.public,
            release_dir=signed_site.release,
            now=NOW,
        )
    monkeypatch.setenv("TAMIZDAT_DEMO_KEYS", "1")
    report = sign_release(
        signed_site.config, public_dir=signed_site.public, release_dir=signed_site.release, now=NOW
    )
    assert report.version == 2


def test_a_changed_article_page_is_signed_as_it_is(signed_site: SignedSite) -> None:
    """Whether a change was a correction is the build's question: sign reads only public/."""
    page = "en/news/2026/02/first-story/index.html"
    report = signed_site.resign({page: b"<p>corrected</p>"})
    assert report.changed == (page,)
    with pytest.raises(TypeError, match="article_updates"):
        signed_site.resign({page: b"<p>again</p>"}, article_updates={page: None})


def test_metadata_is_compact_json(signed_site: SignedSite) -> None:
    text = (signed_site.release / META / "1.snapshot.json").read_text()
    assert "\n" not in text
    assert ": " not in text
    assert json.loads(text)["signed"]["meta"]["targets.json"] == {"version": 1}


@pytest.mark.parametrize("workers", [1, 3])
def test_place_files_makes_each_folder_once_and_keeps_linked_files(
    tmp_path: Path, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rel, "_MIN_TASK", 4)  # many small tasks: threads meet in folders
    public = tmp_path / "public"
    files = [f"{lang}/news/2026/03/s{i}/index.html" for lang in ("en", "ru") for i in range(40)]
    write_public(public, {p: p.encode() for p in [*files, "index.html"]})
    items = [
        rel.Placement(p, str(public / p), None, (public / p).stat().st_ino)
        for p in [*files, "index.html"]
    ]
    release = tmp_path / "release"
    release.mkdir()
    made = rel.place_files(release, items, workers=workers)
    # en, ru, */news, */news/2026, */news/2026/03 and 80 article folders.
    assert made == 2 + 2 + 2 + 2 + 80
    assert all((release / p).stat().st_ino == (public / p).stat().st_ino for p in files)
    # Placing again: nothing to make, files already linked to the same inode stay as they are.
    assert rel.place_files(release, items, workers=workers) == 0
    # A stale file is replaced (staged, then renamed); an immutable one is kept.
    stale = release / files[0]
    stale.unlink()
    stale.write_bytes(b"old")
    kept = release / "kept.txt"
    kept.write_bytes(b"first")
    rel.place_files(
        release,
        [items[0], rel.Placement("kept.txt", None, b"second", 0, False)],
        workers=workers,
    )
    assert stale.read_bytes() == files[0].encode()
    assert kept.read_bytes() == b"first"
    assert not list(release.rglob(".*.stage"))


def _release_bytes(release: Path) -> dict[str, bytes]:
    return {
        p.relative_to(release).as_posix(): p.read_bytes()
        for p in sorted(release.rglob("*"))
        if p.is_file()
    }


def _settle_hash_cache(site: SignedSite) -> None:
    """Date the hash cache one second later, as if the next sign ran after another clock
    tick: a file linked in the tick the cache was saved is otherwise (rightly) hashed again."""
    cache = site.config.build.cache_dir / "trust" / "hashes.json"
    later = cache.stat().st_mtime_ns + 1_000_000_000
    os.utime(cache, ns=(later, later))


def test_same_public_signed_twice_gives_identical_release_bytes(tmp_path: Path) -> None:
    """Invariant 5, with and without the hash cache: site A signs two releases, reusing its
    cache; site B (a copy of A's keys and config) signs the same trees at the same times
    with no cache at all."""
    first = make_signed_site(tmp_path / "a")
    later = NOW + timedelta(hours=1)
    change = {"en/news/2026/03/third/index.html": b"third", "robots.txt": None}
    _settle_hash_cache(first)
    first.resign(change, now=later)
    assert first.report.hashed == 1

    other = tmp_path / "b"
    skip = ("release", "public", first.config.build.cache_dir.name)
    shutil.copytree(tmp_path / "a", other, ignore=shutil.ignore_patterns(*skip))
    config = load_config(other)
    write_public(config.build.output_dir, SAMPLE_FILES)
    second = SignedSite(
        config, config.build.output_dir, config.signing.release_dir, "", first.report
    )
    second.resign(now=NOW)
    shutil.rmtree(config.build.cache_dir)
    second.resign(change, now=later)
    assert second.report.hashed == len(SAMPLE_FILES)
    assert _release_bytes(second.release) == _release_bytes(first.release)


def test_a_file_rewritten_in_place_with_its_mtime_restored_is_hashed_again(
    signed_site: SignedSite,
) -> None:
    _settle_hash_cache(signed_site)
    path = signed_site.public / "robots.txt"
    before = path.stat()
    path.write_bytes(b"User-agent: x\n")  # same size, same inode
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    report = signed_site.resign(now=NOW + timedelta(hours=1))
    assert report.hashed == 1
    assert report.changed == ("robots.txt",)
