"""How a verifier gets bytes: the :class:`Fetcher` interface, and one source behind it.

A fetcher returns the first answer for a path that a caller's *check* accepts. One source
(:class:`SourceFetcher`: a directory, a bundle, one HTTP mirror) answers once, and a refused
answer is the verdict; the fail-over pool (:class:`~tamizdat.transport.failover.PoolFetcher`)
asks the next mirror instead. The check is the verifier's: transport never decides what
bytes are worth, it only decides whom to ask next.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from tamizdat.errors import MirrorResponseError, UntrustedContentError
from tamizdat.transport.sources import MissingFileError, SharingSource, Source

__all__ = ["Check", "Fetcher", "SourceFetcher"]

T = TypeVar("T")
Check = Callable[[bytes, str], T]
"""Verify ``(data, where)``: return the accepted value or raise UntrustedContentError."""


class Fetcher(Protocol):
    """Where a workflow gets bytes: one source, or a fail-over pool of mirrors."""

    name: str

    def fetch_checked(
        self, path: str, max_length: int, check: Check[T], *, probe: bool = False
    ) -> T:
        """The first answer for ``path`` that ``check`` accepts.

        ``probe`` marks a file that usually does not exist (the next root): its absence is
        not worth a note.

        Raises:
            MissingFileError: no source holds ``path``. UntrustedContentError: every answer
            was refused by ``check`` (the pool's most telling refusal). TransportError.
        """
        ...

    def gather(self, path: str, max_length: int, count: int) -> list[tuple[str, bytes]]:
        """Unchecked answers ``(source name, bytes)`` for ``path`` from up to ``count``
        sources (several timestamps, to pick the newest authentic one).

        Raises:
            TransportError: a single source failed (a pool notes failures and returns fewer).
        """
        ...

    def refused(self, source: str, path: str, error: UntrustedContentError) -> None:
        """``source``'s answer for ``path`` was refused: do not ask it again this run."""
        ...

    def prefer(self, source: str) -> None:
        """Ask ``source`` first from now on (it had the newest timestamp)."""
        ...

    def stored_once(self, by_hash: str, natural: str) -> bool:
        """Whether both paths are served from one stored file (check its bytes once)."""
        ...


def _missing(source: Source, exc: MirrorResponseError) -> bool:
    # Bundles report a missing member as a plain MirrorResponseError; only an HTTP mirror
    # can fail with a status that is not "not found".
    return isinstance(exc, MissingFileError) or not source.remote


class SourceFetcher:
    """One source as a :class:`Fetcher`: its answer is checked once, never re-asked."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.name = source.name

    def fetch_checked(
        self, path: str, max_length: int, check: Check[T], *, probe: bool = False
    ) -> T:
        try:
            data = self.source.fetch(path, max_length)
        except MissingFileError:
            raise
        except MirrorResponseError as exc:
            if _missing(self.source, exc):
                raise MissingFileError(exc.message, where=exc.where) from None
            raise
        return check(data, f"{self.name}: {path}")

    def gather(self, path: str, max_length: int, count: int) -> list[tuple[str, bytes]]:
        return [(self.name, self.fetch_checked(path, max_length, lambda d, _w: d))]

    def refused(self, source: str, path: str, error: UntrustedContentError) -> None:
        return None

    def prefer(self, source: str) -> None:
        return None

    def stored_once(self, by_hash: str, natural: str) -> bool:
        """Whether the source serves both paths from one stored file (check it once)."""
        if not isinstance(self.source, SharingSource):
            return False
        stored = self.source.stored_as(by_hash)
        return stored is not None and stored == self.source.stored_as(natural)
