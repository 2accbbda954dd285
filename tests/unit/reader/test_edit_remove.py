"""``reader edit`` / ``reader remove``: every value checked before anything is written; a
mistyped fingerprint reported as "not this publisher", never as tampering; "did you mean"
for subscription names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.tuf_release import ReleaseFactory, sample_site
from tamizdat.cli import main
from tamizdat.errors import UserError
from tamizdat.reader.client import (
    add_subscription,
    edit_subscription,
    list_subscriptions,
    remove_subscription,
)
from tamizdat.reader.store import Store
from tamizdat.reader.sync import update_store
from tamizdat.transport.failover import MirrorPool
from tamizdat.transport.sources import DirectorySource

FP = "ab" * 32
OTHER_FP = "cd" * 32


@pytest.fixture
def home(tmp_path: Path) -> Path:
    add_subscription("exile-news", mirrors=("https://m1.example/",), fingerprint=FP,
                     store_dir=tmp_path / "home")  # fmt: skip
    return tmp_path / "home"


def test_edit_changes_mirrors_and_fingerprint(home: Path) -> None:
    store = Store.open("exile-news", home)
    sub = edit_subscription(
        store, add_mirrors=("https://m2.example",), remove_mirrors=("https://m1.example/",)
    )
    assert sub.mirrors == ("https://m2.example/",)
    sub = edit_subscription(store, mirrors=("https://a.example/", "http://b.example"))
    assert sub.mirrors == ("https://a.example/", "http://b.example/")
    sub = edit_subscription(
        store, fingerprint=" ".join([OTHER_FP[i : i + 4] for i in range(0, 64, 4)])
    )
    assert sub.fingerprint == OTHER_FP
    assert Store.open("exile-news", home).subscription == sub


@pytest.mark.parametrize(
    "change",
    [
        {"mirrors": ("ftp://m.example/",)},
        {"mirrors": ("https://ok.example/", "javascript:alert(1)")},
        {"add_mirrors": ("not a url",)},
        {"remove_mirrors": ("https://never-added.example/",)},
        {"fingerprint": "abcd"},
        {"fingerprint": "zz" * 32},
        {"add_mirrors": ("https://ok.example/",), "fingerprint": "short"},
    ],
)
def test_bad_input_leaves_the_subscription_intact(home: Path, change: dict[str, object]) -> None:
    before = (home / "exile-news" / "subscription.json").read_bytes()
    with pytest.raises(UserError) as caught:
        edit_subscription(Store.open("exile-news", home), **change)  # type: ignore[arg-type]
    assert caught.value.where
    assert (home / "exile-news" / "subscription.json").read_bytes() == before


def test_a_new_fingerprint_is_refused_while_another_publishers_release_is_held(
    tmp_path: Path,
) -> None:
    factory = ReleaseFactory.articles()
    mirror = tmp_path / "mirror"
    factory.publish(sample_site()).write(mirror)
    store = add_subscription("news", fingerprint=factory.fingerprint, mirrors=("http://x.example/",),
                             store_dir=tmp_path / "home")  # fmt: skip
    assert update_store(store, MirrorPool([DirectorySource(mirror)]), quorum=1).outcome == "current"
    before = (store.root / "subscription.json").read_bytes()
    with pytest.raises(UserError, match="different publisher") as caught:
        edit_subscription(store, fingerprint=OTHER_FP)
    assert "reader remove news" in (caught.value.hint or "")
    assert (store.root / "subscription.json").read_bytes() == before
    assert (
        edit_subscription(store, fingerprint=factory.fingerprint).fingerprint == factory.fingerprint
    )


def test_remove_deletes_only_that_subscription(home: Path) -> None:
    add_subscription("other", mirrors=("https://o.example/",), fingerprint=FP, store_dir=home)
    remove_subscription(Store.open("exile-news", home))
    assert [s.subscription.name for s in list_subscriptions(home)] == ["other"]
    assert sorted(p.name for p in home.iterdir()) == ["other"]


def test_a_leftover_of_an_interrupted_removal_is_not_a_subscription(home: Path) -> None:
    (home / "exile-news").rename(home / ".removing-exile-news-0000")
    assert list_subscriptions(home) == []


@pytest.mark.parametrize(("typed", "hint"), [("exile-nwes", "did you mean 'exile-news'?"),
                                              ("zzz", "(subscribed: exile-news)")])  # fmt: skip
def test_unknown_names_get_a_suggestion(
    home: Path, capsys: pytest.CaptureFixture[str], typed: str, hint: str
) -> None:
    for command in ("sync", "remove", "serve", "bundle"):
        extra = ["-o", "x.zip"] if command == "bundle" else []
        assert main(["reader", command, typed, "--store-dir", str(home), *extra]) == 2
        err = capsys.readouterr().err
        assert f"no subscription named {typed!r}" in err
        assert hint in err


def test_cli_edit_and_remove(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--store-dir", str(home)]
    assert (
        main(
            ["--json", "reader", "edit", "exile-news", "--add-mirror", "https://m2.example/", *args]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["mirrors"] == ["https://m1.example/", "https://m2.example/"]
    assert main(["reader", "edit", "exile-news", *args]) == 2
    assert "nothing to change" in capsys.readouterr().err
    assert main(["reader", "remove", "exile-news", *args]) == 0
    assert "removed exile-news" in capsys.readouterr().out
    assert main(["reader", "list", *args]) == 0


def test_a_mistyped_fingerprint_is_not_this_publisher_never_tampering(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    factory = ReleaseFactory.articles()
    mirror = tmp_path / "mirror"
    factory.publish(sample_site()).write(mirror)
    typo = factory.fingerprint[:-1] + ("0" if factory.fingerprint[-1] != "0" else "1")
    store = add_subscription("news", fingerprint=typo, mirrors=("http://x.example/",),
                             store_dir=tmp_path / "home")  # fmt: skip
    report = update_store(store, MirrorPool([DirectorySource(mirror, name="m1")]), quorum=1)
    assert report.outcome == "not-this-publisher"
    assert {n.kind for n in report.notes} <= {"not-this-publisher", "missing"}
    assert "not-this-publisher" in {n.kind for n in report.notes}

    from tamizdat.cli._output import Output
    from tamizdat.cli.reader import _show_report

    assert _show_report(Output(), report) == 6
    out = capsys.readouterr().out
    assert "not this publisher" in out
    assert "check the fingerprint you typed" in out.lower()
    assert "tamizdat reader edit news --fingerprint" in out
    assert "tamper" not in out.lower()


def test_fixing_the_typed_fingerprint_makes_the_next_sync_work(tmp_path: Path) -> None:
    factory = ReleaseFactory.articles()
    mirror = tmp_path / "mirror"
    factory.publish(sample_site()).write(mirror)
    typo = factory.fingerprint[:-1] + ("0" if factory.fingerprint[-1] != "0" else "1")
    store = add_subscription("news", fingerprint=typo, mirrors=("http://x.example/",),
                             store_dir=tmp_path / "home")  # fmt: skip
    pool = MirrorPool([DirectorySource(mirror, name="m1")])
    assert update_store(store, pool, quorum=1).outcome == "not-this-publisher"
    assert not store.has_release  # nothing of the other publisher was kept
    edit_subscription(store, fingerprint=factory.fingerprint)
    fresh = MirrorPool([DirectorySource(mirror, name="m1")])
    assert update_store(store, fresh, quorum=1).outcome == "current"
