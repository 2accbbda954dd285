"""The mirror distributor: stable answers, rotation, one bucket per mirror, minimal moves,
bounded harvesting, rate limits, the secret key and normalised identities."""

from __future__ import annotations

import random
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tamizdat.channels.distributor import (
    Bucket,
    DistributionConfig,
    Distributor,
    normalize_requester,
    summarize_blocking,
    working_mirrors,
)
from tamizdat.channels.requests import (
    KEY_FILE_ENV,
    MemoryRequestStore,
    RequestStore,
    SqliteRequestStore,
    give_answer,
    load_distribution_key,
)
from tamizdat.errors import KeyStoreError, RateLimitedError, UserError

KEY = bytes(range(32))
FP = "ab" * 32
NOON = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MIRRORS = {f"m{i:02d}": f"https://m{i:02d}.example.net/" for i in range(30)}


def _distributor(**config: Any) -> Distributor:
    return Distributor(KEY, FP, DistributionConfig(**config))


def _random_emails(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.getrandbits(64):016x}@example.org" for _ in range(count)]


def test_same_period_same_answer_and_small() -> None:
    dist = _distributor()
    first = dist.answer("alice@example.org", "email", NOON, MIRRORS)
    again = dist.answer("alice@example.org", "email", NOON + timedelta(hours=11), MIRRORS)
    assert first == again
    assert 1 <= len(first.mirrors) <= 3
    assert first.period_start <= NOON < first.period_end
    assert first.fingerprint == FP
    assert not first.fallback


def test_answers_rotate_across_periods_within_the_bucket() -> None:
    dist = _distributor(groups=2, channels=("email",))  # big buckets: room to rotate
    days = [
        dist.answer("alice@example.org", "email", NOON + timedelta(days=d), MIRRORS)
        for d in range(10)
    ]
    assert len({a.mirrors for a in days}) > 1
    assert len({a.bucket for a in days}) == 1  # the home group never changes
    buckets = dist.assign_buckets(MIRRORS)
    for a in days:
        assert all(buckets[m.name] == a.bucket for m in a.mirrors)


def test_each_mirror_in_exactly_one_bucket_of_the_configured_ones() -> None:
    dist = _distributor()
    buckets = dist.assign_buckets(MIRRORS)
    assert set(buckets) == set(MIRRORS)
    assert set(buckets.values()) <= set(dist.buckets)
    assert len(dist.buckets) == 2 * 4
    # deterministic, and the key decides: another key, another assignment
    assert buckets == _distributor().assign_buckets(MIRRORS)
    other = Distributor(bytes(32), FP).assign_buckets(MIRRORS)
    assert other != buckets


@pytest.mark.parametrize("change", ["add", "remove"])
def test_adding_or_removing_a_mirror_moves_no_other(change: str) -> None:
    dist = _distributor()
    before = dist.assign_buckets(MIRRORS)
    names = [*MIRRORS, "new"] if change == "add" else list(MIRRORS)[1:]
    after = dist.assign_buckets(names)
    moved = [n for n in after if n in before and before[n] != after[n]]
    assert moved == []


def test_adding_a_group_moves_about_one_bucket_share() -> None:
    many = [f"m{i}" for i in range(400)]
    before = _distributor(groups=4).assign_buckets(many)
    after = _distributor(groups=5).assign_buckets(many)
    moved = sum(before[n] != after[n] for n in many)
    # rendezvous hashing: only mirrors won by the two new buckets (2 of 10) move
    assert moved < 0.3 * len(many)
    assert all(after[n].group == 4 for n in many if before[n] != after[n])


@pytest.mark.parametrize("requesters", [1, 10, 100, 1000])
def test_harvesting_is_bounded_by_the_buckets_the_requesters_reach(requesters: int) -> None:
    dist = _distributor()
    buckets = dist.assign_buckets(MIRRORS)
    learned: set[str] = set()
    reached: set[Bucket] = set()
    for who in _random_emails(requesters, seed=requesters):
        answer = dist.answer(who, "email", NOON, MIRRORS)
        reached.add(answer.served_from)
        learned.update(m.name for m in answer.mirrors)
    sizes = [sum(1 for n in MIRRORS if buckets[n] == b) for b in reached]
    assert len(learned) <= sum(min(size, dist.config.pool_size) for size in sizes)
    assert len(reached) <= min(requesters, dist.config.groups)
    # the other channel's mirrors are never learned through this one
    email_mirrors = {n for n, b in buckets.items() if b.channel == "email"}
    assert learned <= email_mirrors
    assert len(learned) < len(MIRRORS)
    if requesters == 1:
        assert len(learned) <= 3


