"""Rotation and revocation yield metadata python-tuf's own client follows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from trustkit import BASE, NOW, DirectoryFetcher, SignedSite
from tuf.api.exceptions import UnsignedMetadataError
from tuf.api.metadata import Metadata, Root
from tuf.ngclient import Updater

from tamizdat.errors import UserError
from tamizdat.layout import METADATA_DIR
from tamizdat.trust.sign.keys import latest_root, open_store
from tamizdat.trust.sign.rotate import resign_timestamp, revoke_key, rotate_key


def _client(site: SignedSite, local: Path, bootstrap: bytes | None) -> Updater:
    (local / "meta").mkdir(parents=True, exist_ok=True)
    (local / "targets").mkdir(exist_ok=True)
    return Updater(
        str(local / "meta"),
        f"{BASE}.well-known/tamizdat/metadata/",
        str(local / "targets"),
        f"{BASE}.well-known/tamizdat/targets/",
        fetcher=DirectoryFetcher(site.release),
        bootstrap=bootstrap,
    )


def _first_root(site: SignedSite) -> bytes:
    return (site.release / METADATA_DIR / "1.root.json").read_bytes()


def _refresh(site: SignedSite, local: Path) -> Updater:
    """Refresh a client that kept its metadata in ``local`` (or a new one pinned to root 1)."""
    known = (local / "meta" / "root.json").exists()
    updater = _client(site, local, None if known else _first_root(site))
    updater.refresh()
    assert updater.get_targetinfo("en/news/2026/02/first-story/index.html") is not None
    return updater


def test_root_rotation_is_followed_by_ngclient(signed_site: SignedSite, tmp_path: Path) -> None:
    local = tmp_path / "client"
    _client(signed_site, local, _first_root(signed_site)).refresh()
    change = rotate_key(signed_site.config, "root", now=NOW)
    assert change.root_version == 2
    signed_site.resign()
    _refresh(signed_site, local)  # an existing client follows 1 → 2
    fresh = _client(signed_site, tmp_path / "fresh", _first_root(signed_site))
    fresh.refresh()  # a new client pinned to 1.root.json too
    root2 = Metadata[Root].from_bytes(
        (signed_site.release / METADATA_DIR / "2.root.json").read_bytes()
    )
    assert set(root2.signed.roles["root"].keyids) == set(change.added)
    assert not set(root2.signed.roles["root"].keyids) & set(change.removed)


def test_timestamp_rotation_refuses_old_key(signed_site: SignedSite, tmp_path: Path) -> None:
    local = tmp_path / "client"
    _client(signed_site, local, _first_root(signed_site)).refresh()
    old_timestamp = (signed_site.release / METADATA_DIR / "timestamp.json").read_bytes()
    rotate_key(signed_site.config, "timestamp", now=NOW)
    signed_site.resign()
    _refresh(signed_site, local)
    root = latest_root(open_store(signed_site.config))
    with pytest.raises(UnsignedMetadataError):
        root.verify_delegate("timestamp", Metadata.from_bytes(old_timestamp))


def test_desk_rotation_resigns_only_that_desk(signed_site: SignedSite, tmp_path: Path) -> None:
    change = rotate_key(signed_site.config, "desk-news", now=NOW)
    assert change.root_version is None
    report = signed_site.resign()
    assert {"targets", "desk-news", "news-2026-02", "news-2026-03", "news-pages"} <= set(
        report.roles_signed
    )
    assert not any(r.startswith(("culture", "desk-culture")) for r in report.roles_signed)
    targets = json.loads((signed_site.release / METADATA_DIR / "2.targets.json").read_bytes())
    news = next(r for r in targets["signed"]["delegations"]["roles"] if r["name"] == "desk-news")
    assert news["keyids"] == list(change.added)
    _refresh(signed_site, tmp_path / "client")  # fresh client; bootstrap from local root


def test_revoke_root_key_and_refuse_below_threshold(
    signed_site: SignedSite, tmp_path: Path
) -> None:
    local = tmp_path / "client"
    _client(signed_site, local, _first_root(signed_site)).refresh()
    keys = open_store(signed_site.config).active_keys("root")
    change = revoke_key(signed_site.config, keys[0].keyid[:12], now=NOW)
    assert change.root_version == 2
    signed_site.resign()
    _refresh(signed_site, local)
    root = latest_root(open_store(signed_site.config))
    assert keys[0].keyid not in root.signed.roles["root"].keyids
    with pytest.raises(UserError, match="below its threshold"):
        revoke_key(signed_site.config, keys[1].keyid, now=NOW)


def test_revoking_the_only_desk_key_is_refused(signed_site: SignedSite) -> None:
    key = open_store(signed_site.config).active_keys("desk-culture")[0]
    with pytest.raises(UserError, match="below its threshold") as caught:
        revoke_key(signed_site.config, key.keyid, now=NOW)
    assert caught.value.hint is not None
    assert "rotate desk-culture" in caught.value.hint


def test_timestamp_only_resign(signed_site: SignedSite, tmp_path: Path) -> None:
    meta = signed_site.release / METADATA_DIR
    before = {p.name: p.read_bytes() for p in meta.iterdir()}
    version = resign_timestamp(signed_site.config, allow_demo=True)
    assert version == 2
    after = {p.name: p.read_bytes() for p in meta.iterdir()}
    assert {n for n in after if after[n] != before.get(n)} == {"timestamp.json"}
    _refresh(signed_site, tmp_path / "client")
