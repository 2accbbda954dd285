"""Fail-over across untrusted mirrors: ask the next one when one is dead, slow, lagging or lying.

Invariant: a mirror's answer is only returned after the caller's ``verify`` accepted it; a
mirror that delivered unauthentic bytes is not asked again in this sync, a mirror that could
not be reached is not asked again either, and every skip is recorded as a :class:`MirrorNote`
(in the report, not an error) as long as some other mirror delivers. Only when no mirror
delivers does the pool raise — the most telling error it saw (untrusted beats transport).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from tamizdat.errors import (
    MirrorResponseError,
    MirrorUnreachableError,
    RollbackError,
    TamizdatError,
    TransportError,
    UntrustedContentError,
)
from tamizdat.trust.sources import HttpSource, MissingFileError, Source

__all__ = ["KILL_ENV", "MirrorNote", "MirrorPool", "NoteKind"]

logger = logging.getLogger(__name__)

KILL_ENV = "TAMIZDAT_TEST_KILL_AFTER_FETCHES"
NoteKind = Literal["unreachable", "missing", "lagging", "tampered", "error"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MirrorNote:
    """Why a mirror was skipped for one file."""

    mirror: str
    path: str
    kind: NoteKind
    problem: str


class MirrorPool:
    """Mirrors in order of preference, with per-sync memory of which ones to skip."""

    def __init__(self, sources: Sequence[Source], *, deadline: float | None = None) -> None:
        self.sources = list(sources)
        self.notes: list[MirrorNote] = []
        self.fetched_files = 0
        self.fetched_bytes = 0
        self._local_bytes = 0  # from sources that do not count their own wire bytes
        self._skip: set[str] = set()
        self._lock = threading.Lock()
        self._deadline = time.monotonic() + deadline if deadline is not None else None
        kill = os.environ.get(KILL_ENV, "")
        # Test-only hook: lets tests SIGKILL a real sync mid-download (see tests).
        self._kill_after = int(kill) if kill.isdigit() else None

    @property
    def wire_bytes(self) -> int:
        """Bytes as transferred: compressed bodies for HTTP mirrors, file bytes otherwise."""
        counted = sum(s.wire_bytes for s in self.sources if isinstance(s, HttpSource))
        return counted + self._local_bytes

    @property
    def live(self) -> list[Source]:
        return [s for s in self.sources if s.name not in self._skip]

    def prefer(self, name: str) -> None:
        """Ask ``name`` first from now on (the mirror with the newest timestamp)."""
        self.sources.sort(key=lambda s: s.name != name)

    def note(self, source: Source, path: str, kind: NoteKind, problem: str, skip: bool) -> None:
        with self._lock:
            self.notes.append(MirrorNote(source.name, path, kind, problem))
            if skip:
                self._skip.add(source.name)
        logger.info("mirror %s skipped for %s: %s", source.name, path, problem)

    def _raw(self, source: Source, path: str, max_length: int) -> bytes:
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise MirrorUnreachableError(
                "the sync deadline passed", where=path, hint="raise --deadline or try later"
            )
        data = source.fetch(path, max_length)
        with self._lock:
            self.fetched_files += 1
            self.fetched_bytes += len(data)
            if not isinstance(source, HttpSource):
                self._local_bytes += len(data)
            if self._kill_after is not None and self.fetched_files >= self._kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
        return data

    def fetch(
        self,
        path: str,
        max_length: int,
        verify: Callable[[bytes, Source], T],
        *,
        probe: bool = False,
    ) -> T:
        """The first answer for ``path`` that ``verify`` accepts, trying mirrors in order.

        ``probe`` marks a file that usually does not exist yet (the next root): its absence
        is not noted, and one mirror that lacks it outweighs mirrors whose copy was refused
        (else one lying mirror could block every update by offering a bogus next root).

        Raises:
            UntrustedContentError: every mirror that answered delivered unauthentic bytes.
            MissingFileError: every mirror that answered lacks the file.
            TransportError: no mirror could be reached (or the sync deadline passed).
        """
        worst: TamizdatError | None = None
        absent: MissingFileError | None = None
        for source in self.live:
            try:
                data = self._raw(source, path, max_length)
                return verify(data, source)
            except MissingFileError as exc:
                if not probe:
                    self.note(source, path, "missing", exc.message, skip=False)
                absent = exc
                worst = worst if isinstance(worst, UntrustedContentError) else exc
            except RollbackError as exc:
                self.note(source, path, "lagging", exc.message, skip=True)
                worst = exc
            except UntrustedContentError as exc:
                self.note(source, path, "tampered", exc.message, skip=True)
                worst = exc
            except MirrorUnreachableError as exc:
                if "sync deadline" in exc.message:
                    raise
                self.note(source, path, "unreachable", exc.message, skip=True)
                worst = worst or exc
            except TransportError as exc:
                self.note(source, path, "error", exc.message, skip=False)
                worst = worst or exc
        if probe and absent is not None:
            raise absent
        if worst is None:
            raise MirrorUnreachableError(
                f"no mirror left to ask for {path}",
                where=path,
                hint="every mirror was unreachable or misbehaved earlier in this sync",
            )
        raise worst

    def gather(self, path: str, max_length: int, count: int) -> list[tuple[Source, bytes]]:
        """Raw answers for ``path`` from up to ``count`` mirrors (e.g. several timestamps)."""
        answers: list[tuple[Source, bytes]] = []
        for source in self.live:
            if len(answers) >= count:
                break
            try:
                answers.append((source, self._raw(source, path, max_length)))
            except MissingFileError as exc:
                self.note(source, path, "missing", exc.message, skip=False)
            except MirrorResponseError as exc:
                self.note(source, path, "error", exc.message, skip=False)
            except UntrustedContentError as exc:  # endless data
                self.note(source, path, "tampered", exc.message, skip=True)
            except TransportError as exc:
                if "sync deadline" in exc.message:
                    raise
                self.note(source, path, "unreachable", exc.message, skip=True)
        return answers
