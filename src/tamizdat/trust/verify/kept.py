"""What an earlier run verified, read again: a reader's store, the conformance client's folder.

Invariant: nothing read through a :class:`TrustedCopy` is believed because of where it came
from. The workflow puts every kept file through the same checks as bytes from a mirror and
ignores (fetches again) any that fail; kept copies only save the network and serve as
rollback floors (the kept timestamp and snapshot, TUF §5.4 and §5.5.5).
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["NoCopy", "TrustedCopy"]


class TrustedCopy(Protocol):
    """Metadata and objects verified on an earlier run, read before the network.

    Nothing read from here is believed: every file goes through the same checks as bytes
    from a mirror, and a file that fails them is ignored (fetched again).
    """

    name: str

    def metadata(self, role: str, version: int | None) -> bytes | None:
        """The kept copy of ``version.role.json`` (or the latest ``role.json``), if any."""
        ...

    def latest(self, role: str) -> bytes | None:
        """The newest kept ``role`` metadata of any version (a rollback floor), if any."""
        ...

    def object(self, by_hash: str) -> bytes | None:
        """A kept by-hash object, if any."""
        ...

    def keep(self, role: str, version: int | None, data: bytes) -> None:
        """``data`` just verified as ``role`` metadata (the copy may persist it now)."""
        ...


class NoCopy:
    """No earlier run: everything comes from the fetcher."""

    name = "no kept copy"

    def metadata(self, role: str, version: int | None) -> bytes | None:
        return None

    def latest(self, role: str) -> bytes | None:
        return None

    def object(self, by_hash: str) -> bytes | None:
        return None

    def keep(self, role: str, version: int | None, data: bytes) -> None:
        return None
