"""MirrorPool: slow remote sources are raced and hedged, the deadline holds, verify runs once.

Sources here are in-memory fakes flagged ``remote`` that block on an event (a mirror that
never answers) or sleep; no network.
"""

from __future__ import annotations

import threading
import time

import pytest

from tamizdat.errors import DeadlineError, MirrorUnreachableError, TamperedError
from tamizdat.transport.failover import MirrorPool
from tamizdat.transport.network import NetworkLimits
from tamizdat.transport.sources import MemorySource, MissingFileError, Source

MARGIN = 2.0
FAST = NetworkLimits(hedge_delay=0.3, quorum_wait=0.3, deadline=None)


class _Remote(MemorySource):
    """A remote mirror that answers after ``delay`` seconds (None: never, until released)."""

    remote = True

    def __init__(self, files: dict[str, bytes], name: str, delay: float | None) -> None:
        super().__init__(files, name)
        self.delay = delay
        self.release = threading.Event()
        self.asked: list[str] = []

    def fetch(self, path: str, max_length: int) -> bytes:
        self.asked.append(path)
        if self.delay is None:
            self.release.wait()
            raise MissingFileError("released", where=self.name)
        time.sleep(self.delay)
        return super().fetch(path, max_length)


def _accept(data: bytes, source: Source) -> tuple[bytes, str]:
    return data, source.name


def test_a_stalled_first_mirror_is_hedged_and_the_next_one_wins() -> None:
    stalled = _Remote({"a": b"1"}, "stalled", None)
    pool = MirrorPool([stalled, _Remote({"a": b"1"}, "fast", 0.0)], limits=FAST)
    started = time.monotonic()
    assert pool.fetch("a", 10, _accept) == (b"1", "fast")
    assert time.monotonic() - started < FAST.hedge_delay * MARGIN + 0.5
    assert [s.name for s in pool.sources] == ["fast", "stalled"]  # the winner goes first
    stalled.release.set()


def test_the_deadline_ends_the_wait_on_a_mirror_that_never_answers() -> None:
    stalled = _Remote({"a": b"1"}, "stalled", None)
    pool = MirrorPool([stalled], deadline=0.5, limits=FAST)
    started = time.monotonic()
    with pytest.raises(DeadlineError):
        pool.fetch("a", 10, _accept)
    assert time.monotonic() - started < 0.5 * MARGIN
    with pytest.raises(DeadlineError):
        pool.gather("a", 10, 2)
    stalled.release.set()


def test_verify_runs_in_the_callers_thread_once_per_answer() -> None:
    threads: list[int] = []

    def verify(data: bytes, source: Source) -> str:
        threads.append(threading.get_ident())
        if source.name == "liar":
            raise TamperedError("forged", where=source.name)
        return source.name

    pool = MirrorPool(
        [_Remote({"a": b"x"}, "liar", 0.0), _Remote({"a": b"1"}, "honest", 0.05)], limits=FAST
    )
    assert pool.fetch("a", 10, verify) == "honest"
    assert threads == [threading.get_ident()] * 2
    assert [(n.mirror, n.kind) for n in pool.notes] == [("liar", "tampered")]


def test_a_probe_does_not_wait_for_a_stalled_mirror_once_another_says_missing() -> None:
    stalled = _Remote({}, "stalled", None)
    pool = MirrorPool([_Remote({}, "honest", 0.0), stalled], limits=FAST)
    started = time.monotonic()
    with pytest.raises(MissingFileError):
        pool.fetch("2.root.json", 10, _accept, probe=True)
    assert time.monotonic() - started < FAST.quorum_wait * MARGIN + 0.5
    assert not pool.notes
    stalled.release.set()


def test_gather_keeps_preference_order_and_does_not_wait_long_for_the_slow() -> None:
    stalled = _Remote({"t": b"s"}, "stalled", None)
    slow = _Remote({"t": b"2"}, "slow", 0.1)
    fast = _Remote({"t": b"3"}, "fast", 0.0)
    pool = MirrorPool([slow, fast], limits=FAST)
    assert [(s.name, d) for s, d in pool.gather("t", 10, 2)] == [("slow", b"2"), ("fast", b"3")]
    pool = MirrorPool([stalled, fast], limits=FAST)
    started = time.monotonic()
    assert [s.name for s, _ in pool.gather("t", 10, 2)] == ["fast"]
    assert time.monotonic() - started < FAST.quorum_wait * MARGIN + 0.5
    stalled.release.set()


def test_local_sources_are_asked_in_order_without_threads() -> None:
    first, second = MemorySource({}, "first"), MemorySource({"a": b"1"}, "second")
    pool = MirrorPool([first, second])
    assert pool.fetch("a", 10, _accept) == (b"1", "second")
    assert [(n.mirror, n.kind) for n in pool.notes] == [("first", "missing")]
    assert pool.wire_bytes == 1  # counted as delivered: memory sources count nothing


