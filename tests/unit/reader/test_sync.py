"""Sync and import over in-process sources: fail-over, freshness, refusals, nothing lost."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from support.tuf_release import ReleaseFactory, mirror_list, sample_site
from support.zipcraft import CraftEntry, CraftZip
from tamizdat.channels.bundle import write_bundle
from tamizdat.errors import BundleError, UserError
from tamizdat.layout import MIRRORS_JSON, by_hash_path, metadata_path
from tamizdat.reader.client import add_from_bundle, add_subscription, export_bundle, import_bundle
from tamizdat.reader.store import Store
from tamizdat.reader.sync import update_store
from tamizdat.transport.failover import MirrorPool
from tamizdat.transport.sources import DirectorySource, MemorySource


def _pool(*dirs: Path) -> MirrorPool:
    return MirrorPool([DirectorySource(d, name=d.name) for d in dirs])


def _store(tmp_path: Path, factory: ReleaseFactory, **kwargs: Any) -> Store:
    return add_subscription(
        "news", mirrors=("http://127.0.0.1:9/",), fingerprint=factory.fingerprint,
        store_dir=tmp_path / "home", **kwargs,
    )  # fmt: skip


@pytest.fixture
def two_releases(tmp_path: Path) -> tuple[ReleaseFactory, Path, Path]:
    """``behind`` holds release 1; ``current`` holds releases 1 and 2 (one article changed)."""
    factory = ReleaseFactory.articles()
    behind, current = tmp_path / "behind", tmp_path / "current"
    factory.publish(sample_site()).write(current)
    shutil.copytree(current, behind)
    site = sample_site()
    site["articles/a2/index.html"] = b"<html><body>correction</body></html>"
    factory.publish(site).write(current)
    return factory, behind, current


def test_fail_over_picks_the_newest_authentic_release(tmp_path: Path, two_releases: Any) -> None:
    factory, behind, current = two_releases
    store = _store(tmp_path, factory)
    report = update_store(store, _pool(tmp_path / "down", behind, current), quorum=3)
    assert report.outcome == "current"
    assert report.version == 2
    assert report.source == "current"
    assert (
        store.site_file("articles/a2/index.html").read_bytes().endswith(b"correction</body></html>")
    )
    kinds = {(n.mirror, n.kind) for n in report.notes}
    assert ("down", "missing") in kinds


def test_tampering_mirror_is_skipped_and_noted(tmp_path: Path, two_releases: Any) -> None:
    factory, _, current = two_releases
    evil = tmp_path / "evil"
    shutil.copytree(current, evil)
    for obj in (evil / ".well-known/tamizdat/targets/articles/a3").iterdir():
        obj.write_bytes(b"<html><body>forged</body></html>")
    store = _store(tmp_path, factory)
    report = update_store(store, _pool(evil, current))
    assert report.outcome == "current"
    assert b"forged" not in store.site_file("articles/a3/index.html").read_bytes()
    assert any(n.mirror == "evil" and n.kind == "tampered" for n in report.notes)


def test_only_tampering_mirrors_gives_tampered_and_keeps_store(
    tmp_path: Path, two_releases: Any
) -> None:
    factory, behind, current = two_releases
    store = _store(tmp_path, factory)
    assert update_store(store, _pool(behind)).version == 1
    evil = tmp_path / "evil"
    shutil.copytree(current, evil)
    for obj in (evil / ".well-known/tamizdat/targets/articles/a2").iterdir():
        obj.write_bytes(b"forged")
    report = update_store(store, _pool(evil))
    assert report.outcome == "tampered"
    assert "differs from the signed copy" in (report.problem or "")
    assert store.release is not None
    assert store.release.version == 1


def test_expired_timestamp_is_stale_not_an_error(tmp_path: Path, two_releases: Any) -> None:
    factory, _, current = two_releases
    store = _store(tmp_path, factory)
    later = datetime.now(UTC) + timedelta(days=30)
    report = update_store(store, _pool(current), now=later)
    assert report.outcome == "stale"
    assert report.version == 2
    assert store.release is not None
    assert store.release.stale


def test_rollback_is_refused(tmp_path: Path, two_releases: Any) -> None:
    factory, behind, current = two_releases
    store = _store(tmp_path, factory)
    update_store(store, _pool(current))
    report = update_store(store, _pool(behind))
    assert report.outcome == "rollback"
    assert store.release is not None
    assert store.release.version == 2


def test_wrong_publisher_is_refused(tmp_path: Path, two_releases: Any) -> None:
    _, _, current = two_releases
    other = ReleaseFactory()
    store = _store(tmp_path, other)
    report = update_store(store, _pool(current))
    assert report.outcome == "not-this-publisher"
    assert not store.has_release


def test_unreachable_everywhere(tmp_path: Path, two_releases: Any) -> None:
    factory, _, _ = two_releases
    report = update_store(_store(tmp_path, factory), _pool(tmp_path / "a", tmp_path / "b"))
    assert report.outcome == "unreachable"


def test_incremental_sync_fetches_only_what_changed(tmp_path: Path, two_releases: Any) -> None:
    factory, behind, current = two_releases
    store = _store(tmp_path, factory)
    first = update_store(store, _pool(behind))
    assert first.new_objects == 7
    second = update_store(store, _pool(current))
    assert second.new_objects == 1
    assert second.changed
    third = update_store(store, _pool(current))
    assert not third.changed
    assert third.fetched_files == 1
    assert third.fetched_bytes < 1024


def test_trust_on_first_use_pins_what_arrives(tmp_path: Path, two_releases: Any) -> None:
    factory, _, current = two_releases
    with pytest.raises(UserError, match="fingerprint"):
        add_subscription("x", mirrors=("http://127.0.0.1:9/",), store_dir=tmp_path / "h")
    store = add_subscription(
        "x", mirrors=("http://127.0.0.1:9/",), trust_on_first_use=True, store_dir=tmp_path / "h"
    )
    assert update_store(store, _pool(current)).outcome == "current"
    assert store.subscription.fingerprint == factory.fingerprint


def test_mirrors_are_learned_from_the_signed_list(tmp_path: Path) -> None:
    factory = ReleaseFactory.articles()
    rel = tmp_path / "rel"
    mirrors = mirror_list(["http://127.0.0.1:9/", "http://127.0.0.1:10/"])
    factory.publish({**sample_site(), **mirrors}).write(rel)
    store = _store(tmp_path, factory)
    update_store(store, _pool(rel))
    assert store.subscription.learned_mirrors == ("http://127.0.0.1:10/",)
    assert store.exists(MIRRORS_JSON)


def test_memory_source_lying_about_timestamp_is_noted(tmp_path: Path, two_releases: Any) -> None:
    factory, _, current = two_releases
    liar = MemorySource({metadata_path("timestamp", None): b"{not json"}, name="liar")
    pool = MirrorPool([liar, DirectorySource(current, name="honest")])
    report = update_store(_store(tmp_path, factory), pool)
    assert report.outcome == "current"
    assert any(n.mirror == "liar" and n.kind == "tampered" for n in report.notes)


# --- bundles into the store -------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_bundle_and_delta_bundle_round_trip(tmp_path: Path, two_releases: Any) -> None:
    factory, behind, current = two_releases
    store = _store(tmp_path, factory)
    full1 = tmp_path / "v1.zip"
    write_bundle(behind, full1)
    assert import_bundle(store, full1).version == 1
    delta = tmp_path / "delta.zip"
    write_bundle(current, delta, since_version=1)
    report = import_bundle(store, delta)
    assert report.outcome == "current"
    assert report.version == 2
    assert report.new_objects == 1
    # Re-export and hand it to a second reader who has nothing.
    again = tmp_path / "again.zip"
    export_bundle(store, again)
    friend, result = add_from_bundle(
        "news", again, fingerprint=factory.fingerprint, trust_on_first_use=False,
        store_dir=tmp_path / "friend",
    )  # fmt: skip
    assert result.outcome == "current"
    assert friend.read("articles/a2/index.html") == store.read("articles/a2/index.html")


def test_delta_bundle_without_its_base_is_refused_untouched(
    tmp_path: Path, two_releases: Any
) -> None:
    factory, _, current = two_releases
    store = _store(tmp_path, factory)
    delta = tmp_path / "delta.zip"
    write_bundle(current, delta, since_version=1)
    before = _tree(store.root)
    with pytest.raises(BundleError, match="changed since release 1"):
        import_bundle(store, delta)
    assert _tree(store.root) == before


def test_tampered_bundle_import_writes_nothing(tmp_path: Path, two_releases: Any) -> None:
    factory, behind, current = two_releases
    store = _store(tmp_path, factory)
    write_bundle(behind, tmp_path / "v1.zip")
    import_bundle(store, tmp_path / "v1.zip")
    evil = tmp_path / "evil"
    shutil.copytree(current, evil)
    target = "articles/a4/index.html"
    info = factory.version  # release 2 is signed; forge one of its objects
    assert info == 2
    for obj in (evil / ".well-known/tamizdat/targets/articles/a2").iterdir():
        obj.write_bytes(b"forged")
    write_bundle(evil, tmp_path / "evil.zip")
    before = _tree(store.root)
    report = import_bundle(store, tmp_path / "evil.zip")
    assert report.outcome == "tampered"
    assert _tree(store.root) == before
    assert store.exists(target)


def test_hostile_bundle_on_add_leaves_no_subscription(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 definitely not a whole zip")
    with pytest.raises(BundleError, match="truncated or not a ZIP"):
        add_from_bundle(
            "n", bad, fingerprint=None, trust_on_first_use=True, store_dir=tmp_path / "h"
        )
    assert not (tmp_path / "h" / "n").exists()


def test_by_hash_paths_in_store_match_layout(tmp_path: Path, two_releases: Any) -> None:
    factory, _, current = two_releases
    store = _store(tmp_path, factory)
    update_store(store, _pool(current))
    data = store.read("style.css")
    import hashlib

    assert store.read(by_hash_path("style.css", hashlib.sha256(data).hexdigest())) == data


def test_hostile_bundle_import_leaves_store_and_disk_untouched(
    tmp_path: Path, two_releases: Any
) -> None:
    factory, _, current = two_releases
    store = _store(tmp_path, factory)
    update_store(store, _pool(current))
    evil = CraftZip(
        [
            CraftEntry(".well-known/tamizdat/metadata/timestamp.json", b"{}"),
            CraftEntry(".well-known/tamizdat/targets/../../../../escaped", b"x"),
        ]
    ).write(tmp_path / "evil.zip")
    before = _tree(tmp_path / "home")
    with pytest.raises(BundleError, match="traversal"):
        import_bundle(store, evil)
    assert _tree(tmp_path / "home") == before
    assert not (tmp_path / "escaped").exists()


def test_sync_deadline_gives_unreachable(tmp_path: Path, two_releases: Any) -> None:
    factory, _, current = two_releases
    pool = MirrorPool([DirectorySource(current, name="current")], deadline=-1.0)
    report = update_store(_store(tmp_path, factory), pool)
    assert report.outcome == "unreachable"
    assert "deadline" in (report.problem or "")