@pytest.mark.parametrize("days", [1, 3])
def test_a_thousand_accounts_learn_at_most_the_daily_pools(days: int) -> None:
    dist = _distributor()
    many = {f"x{i:03d}": f"https://x{i:03d}.example.net/" for i in range(200)}
    learned: set[str] = set()
    for day in range(days):
        for who in _random_emails(1000, seed=day):
            answer = dist.answer(who, "email", NOON + timedelta(days=day), many)
            learned.update(m.name for m in answer.mirrors)
    email = sum(1 for n in many if dist.bucket_of(n).channel == "email")
    bound = dist.config.groups * dist.config.pool_size * days
    assert len(learned) <= bound < email


def test_an_answer_never_leaves_the_home_bucket_while_it_has_a_working_mirror() -> None:
    dist = _distributor()
    buckets = dist.assign_buckets(MIRRORS)
    for who in _random_emails(200, seed=7):
        answer = dist.answer(who, "email", NOON, MIRRORS)
        if any(b == answer.bucket for b in buckets.values()):
            assert not answer.fallback
        assert all(buckets[m.name] == answer.served_from for m in answer.mirrors)


def test_empty_home_bucket_falls_back_within_the_channel_and_says_so() -> None:
    dist = _distributor()
    answer = dist.answer("alice@example.org", "email", NOON, MIRRORS)
    home = answer.bucket
    without_home = {n: u for n, u in MIRRORS.items() if dist.bucket_of(n) != home}
    fallback = dist.answer("alice@example.org", "email", NOON, without_home)
    assert fallback.fallback
    assert fallback.bucket == home
    assert fallback.served_from.channel == "email"
    assert fallback.served_from != home
    assert fallback.served_from == next(
        b
        for b in dist.group_ranking("email", "alice@example.org")[1:]
        if any(dist.bucket_of(n) == b for n in without_home)
    )


def test_no_working_mirror_in_the_channel_is_a_clear_error() -> None:
    dist = _distributor()
    telegram_only = {n: u for n, u in MIRRORS.items() if dist.bucket_of(n).channel == "telegram"}
    with pytest.raises(UserError, match="no working mirror for channel 'email'"):
        dist.answer("alice@example.org", "email", NOON, telegram_only)


def test_a_working_mirror_dying_keeps_the_other_picks() -> None:
    dist = _distributor(groups=1, channels=("email",), answer_size=3)
    before = dist.answer("alice@example.org", "email", NOON, MIRRORS)
    dead = before.mirrors[0].name
    after = dist.answer(
        "alice@example.org", "email", NOON, {n: u for n, u in MIRRORS.items() if n != dead}
    )
    assert set(before.mirrors[1:]) <= set(after.mirrors)


def test_the_answer_text_carries_the_fingerprint_and_how_to_check() -> None:
    answer = _distributor().answer("alice@example.org", "email", NOON, MIRRORS)
    assert "abab abab" in answer.text
    assert f"tamizdat verify URL --fingerprint {FP}" in answer.text
    assert all(m.url in answer.text for m in answer.mirrors)
    data = answer.to_json()
    assert data["fingerprint"] == FP
    assert data["fallback"] is False


@pytest.mark.parametrize(
    ("spelling", "person"),
    [
        ("Alice@Example.org", "alice@example.org"),
        ("  alice+news@example.org ", "alice@example.org"),
        ("alice+a+b@EXAMPLE.ORG.", "alice@example.org"),
        ("A.Lice+x@gmail.com", "alice@gmail.com"),
        ("alice@googlemail.com", "alice@gmail.com"),
        ("ａｌｉｃｅ@example.org", "alice@example.org"),  # fullwidth letters (NFKC)
    ],
)
def test_spellings_of_one_mailbox_are_one_requester(spelling: str, person: str) -> None:
    assert normalize_requester("email", spelling) == person
    dist = _distributor()
    assert dist.requester_key("email", spelling) == dist.requester_key("email", person)
    assert dist.answer(spelling, "email", NOON, MIRRORS) == dist.answer(
        person, "email", NOON, MIRRORS
    )


def test_dots_are_kept_where_the_provider_honours_them() -> None:
    assert normalize_requester("email", "a.lice@example.org") != normalize_requester(
        "email", "alice@example.org"
    )


@pytest.mark.parametrize(
    ("channel", "requester"),
    [
        ("email", "no-at-sign"),
        ("email", "two@@example.org"),
        ("email", "+tag@example.org"),
        ("email", "a b@example.org"),
        ("email", "alice@exa\x1bmple.org"),
        ("email", "x" * 65 + "@example.org"),
        ("telegram", "@alice"),
        ("telegram", "0"),
        ("telegram", "-5"),
        ("telegram", "1" * 21),
        ("email", "a@" + "b" * 10_000 + ".org"),
        ("telegram", "1" * 100_000),
    ],
)
def test_implausible_requesters_are_refused(channel: str, requester: str) -> None:
    with pytest.raises(UserError):
        _distributor().answer(requester, channel, NOON, MIRRORS)


