"""The store: subscriptions, the atomic switch, garbage of killed syncs, safe paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from tamizdat.errors import InternalError, TamperedError, UserError
from tamizdat.reader.store import ReleaseInfo, Store, Subscription, reader_home
from tamizdat.release.listing import TargetEntry
from tamizdat.trust.verify.policy import SeenVersions


def _info(version: int) -> ReleaseInfo:
    return ReleaseInfo(version, version, "ab" * 32, None, "2030-01-01T00:00:00+00:00", False,
                       "2026-01-01T00:00:00+00:00", "m")  # fmt: skip


def test_reader_home_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAMIZDAT_READER_HOME", str(tmp_path / "env"))
    assert reader_home() == tmp_path / "env"
    assert reader_home(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.delenv("TAMIZDAT_READER_HOME")
    assert reader_home().parts[-3:] == ("share", "tamizdat", "reader")


def test_subscription_round_trip_and_errors(tmp_path: Path) -> None:
    sub = Subscription("news", None, True, ("http://a/",), ("http://b/",))
    Store.create(sub, tmp_path)
    assert Store.open("news", tmp_path).subscription == sub
    assert sub.all_mirrors == ("http://a/", "http://b/")
    with pytest.raises(UserError, match="already subscribed"):
        Store.create(sub, tmp_path)
    with pytest.raises(UserError, match="no subscription"):
        Store.open("other", tmp_path)
    with pytest.raises(UserError, match="short name"):
        Store.open("../x", tmp_path)


def test_commit_switches_atomically_and_collects_garbage(tmp_path: Path) -> None:
    store = Store.create(Subscription("n", "ab" * 32, False, ()), tmp_path)
    one = TargetEntry("a/b.html", "1" * 64, 3)
    store.put_object(one, b"one")
    store.commit({"timestamp.json": b"{}"}, [one], _info(1), SeenVersions(snapshot=1))
    assert store.read("a/b.html") == b"one"
    assert store.release == _info(1)
    assert store.seen == SeenVersions(snapshot=1)
    # Leftovers of a killed sync: a half-built release and a dangling link name.
    (store.root / "releases" / ".building-x").mkdir()
    (store.root / ".current-dead").symlink_to("nowhere")
    two = TargetEntry("a/b.html", "2" * 64, 3)
    store.put_object(two, b"two")
    store.commit({"timestamp.json": b"{}"}, [two], _info(2), SeenVersions(snapshot=2))
    assert store.read("a/b.html") == b"two"
    # The previous release stays until the next commit (a reader may still have it open).
    assert sorted(p.name[0] for p in (store.root / "releases").iterdir()) == ["1", "2"]
    assert not list(store.root.glob(".current-*"))


def test_commit_refuses_missing_objects_and_unsafe_paths(tmp_path: Path) -> None:
    store = Store.create(Subscription("n", "ab" * 32, False, ()), tmp_path)
    with pytest.raises(InternalError):
        store.commit({}, [TargetEntry("x", "3" * 64, 1)], _info(1), SeenVersions())
    assert not store.has_release
    with pytest.raises(TamperedError):
        store.site_file("../../etc/passwd")
    assert not store.exists("/etc/passwd")