# Happy eyeballs: a mirror not yet heard from gets a short head start, not the long hedge.
# A wait that went wrong ends in the pool's deadline (DeadlineError), never in a timed check.
EYEBALLS = NetworkLimits(head_start=0.05, hedge_delay=60.0, quorum_wait=60.0, deadline=None)


class _Unreachable(_Remote):
    """A remote mirror whose connect fails after ``delay`` seconds."""

    def __init__(self, name: str, delay: float) -> None:
        super().__init__({}, name, delay)
        self.failed = threading.Event()

    def fetch(self, path: str, max_length: int) -> bytes:
        time.sleep(self.delay or 0.0)
        self.failed.set()
        raise MirrorUnreachableError("did not answer within 2 s", where=self.name)


def test_a_mirror_not_yet_heard_from_gets_only_a_head_start() -> None:
    stalled = _Remote({"a": b"1"}, "stalled", None)
    fast = _Remote({"a": b"1"}, "fast", 0.0)
    pool = MirrorPool([stalled, fast], deadline=10.0, limits=EYEBALLS)
    assert pool.fetch("a", 10, _accept) == (b"1", "fast")
    # Heard from once, a mirror gets the full hedge time; the silent one still a head start.
    assert pool.hedge_delay(fast, 0) == EYEBALLS.hedge_seconds(0)
    assert pool.hedge_delay(stalled, 0) == EYEBALLS.head_start
    assert set(pool.latency) == {"fast"}
    stalled.release.set()


def test_a_mirror_that_fails_after_losing_a_race_is_not_asked_again() -> None:
    failing = _Unreachable("failing", 0.2)
    pool = MirrorPool([failing, _Remote({"a": b"1", "b": b"2"}, "fast", 0.0)], limits=EYEBALLS)
    assert pool.fetch("a", 10, _accept) == (b"1", "fast")
    assert failing.failed.wait(10)
    time.sleep(0.05)  # the losing thread notes its failure right after raising
    assert [s.name for s in pool.live] == ["fast"]
    assert [(n.mirror, n.kind, n.problem) for n in pool.notes] == [
        ("failing", "unreachable", "did not answer within 2 s")
    ]
    assert pool.fetch("b", 10, _accept) == (b"2", "fast")


def test_gather_asks_the_next_mirror_when_one_is_slow_to_answer() -> None:
    stalled = _Remote({"t": b"s"}, "stalled", None)
    one, two = _Remote({"t": b"1"}, "one", 0.0), _Remote({"t": b"2"}, "two", 0.0)
    pool = MirrorPool([stalled, one, two], deadline=10.0, limits=EYEBALLS)
    assert [(s.name, d) for s, d in pool.gather("t", 10, 2)] == [("one", b"1"), ("two", b"2")]
    assert pool.sources[-1] is stalled  # slow to answer: asked last from now on
    stalled.release.set()


def test_two_mirrors_saying_missing_end_a_probe() -> None:
    stalled = _Remote({}, "stalled", None)
    pool = MirrorPool(
        [_Remote({}, "one", 0.0), _Remote({}, "two", 0.0), stalled],
        deadline=10.0,
        limits=EYEBALLS,
    )
    with pytest.raises(MissingFileError):
        pool.fetch("2.root.json", 10, _accept, probe=True)
    stalled.release.set()


def test_a_mirror_still_silent_at_the_end_is_noted_as_such() -> None:
    stalled = _Remote({"a": b"1"}, "stalled", None)
    pool = MirrorPool([stalled, _Remote({"a": b"1"}, "fast", 0.0)], limits=EYEBALLS)
    assert pool.fetch("a", 10, _accept) == (b"1", "fast")
    time.sleep(EYEBALLS.head_start)
    [note] = pool.silent()
    assert (note.mirror, note.path, note.kind) == ("stalled", "a", "unreachable")
    assert note.problem.startswith("had not answered after")
    stalled.release.set()


def test_a_second_opinion_is_not_awaited_from_a_mirror_still_silent() -> None:
    stalled = _Remote({"a": b"1"}, "stalled", None)
    pool = MirrorPool([stalled, _Remote({"a": b"1"}, "fast", 0.0)], deadline=10.0, limits=EYEBALLS)
    assert pool.fetch("a", 10, _accept) == (b"1", "fast")
    time.sleep(EYEBALLS.head_start)
    with pytest.raises(MissingFileError):  # not DeadlineError: the silent one is not asked
        pool.fetch("2.root.json", 10, _accept, probe=True)
    assert [(s.name, d) for s, d in pool.gather("a", 10, 2)] == [("fast", b"1")]
    assert stalled.asked == ["a"]
    stalled.release.set()