def test_telegram_ids_are_numbers() -> None:
    assert normalize_requester("telegram", " 00123 ") == "123"


def test_unknown_channel_is_refused_with_the_known_ones() -> None:
    with pytest.raises(UserError, match="expected one of: email, telegram"):
        _distributor().answer("alice@example.org", "sms", NOON, MIRRORS)


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_requester_text_answers_or_is_refused_cleanly(text: str) -> None:
    dist = _distributor()
    for channel in ("email", "telegram"):
        try:
            answer = dist.answer(text, channel, NOON, MIRRORS)
        except UserError:
            continue
        assert answer.served_from.channel == channel


def test_short_key_and_bad_config_are_refused() -> None:
    with pytest.raises(UserError, match="at least 32 bytes"):
        Distributor(b"short", FP)
    with pytest.raises(UserError, match=r"distribution\.groups"):
        DistributionConfig(groups=0)
    with pytest.raises(UserError, match=r"distribution\.period"):
        DistributionConfig(period=timedelta(seconds=1))


# --- rate limits ---------------------------------------------------------------------------


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RequestStore:
    if request.param == "memory":
        return MemoryRequestStore()
    return SqliteRequestStore(tmp_path / "cache" / "requests.sqlite")


def test_rate_limit_refuses_the_fourth_request_with_a_clear_error(store: RequestStore) -> None:
    dist = _distributor()

    def ask(who: str, at: datetime) -> None:
        give_answer(dist, store, requester=who, channel="email", now=at, working=MIRRORS)

    for minutes in range(3):
        ask("alice@example.org", NOON + timedelta(minutes=minutes))
    with pytest.raises(RateLimitedError, match="already received 3 answers") as caught:
        ask("Alice+spam@example.org", NOON + timedelta(minutes=5))  # the same person
    assert "alice" not in str(caught.value)  # the refusal never names the requester
    ask("bob@example.org", NOON + timedelta(minutes=5))  # others are not affected
    ask("alice@example.org", NOON + timedelta(hours=24, minutes=1))  # the window moved on


def test_the_same_person_on_another_channel_is_counted_apart(store: RequestStore) -> None:
    dist = _distributor()
    for _ in range(3):
        give_answer(dist, store, requester="1234", channel="telegram", now=NOON, working=MIRRORS)
    with pytest.raises(RateLimitedError):
        give_answer(dist, store, requester="1234", channel="telegram", now=NOON, working=MIRRORS)


def test_an_unanswerable_request_does_not_use_up_the_quota() -> None:
    dist, store = _distributor(rate_limit=1), MemoryRequestStore()
    with pytest.raises(UserError, match="no working mirror"):
        give_answer(dist, store, requester="a@example.org", channel="email", now=NOON, working={})
    give_answer(dist, store, requester="a@example.org", channel="email", now=NOON, working=MIRRORS)


def test_sqlite_store_keeps_only_hashes_and_survives_reopening(tmp_path: Path) -> None:
    file = tmp_path / "requests.sqlite"
    dist = _distributor(rate_limit=1)
    give_answer(
        dist,
        SqliteRequestStore(file),
        requester="alice@example.org",
        channel="email",
        now=NOON,
        working=MIRRORS,
    )
    with pytest.raises(RateLimitedError):
        give_answer(
            dist,
            SqliteRequestStore(file),
            requester="alice@example.org",
            channel="email",
            now=NOON,
            working=MIRRORS,
        )
    assert b"alice" not in file.read_bytes()
    with sqlite3.connect(file) as db:
        rows = db.execute("SELECT requester FROM hits").fetchall()
    assert rows == [(dist.requester_key("email", "alice@example.org"),)]


def test_a_corrupt_store_is_named_and_left_alone(tmp_path: Path) -> None:
    file = tmp_path / "requests.sqlite"
    file.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(UserError, match="request store") as caught:
        SqliteRequestStore(file).admit("x", 0.0, 60.0, 3)
    assert caught.value.where == str(file)
    assert file.read_bytes() == b"this is not sqlite" * 100


# --- the secret key ------------------------------------------------------------------------


def test_missing_key_names_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError) as caught:
        load_distribution_key(tmp_path / "keys", environ={})
    error = caught.value
    assert error.message == "no distribution key"
    assert error.where == str(tmp_path / "keys" / "distribution.key")
    assert error.hint is not None
    assert KEY_FILE_ENV in error.hint
    assert "\n" not in error.hint


