"""The subscriber store: double opt-in, expiry, pacing, bounces, the delivery journal,
where it may live, and what a damaged file does."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tamizdat.channels.email.subscribers import (
    StoreLimits,
    SubscriberStore,
    check_store_location,
)
from tamizdat.errors import UserError

DAY = 86400.0


@pytest.fixture
def store(tmp_path: Path) -> SubscriberStore:
    return SubscriberStore(tmp_path / "private" / "subscribers.sqlite")


def test_only_the_code_confirms_and_it_expires(store: SubscriberStore) -> None:
    invitation = store.add("ana@readers.example", "en", 0.0)
    assert invitation.token is not None
    assert invitation.subscriber.state == "pending"
    assert list(store.subscribers(state="confirmed")) == []
    with pytest.raises(UserError, match="no pending subscription"):
        store.confirm("x" * 22, 1.0)
    with pytest.raises(UserError, match="expired"):
        store.confirm(invitation.token, 8 * DAY)
    again = store.add("ana@readers.example", "en", 8 * DAY)
    assert again.token is not None
    assert again.token != invitation.token
    confirmed = store.confirm(again.token, 8 * DAY + 1)
    assert confirmed.state == "confirmed"
    with pytest.raises(UserError):  # a code is used once
        store.confirm(again.token, 8 * DAY + 2)
    assert store.add("ANA@readers.example", "en", 9 * DAY).token is None  # already confirmed


def test_a_stranger_cannot_mail_bomb_an_address_through_add(store: SubscriberStore) -> None:
    assert store.add("ana@readers.example", "en", 0.0).token is not None
    for hour in range(1, 24):
        assert store.add("ana@readers.example", "en", hour * 3600.0).token is None
    assert store.add("ana@readers.example", "en", DAY + 1).token is not None


def test_the_code_confirms_only_from_its_own_address(store: SubscriberStore) -> None:
    token = store.add("ana@readers.example", "en", 0.0).token
    assert token is not None
    with pytest.raises(UserError, match="another address"):
        store.confirm(token, 1.0, address="eve@evil.example")
    assert store.confirm(token, 1.0, address="Ana@readers.example").state == "confirmed"


def test_languages_are_separate_subscriptions(store: SubscriberStore) -> None:
    store.import_rows([("ana@readers.example", "en", "t"), ("ana@readers.example", "ru", "t")],
                      0.0, confirmed=True)  # fmt: skip
    assert store.languages_of("ana@readers.example") == ("en", "ru")
    assert store.remove("ana@readers.example", "ru") == 1
    assert store.languages_of("ana@readers.example") == ("en",)


def test_bounces_and_deliveries(store: SubscriberStore) -> None:
    store.import_rows([("ana@readers.example", "en", "t"), ("bo@readers.example", "en", "t")],
                      0.0, confirmed=True)  # fmt: skip
    ana = store.get("ana@readers.example", "en")
    assert ana is not None
    store.record_delivery("k", ana, "<id@x>", 1.0)
    store.record_delivery("k", ana, "<id@x>", 2.0)  # idempotent
    assert store.delivered("k", ana)
    assert store.deliveries("k") == 1
    store.record_bounce(ana, "550 " + "x" * 1000)
    bounced = store.get("ana@readers.example", "en")
    assert bounced is not None
    assert bounced.state == "bounced"
    assert len(bounced.failure or "") == 300
    assert [s.address for s in store.subscribers(state="confirmed")] == ["bo@readers.example"]
    # Re-subscribing a bounced address starts the double opt-in again.
    assert store.add("ana@readers.example", "en", 3.0).token is not None
    assert store.remove("ana@readers.example") == 1
    assert store.deliveries("k") == 0  # nothing keeps the address


def test_listing_pages_through_a_long_list(store: SubscriberStore) -> None:
    rows = [(f"r{n:04d}@readers.example", "en", "t") for n in range(1234)]
    store.import_rows(rows, 0.0, confirmed=True)
    listed = [s.address for s in store.subscribers(lang="en", state="confirmed")]
    assert listed == sorted(a for a, _, _ in rows)
    assert store.count(lang="en") == 1234


def test_an_import_with_one_bad_row_adds_nothing(store: SubscriberStore) -> None:
    rows = [("ana@readers.example", "en", "f:1"), ("bad\r\naddress", "en", "f:2")]
    with pytest.raises(UserError) as caught:
        store.import_rows(rows, 0.0, confirmed=False)
    assert caught.value.where == "f:2"
    assert store.count() == 0


def test_the_file_is_private_and_its_folder_ignored_by_git(store: SubscriberStore) -> None:
    store.add("ana@readers.example", "en", 0.0)
    assert stat.S_IMODE(store.file.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.file.parent.stat().st_mode) == 0o700
    assert (store.file.parent / ".gitignore").read_text().endswith("*\n")


@pytest.mark.parametrize(
    "damage", [b"not a database at all" * 100, b"SQLite format 3\x00" + bytes(200)]
)
def test_a_damaged_store_is_one_error_naming_the_file(tmp_path: Path, damage: bytes) -> None:
    file = tmp_path / "subscribers.sqlite"
    file.write_bytes(damage)
    with pytest.raises(UserError, match="expected a tamizdat subscriber store") as caught:
        SubscriberStore(file).add("ana@readers.example", "en", 0.0)
    assert caught.value.where == str(file)
    assert file.read_bytes() == damage  # left as it was


def test_the_store_location_check(tmp_path: Path) -> None:
    public = tmp_path / "public"
    with pytest.raises(UserError, match="would be published"):
        check_store_location(public / "x" / "s.sqlite", [public])
    with pytest.raises(UserError):
        check_store_location(tmp_path / "public" / ".." / "public" / "s.sqlite", [public])
    link = tmp_path / "innocent"
    public.mkdir()
    link.symlink_to(public)
    with pytest.raises(UserError):
        check_store_location(link / "s.sqlite", [public])
    assert check_store_location(tmp_path / "private" / "s.sqlite", [public]).name == "s.sqlite"


def test_limits_are_configurable(tmp_path: Path) -> None:
    store = SubscriberStore(tmp_path / "s.sqlite", StoreLimits(confirm_days=1, confirm_interval=60))
    first = store.add("ana@readers.example", "en", 0.0)
    assert store.add("ana@readers.example", "en", 61.0).token is not None
    assert first.token is not None
