"""Fail-over across untrusted mirrors: ask the next one when one is dead, slow, lagging or lying.

Invariant: a mirror's answer is only returned after the caller's ``verify`` accepted it
(``verify`` runs in the caller's thread, one answer at a time, so it may update shared
state); a mirror that delivered unauthentic bytes is not asked again in this sync, a mirror
that could not be reached is not asked again either, and every skip is recorded as a
:class:`MirrorNote` (in the report, not an error) as long as some other mirror delivers.
Only when no mirror delivers does the pool raise — the most telling error it saw (untrusted
beats transport). A slow mirror loses the race (happy eyeballs): a remote source
(``Source.remote``) that has not delivered within ``NetworkLimits.head_start`` — or, once it
delivered something in this sync, within ``NetworkLimits.hedge_seconds`` of the file's size —
gets company: the next mirror is asked in parallel and the first authentic answer wins; a
question put to several mirrors (:meth:`MirrorPool.gather`) is hedged the same way. No wait
outlasts the whole deadline: when it passes, :class:`~tamizdat.errors.DeadlineError` is
raised at once. The pool remembers, per mirror, how fast its answers came
(:attr:`MirrorPool.latency`), so a caller can ask the quick ones first next time.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from tamizdat.errors import (
    DeadlineError,
    InternalError,
    LogForkError,
    MirrorResponseError,
    MirrorUnreachableError,
    NotThisPublisherError,
    RollbackError,
    TamizdatError,
    TransportError,
    UntrustedContentError,
)
from tamizdat.transport.fetch import Check
from tamizdat.transport.network import Deadline, NetworkLimits
from tamizdat.transport.sources import MissingFileError, Source

__all__ = [
    "MirrorNote",
    "MirrorPool",
    "NoteKind",
    "PoolFetcher",
]

logger = logging.getLogger(__name__)

NoteKind = Literal["unreachable", "missing", "lagging", "tampered", "not-this-publisher", "error"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MirrorNote:
    """Why a mirror was skipped for one file."""

    mirror: str
    path: str
    kind: NoteKind
    problem: str


@dataclass(frozen=True, slots=True)
class _Answer:
    """What one mirror delivered for one request: bytes, or the error it failed with."""

    source: Source
    data: bytes | None
    error: TamizdatError | None
    seconds: float = 0.0


class _Race:
    """The requests for one file: started one by one, hedged, answers in arrival order."""

    def __init__(
        self, pool: MirrorPool, path: str, max_length: int, *, hedge: bool, opinion: bool = False
    ) -> None:
        self.pool = pool
        self.hedge = hedge
        self.path = path
        self.max_length = max_length
        self.waiting = list(pool.live)
        if opinion:
            # A second opinion (the next root, another timestamp) is not worth waiting for
            # from a mirror that has not answered anything yet and still owes an answer.
            silent = {note.mirror for note in pool.silent()}
            self.waiting = [s for s in self.waiting if s.name not in silent] or self.waiting
        self.running = 0
        self.started = 0
        self.pending: dict[str, tuple[Source, float]] = {}  # asked, not answered: since when
        self.hedge_at: float | None = None
        self.answers: queue.SimpleQueue[_Answer] = queue.SimpleQueue()

    @property
    def exhausted(self) -> bool:
        return not self.waiting and self.running == 0

    def start_next(self) -> None:
        """Ask the next mirror: in a thread of its own if remote, else right here."""
        if not self.waiting:
            self.hedge_at = None
            return
        source = self.waiting.pop(0)
        self.running += 1
        self.started += 1
        self.pending[source.name] = (source, time.monotonic())
        if not source.remote:
            self.hedge_at = None
            self.answers.put(self._ask(source))
            return
        if self.hedge:
            self.hedge_at = time.monotonic() + self.pool.hedge_delay(source, self.max_length)
        threading.Thread(
            target=lambda: self.answers.put(self._ask(source)),
            name=f"fetch {self.path}",
            daemon=True,  # a loser still blocked in a read must not hold the process open
        ).start()

    def _ask(self, source: Source) -> _Answer:
        started = time.monotonic()
        key = (source.name, self.path, started)
        self.pool.asking(key, True)
        try:
            self.pool.check_deadline(self.path)
            data = source.fetch(self.path, self.max_length)
            return _Answer(source, data, None, time.monotonic() - started)
        except MirrorUnreachableError as exc:
            # Noted here, not by the race: a loser's answer is never read, and a mirror that
            # cannot be reached must not be asked again for the next file.
            self.pool.unreachable(source, self.path, exc)
            return _Answer(source, None, exc)
        except TamizdatError as exc:
            return _Answer(source, None, exc)
        except Exception as exc:  # a bug in a source must still end the wait
            logger.exception("source %s failed on %s", source.name, self.path)
            return _Answer(source, None, InternalError(f"source failed: {exc!r}"))
        finally:
            self.pool.asking(key, False)

    def next_answer(self, until: float | None = None) -> _Answer | None:
        """The next answer, or None when ``until`` (or the hedge time) came first.

        Raises:
            DeadlineError: the whole deadline passed while waiting.
        """
        limits = [t for t in (until, self.hedge_at if self.waiting else None) if t is not None]
        left = self.pool.deadline.remaining()
        if left is not None:
            limits.append(time.monotonic() + left)
        timeout = max(0.0, min(limits) - time.monotonic()) if limits else None
        try:
            answer = self.answers.get(timeout=timeout)
        except queue.Empty:
            self.pool.check_deadline(self.path)
            return None
        self.running -= 1
        self.pending.pop(answer.source.name, None)
        return answer


class MirrorPool:
    """Mirrors in order of preference, with per-sync memory of which ones to skip.

    ``deadline`` bounds the whole sync (seconds from now, or a :class:`Deadline` shared with
    the sources); ``limits`` gives the hedge delay and the quorum wait.
    """

    def __init__(
        self,
        sources: Sequence[Source],
        *,
        deadline: Deadline | float | None = None,
        limits: NetworkLimits | None = None,
    ) -> None:
        self.sources = list(sources)
        self.notes: list[MirrorNote] = []
        # The last refusal per path among gathered answers (endless data): when no mirror
        # answers acceptably, that is the verdict, as it is for one source.
        self.refusals: dict[str, UntrustedContentError] = {}
        self.fetched_files = 0
        self.fetched_bytes = 0
        # Per mirror: the quickest answer it delivered in this sync, in seconds.
        self.latency: dict[str, float] = {}
        self.limits = limits or NetworkLimits()
        self.deadline = deadline if isinstance(deadline, Deadline) else Deadline(deadline)
        self._local_bytes = 0  # from sources that do not count their own wire bytes
        self._asking: set[tuple[str, str, float]] = set()  # (mirror, path, since) in flight
        self._skip: set[str] = set()
        self._lock = threading.Lock()

    @property
    def wire_bytes(self) -> int:
        """Bytes as transferred: what sources counted themselves, delivered bytes otherwise."""
        counted = sum(s.wire_bytes or 0 for s in self.sources)
        return counted + self._local_bytes

    @property
    def live(self) -> list[Source]:
        return [s for s in self.sources if s.name not in self._skip]

    def hedge_delay(self, source: Source, size: int) -> float:
        """How long ``source`` may take on a file of ``size`` bytes before another mirror
        is asked as well: a short head start until it has delivered something in this sync."""
        hedge = self.limits.hedge_seconds(size)
        with self._lock:
            proven = source.name in self.latency
        return hedge if proven else min(hedge, self.limits.head_start)

    def prefer(self, name: str) -> None:
        """Ask ``name`` first from now on (the newest timestamp, or the winner of a race)."""
        with self._lock:
            # A new list, never an in-place sort: other threads may be reading the old one.
            self.sources = sorted(self.sources, key=lambda s: s.name != name)

    def note(self, source: Source, path: str, kind: NoteKind, problem: str, skip: bool) -> None:
        with self._lock:
            self.notes.append(MirrorNote(source.name, path, kind, problem))
            if skip:
                self._skip.add(source.name)
        logger.info("mirror %s skipped for %s: %s", source.name, path, problem)

    def asking(self, key: tuple[str, str, float], busy: bool) -> None:
        """A request (mirror, path, since) started (``busy``) or ended."""
        with self._lock:
            if busy:
                self._asking.add(key)
            else:
                self._asking.discard(key)

    def silent(self) -> list[MirrorNote]:
        """Mirrors that delivered nothing in this sync and still owe an answer older than
        their head start: at the end, what the sync did not wait for, as notes."""
        now = time.monotonic()
        oldest: dict[str, tuple[float, str]] = {}
        with self._lock:
            noted = {n.mirror for n in self.notes}
            for name, path, since in self._asking:
                if name in self.latency or name in noted or now - since < self.limits.head_start:
                    continue
                if name not in oldest or since < oldest[name][0]:
                    oldest[name] = (since, path)
        return [
            MirrorNote(name, path, "unreachable", f"had not answered after {now - since:.1f} s")
            for name, (since, path) in sorted(oldest.items())
        ]

    def unreachable(self, source: Source, path: str, error: MirrorUnreachableError) -> None:
        """``source`` could not be reached for ``path``: note it and ask it no more."""
        self.note(source, path, "unreachable", error.message, skip=True)

    def _slow(self, race: _Race) -> None:
        """Mirrors still silent after their head start are asked last from now on (each
        keeps its place in this race, and wins it if it still answers first)."""
        now = time.monotonic()
        slow = {
            name
            for name, (source, since) in race.pending.items()
            if source.remote and now - since >= self.hedge_delay(source, race.max_length)
        }
        if slow:
            with self._lock:
                self.sources = sorted(self.sources, key=lambda s: s.name in slow)

    def check_deadline(self, path: str) -> None:
        """Raise if the whole sync's deadline passed.

        Raises:
            DeadlineError: it did.
        """
        self.deadline.check(f"fetching {path}", where=path)

    def _delivered(self, answer: _Answer) -> bytes:
        if answer.error is not None:
            raise answer.error
        data = answer.data or b""
        with self._lock:
            name = answer.source.name
            self.latency[name] = min(self.latency.get(name, answer.seconds), answer.seconds)
            self.fetched_files += 1
            self.fetched_bytes += len(data)
            if answer.source.wire_bytes is None:
                self._local_bytes += len(data)
        return data

    def fetch(
        self,
        path: str,
        max_length: int,
        verify: Callable[[bytes, Source], T],
        *,
        probe: bool = False,
    ) -> T:
        """The first answer for ``path`` that ``verify`` accepts, racing slow mirrors.

        Mirrors are asked in order; the next one is asked when one fails, and also, in
        parallel, when a remote one has not delivered within the hedge time. ``probe``
        marks a file that usually does not exist yet (the next root): its absence is not
        noted, once one mirror says it is missing the others get ``quorum_wait``, and
        one mirror that lacks it outweighs mirrors whose copy was refused (else one lying
        mirror could block every update by offering a bogus next root).

        Raises:
            UntrustedContentError: every mirror that answered delivered unauthentic bytes.
            MissingFileError: every mirror that answered lacks the file.
            TransportError: no mirror could be reached. DeadlineError: the deadline passed.
        """
        self.check_deadline(path)
        race = _Race(self, path, max_length, hedge=True, opinion=probe)
        worst: TamizdatError | None = None
        until: float | None = None  # a probe: how long the rest may take after a "missing"
        absent: MissingFileError | None = None
        race.start_next()
        while not race.exhausted:
            answer = race.next_answer(until)
            if answer is None:
                if until is not None and time.monotonic() >= until:
                    break  # the slow ones had their quorum wait: the file is missing
                self._slow(race)
                race.start_next()  # the hedge time passed: ask the next mirror as well
                continue
            source = answer.source
            try:
                result = verify(self._delivered(answer), source)
            except DeadlineError:
                raise
            except TamizdatError as exc:
                worst = self._failed(source, path, exc, worst, probe)
                if isinstance(exc, MissingFileError):
                    if probe and absent is not None:
                        break  # two mirrors agree the file does not exist (yet)
                    absent = exc
                if probe and until is None and isinstance(exc, MissingFileError):
                    # A file that usually does not exist yet: one mirror saying so is
                    # likely right; a mirror that stalls must not hold the sync for it.
                    until = time.monotonic() + self.limits.quorum_wait
                race.start_next()  # keep one fresh request going
                continue
            if race.started > 1:
                self.prefer(source.name)  # the winner of a race goes first from now on
            return result
        if probe and absent is not None:
            raise absent
        if worst is None:
            raise MirrorUnreachableError(
                f"no mirror left to ask for {path}",
                where=path,
                hint="every mirror was unreachable or misbehaved earlier in this sync",
            )
        raise worst

    def _failed(
        self,
        source: Source,
        path: str,
        exc: TamizdatError,
        worst: TamizdatError | None,
        probe: bool,
    ) -> TamizdatError:
        """Note why ``source`` failed on ``path``; the most telling error seen so far."""
        if isinstance(exc, MissingFileError):
            if not probe:
                self.note(source, path, "missing", exc.message, skip=False)
            return worst if isinstance(worst, UntrustedContentError) else exc
        if isinstance(exc, RollbackError):
            self.note(source, path, "lagging", exc.message, skip=True)
            return exc
        if isinstance(exc, NotThisPublisherError):  # another publisher's copy, not a forgery
            self.note(source, path, "not-this-publisher", exc.message, skip=True)
            return exc
        if isinstance(exc, UntrustedContentError):
            self.note(source, path, "tampered", exc.message, skip=True)
            return exc
        if not isinstance(exc, MirrorUnreachableError):  # (unreachable: noted when it failed)
            self.note(source, path, "error", exc.message, skip=False)
        return worst or exc

    def gather(self, path: str, max_length: int, count: int) -> list[tuple[Source, bytes]]:
        """Raw answers for ``path`` from up to ``count`` mirrors (e.g. several timestamps).

        The first ``count`` mirrors are asked in parallel; the next one when one fails, or
        has not answered within its head start (:meth:`hedge_delay`); once one has
        answered, the others get ``limits.quorum_wait`` more seconds.

        Raises:
            DeadlineError: the deadline passed.
        """
        self.check_deadline(path)
        race = _Race(self, path, max_length, hedge=True, opinion=True)
        order = {id(source): rank for rank, source in enumerate(race.waiting)}
        answers: list[tuple[Source, bytes]] = []
        until: float | None = None
        for _ in range(count):
            race.start_next()
        while len(answers) < count and not race.exhausted:
            answer = race.next_answer(until)
            if answer is None:
                if until is not None and time.monotonic() >= until:
                    break  # the others had their quorum wait: go on without the slow ones
                self._slow(race)
                race.start_next()  # one is slow to answer: ask the next mirror as well
                continue
            try:
                answers.append((answer.source, self._delivered(answer)))
                until = until or time.monotonic() + self.limits.quorum_wait
            except DeadlineError:
                raise
            except TamizdatError as exc:
                self._gather_failed(answer.source, path, exc)
                race.start_next()
        # In the order of preference, not of arrival: the same mirrors give the same result.
        return sorted(answers, key=lambda answer: order[id(answer[0])])

    def _gather_failed(self, source: Source, path: str, exc: TamizdatError) -> None:
        if isinstance(exc, MissingFileError):
            self.note(source, path, "missing", exc.message, skip=False)
        elif isinstance(exc, MirrorResponseError):
            self.note(source, path, "error", exc.message, skip=False)
        elif isinstance(exc, UntrustedContentError):  # endless data
            self.note(source, path, "tampered", exc.message, skip=True)
            with self._lock:
                self.refusals[path] = exc
        elif isinstance(exc, TransportError) and not isinstance(exc, MirrorUnreachableError):
            self.note(source, path, "unreachable", exc.message, skip=True)
        else:
            self.note(source, path, "error", exc.message, skip=False)


class PoolFetcher:
    """A :class:`~tamizdat.transport.failover.MirrorPool` as the workflow's fetcher."""

    def __init__(self, pool: MirrorPool) -> None:
        self.pool = pool
        self.name = ", ".join(s.name for s in pool.sources) or "no mirror"

    def fetch_checked(
        self, path: str, max_length: int, check: Check[T], *, probe: bool = False
    ) -> T:
        return self.pool.fetch(
            path,
            max_length,
            lambda data, source: check(data, f"{source.name}: {path}"),
            probe=probe,
        )

    def gather(self, path: str, max_length: int, count: int) -> list[tuple[str, bytes]]:
        answers = self.pool.gather(path, max_length, count)
        if not answers and path in self.pool.refusals:
            raise self.pool.refusals[path]  # every answer was refused: tampered, not unreachable
        if not answers:
            asked = ", ".join(sorted({n.mirror for n in self.pool.notes})) or "none configured"
            raise MirrorUnreachableError(
                f"expected {path} from at least one mirror, got none (asked: {asked})",
                where=path,
                hint="add more mirrors, import a bundle, or try again later",
            )
        return [(source.name, data) for source, data in answers]

    def refused(self, source: str, path: str, error: UntrustedContentError) -> None:
        kind: NoteKind = (
            "lagging" if isinstance(error, RollbackError | LogForkError) else "tampered"
        )
        if isinstance(error, NotThisPublisherError):
            kind = "not-this-publisher"
        for candidate in self.pool.sources:
            if candidate.name == source:
                self.pool.note(candidate, path, kind, error.message, skip=True)

    def prefer(self, source: str) -> None:
        self.pool.prefer(source)

    def stored_once(self, by_hash: str, natural: str) -> bool:
        return False  # a store keeps objects; natural paths are never fetched