def test_key_from_the_environment_or_the_keys_folder(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "distribution.key").write_bytes(b"k" * 32)
    (tmp_path / "elsewhere.key").write_bytes(b"e" * 40)
    assert load_distribution_key(tmp_path / "keys", environ={}) == b"k" * 32
    env = {KEY_FILE_ENV: str(tmp_path / "elsewhere.key")}
    assert load_distribution_key(tmp_path / "keys", environ=env) == b"e" * 40


def test_a_short_key_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "distribution.key").write_bytes(b"short\n")
    with pytest.raises(KeyStoreError, match="at least 32 bytes, found 6"):
        load_distribution_key(tmp_path, environ={})


# --- the signed list, and blocking ---------------------------------------------------------


def test_working_mirrors_are_the_signed_ones_seen_working() -> None:
    listed = (
        b'{"version": 1, "mirrors": [{"name": "a", "public_url": "https://a/"},'
        b' {"name": "b", "public_url": "https://b/"}, {"name": "c", "public_url": "https://c/"}]}'
    )
    states = {"a": "current", "b": "unreachable", "c": "lagging", "unsigned": "current"}
    assert working_mirrors(listed, states, "mirrors.json") == {
        "a": "https://a/",
        "c": "https://c/",
    }


@pytest.mark.parametrize("listed", [b"", b"[]", b'{"mirrors": [{"name": "a"}]}', b"\xff"])
def test_a_malformed_mirror_list_is_named(listed: bytes) -> None:
    with pytest.raises(UserError, match="expected a tamizdat mirror list") as caught:
        working_mirrors(listed, {}, "release/mirrors.json")
    assert caught.value.where == "release/mirrors.json"


def test_blocking_summary_medians_per_bucket_and_channel() -> None:
    dist = _distributor()
    buckets = dist.assign_buckets(MIRRORS)
    email = sorted(n for n, b in buckets.items() if b.channel == "email")
    same = [n for n in email if buckets[n] == buckets[email[0]]]
    blocked = {n: float(10 * (i + 1)) for i, n in enumerate(email[:5])}
    summary = summarize_blocking(dist, list(MIRRORS), blocked)
    assert summary.mirror_buckets == buckets
    count, median = summary.per_channel["email"]
    assert (count, median) == (5, 30.0)
    assert "telegram" not in summary.per_channel
    first = str(buckets[email[0]])
    expected = [blocked[n] for n in same if n in blocked]
    assert summary.per_bucket[first][0] == len(expected)
    assert sum(n for n, _ in summary.per_bucket.values()) == 5
    data = summary.to_json()
    assert data["per_channel"] == {"email": {"blocked": 5, "median_time_to_block_seconds": 30.0}}


def test_a_fallback_answer_is_recorded_as_a_leak_path(store: RequestStore) -> None:
    dist = _distributor()
    home = dist.group_ranking("email", "alice@example.org")[0]
    without_home = {n: u for n, u in MIRRORS.items() if dist.bucket_of(n) != home}
    assert store.fallback_buckets() == {}
    give_answer(
        dist, store, requester="bob@example.org", channel="email", now=NOON, working=MIRRORS
    )
    if dist.group_ranking("email", "bob@example.org")[0] != home:
        assert store.fallback_buckets() == {}  # an answer from the home bucket leaks nothing new
    answer = give_answer(
        dist, store, requester="alice@example.org", channel="email", now=NOON, working=without_home
    )
    assert answer.fallback
    recorded = store.fallback_buckets()
    assert recorded == {m.name: frozenset({str(home)}) for m in answer.mirrors}
    summary = summarize_blocking(
        dist, list(MIRRORS), {answer.mirrors[0].name: 60.0, "m00": 30.0}, recorded
    )
    assert summary.fallback_buckets == {answer.mirrors[0].name: frozenset({str(home)})}
    assert summary.to_json()["fallback_buckets"] == {answer.mirrors[0].name: [str(home)]}


def test_reading_leak_paths_of_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    file = tmp_path / "never" / "requests.sqlite"
    assert SqliteRequestStore(file).fallback_buckets() == {}
    assert not file.parent.exists()


def test_concurrent_requests_cannot_slip_past_the_limit(tmp_path: Path) -> None:
    file = tmp_path / "requests.sqlite"
    admitted: list[bool] = []
    lock = threading.Lock()

    def ask() -> None:
        ok = SqliteRequestStore(file).admit("same", 1000.0, 3600.0, 3)
        with lock:
            admitted.append(ok)

    threads = [threading.Thread(target=ask) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(admitted) == [False] * 9 + [True] * 3
