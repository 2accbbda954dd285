"""TrustPolicy without I/O: load order, fast-forward recovery, path authorisation, state store."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.tuf_release import ReleaseFactory, now, sample_files
from tamizdat.errors import (
    InternalError,
    RollbackError,
    TamperedError,
    UnauthorizedPathError,
    UserError,
)
from tamizdat.layout import METADATA_DIR
from tamizdat.transport.sources import MemorySource
from tamizdat.trust.verify.policy import SeenVersions, TrustPolicy
from tamizdat.trust.verify.seen import SeenStore
from tamizdat.trust.verify.whole import load_release


def _meta(release, name: str) -> bytes:  # type: ignore[no-untyped-def]
    return release.files[f"{METADATA_DIR}/{name}"]


def test_snapshot_before_timestamp_is_a_bug() -> None:
    release = ReleaseFactory.newsroom().publish(sample_files())
    policy = TrustPolicy(_meta(release, "1.root.json"), now=now())
    with pytest.raises(InternalError, match="timestamp is not loaded"):
        policy.update_snapshot(_meta(release, "1.snapshot.json"))


def test_root_update_after_timestamp_is_a_bug() -> None:
    publisher = ReleaseFactory.newsroom()
    release = publisher.publish(sample_files())
    policy = TrustPolicy(_meta(release, "1.root.json"), now=now())
    policy.update_timestamp(_meta(release, "timestamp.json"))
    with pytest.raises(InternalError, match="after the timestamp"):
        policy.update_root(publisher.rotate_root())


def test_fast_forward_recovery_after_timestamp_key_rotation() -> None:
    publisher = ReleaseFactory.newsroom()
    release = publisher.publish(sample_files())
    # This machine saw a timestamp v99 signed by a key the publisher has since replaced.
    old_keys = frozenset([publisher.keys["timestamp"].public_key.keyid])
    snapshot_keys = frozenset([publisher.keys["snapshot"].public_key.keyid])
    inflated = SeenVersions(
        root=1, timestamp=99, snapshot=99, timestamp_keys=old_keys, snapshot_keys=snapshot_keys
    )
    with pytest.raises(RollbackError):
        load_release(MemorySource(release.files), fingerprint=release.fingerprint, seen=inflated)
    publisher.rotate_root(role="timestamp")
    recovered = publisher.publish(sample_files(), log=publisher.log)
    loaded = load_release(
        MemorySource(recovered.files), fingerprint=recovered.fingerprint, seen=inflated
    )
    assert loaded.policy.seen_after().timestamp == 2


def test_root_older_than_seen_is_rollback() -> None:
    release = ReleaseFactory.newsroom().publish(sample_files())
    with pytest.raises(RollbackError, match="expected root version 3 or newer"):
        load_release(
            MemorySource(release.files), fingerprint=release.fingerprint, seen=SeenVersions(root=3)
        )


def test_authorisation_is_per_segment() -> None:
    release = ReleaseFactory.newsroom().publish(sample_files())
    loaded = load_release(MemorySource(release.files), fingerprint=release.fingerprint)
    policy = loaded.policy
    assert policy.authorized("news", "news/2026/flood/index.html")
    assert not policy.authorized("news", "news/a/b/c/index.html")  # four segments: no pattern
    assert not policy.authorized("news", "opinion/column/index.html")
    assert policy.authorized("targets", "anything/at/all")
    policy.check_authorized("news/2026/flood/index.html")  # an authorised listing: no error


def test_unauthorised_listing_named() -> None:
    files = sample_files()
    files["index.html"] = b"<p>home page signed by a desk</p>"
    release = ReleaseFactory.newsroom().publish(files, assign={"index.html": "opinion"})
    with pytest.raises(
        UnauthorizedPathError,
        match=r"role opinion signed index.html, outside the paths delegated to it \(opinion/\*, opinion/\*/\*\)",
    ):
        load_release(MemorySource(release.files), fingerprint=release.fingerprint)


def test_verify_target_unknown_path_is_tampered() -> None:
    release = ReleaseFactory.newsroom().publish(sample_files())
    policy = load_release(MemorySource(release.files), fingerprint=release.fingerprint).policy
    with pytest.raises(TamperedError, match="not a file this publisher signed"):
        policy.verify_target("news/2026/fake/index.html", b"x")


def test_seen_store_round_trip_and_corruption(tmp_path: Path) -> None:
    store = SeenStore(tmp_path)
    assert store.load("ab" * 32) == SeenVersions()
    seen = SeenVersions(
        root=2,
        timestamp=5,
        snapshot=4,
        roles={"news": 4},
        timestamp_keys=frozenset({"k"}),
        log_head=(3, "h"),
        role_keys={"news": ("a", "b")},
    )
    store.save("ab" * 32, seen)
    assert store.load("ab" * 32) == seen
    assert [p.name for p in tmp_path.iterdir()] == ["ab" * 32 + ".json"]
    store.path("ab" * 32).write_text("{not json")
    with pytest.raises(UserError, match="unreadable data"):
        store.load("ab" * 32)


def test_seen_store_reads_state_without_role_keys(tmp_path: Path) -> None:
    store = SeenStore(tmp_path)
    store.path("cd" * 32).write_text(
        '{"root": 1, "timestamp": 2, "snapshot": 2, "roles": {"news": 2}, "log_head": null}'
    )
    assert store.load("cd" * 32) == SeenVersions(root=1, timestamp=2, snapshot=2, roles={"news": 2})


def test_split_modules_keep_their_public_names() -> None:
    from tamizdat.trust.verify import delegations, pages, policy, rollback, whole, workflow

    assert policy.SeenVersions is rollback.SeenVersions
    assert policy.RoleLoader is delegations.RoleLoader
    assert whole.find_page is pages.find_page
    assert whole.PageReport is pages.PageReport
    assert whole.load_release is pages.load_release
    assert whole.LoadedRelease is workflow.LoadedRelease
    for module in (delegations, pages, policy, rollback, whole, workflow):
        assert all(hasattr(module, name) for name in module.__all__), module.__name__


def test_state_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAMIZDAT_STATE_DIR", str(tmp_path / "env"))
    assert SeenStore().directory == tmp_path / "env"
