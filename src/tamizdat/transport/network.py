"""The time limits of every network operation, in one frozen config, and the clock that keeps them.

Invariant: no network wait is longer than what is left of the whole operation. A hostile
mirror controls how fast its bytes arrive; a per-read timeout alone restarts at every byte
(one byte a second holds a reader for ever), so every wait is bounded by
:meth:`Deadline.wait_limit`, which is never more than the time left of the whole operation
(``NetworkLimits.deadline``) or of the one file (``NetworkLimits.file_budget``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from tamizdat.errors import DeadlineError, MirrorUnreachableError, TransportError

__all__ = ["Deadline", "NetworkLimits"]


@dataclass(frozen=True, slots=True)
class NetworkLimits:
    """Time limits of network reads, in seconds (rates in bytes per second).

    ``read_timeout``: one send, or the wait for a fresh connection's answer. ``connect_timeout``:
    a TCP connect or TLS handshake (a censor that drops packets makes both hang: the next
    mirror is asked instead). ``stall_timeout``: the longest pause inside an answer, or before
    the answer on a kept-alive connection; a connection that pauses longer is taken as frozen
    (the censor freezes connections after some bytes) and the transfer resumes on a fresh
    one with an HTTP ``Range`` request. ``file_budget`` plus the file's size at ``min_rate``:
    one file from one mirror, all reads, resumptions and redirects included (a mirror slower
    than that is skipped as unreachable). ``deadline``: the whole operation (a sync, a
    verify, a mirror check); None only where a caller bounds it otherwise. ``head_start``:
    how long a mirror that has not yet delivered anything in this operation may take before
    the next one is asked in parallel (happy eyeballs); ``hedge_delay`` plus the size at
    ``hedge_rate``: the same for a mirror that has (the first authentic answer wins).
    ``quorum_wait``: after the first answer to a question put to several mirrors (the
    timestamp), how long to wait for the others. ``max_redirects``: redirects followed, only
    within the mirror's origin. ``max_pieces``: requests one file may take when connections
    freeze (a 16 KB freeze needs one per 8 KB: 4096 carry 32 MB).
    """

    read_timeout: float = 10.0
    file_budget: float = 30.0
    min_rate: float = 4096.0
    deadline: float | None = 120.0
    hedge_delay: float = 2.0
    hedge_rate: float = 1024 * 1024.0
    quorum_wait: float = 2.0
    max_redirects: int = 3
    connect_timeout: float = 2.0
    stall_timeout: float = 2.0
    head_start: float = 0.5
    max_pieces: int = 4096

    def file_seconds(self, size: int) -> float:
        """The wall-clock budget for one file of at most ``size`` bytes from one mirror."""
        return self.file_budget + size / self.min_rate

    def hedge_seconds(self, size: int) -> float:
        """How long one mirror may take on a file of ``size`` bytes before another is asked."""
        return self.hedge_delay + size / self.hedge_rate


class Deadline:
    """A point in monotonic time after which an operation gives up (``None`` seconds: never).

    :meth:`within` makes the tighter clock of one file inside the operation: when a wait runs
    out, :meth:`expired_error` tells whose time was up (the whole operation's: stop; only the
    file's: this mirror is too slow, ask another).
    """

    def __init__(self, seconds: float | None, *, whole: Deadline | None = None) -> None:
        self.seconds = seconds
        self.whole = whole  # the operation this file belongs to (None: this is the operation)
        end: float | None = time.monotonic() + seconds if seconds is not None else None
        if whole is not None and whole.end is not None:
            end = whole.end if end is None else min(end, whole.end)
        self.end: float | None = end

    def within(self, seconds: float) -> Deadline:
        """A file's deadline ``seconds`` from now, never later than the operation's."""
        return Deadline(seconds, whole=self.whole or self)

    def remaining(self) -> float | None:
        """Seconds left (negative once passed), or None when unbounded."""
        return None if self.end is None else self.end - time.monotonic()

    @property
    def passed(self) -> bool:
        left = self.remaining()
        return left is not None and left <= 0

    def wait_limit(self, per_wait: float, what: str, where: str | None = None) -> float:
        """The timeout for the next single wait: ``per_wait``, cut to the time left.

        Raises:
            DeadlineError, MirrorUnreachableError: the time is up (see :meth:`check`).
        """
        self.check(what, where)
        left = self.remaining()
        return per_wait if left is None else min(per_wait, left)

    def check(self, what: str, where: str | None = None) -> None:
        """Raise if the time is up.

        Raises:
            DeadlineError: the whole operation's deadline passed.
            MirrorUnreachableError: only this file's budget ran out.
        """
        if self.passed:
            raise self.expired_error(what, where)

    def expired_error(self, what: str, where: str | None = None) -> TransportError:
        """The error for a wait that ran out: whose time was up, and what it waited for."""
        whole = self.whole
        if whole is None or whole.passed:
            seconds = (whole or self).seconds
            return DeadlineError(
                f"{what}: the whole operation's deadline ({seconds or 0:g} s) passed",
                where=where,
                hint="raise --deadline, or try again later",
            )
        return MirrorUnreachableError(
            f"{what}: no complete answer within {self.seconds or 0:g} s (the mirror is too slow)",
            where=where,
        )
