"""When was this release published? The time of its own, verified publication-log entry.

Invariant: the time reported for a release is the ``time`` of the log entry whose version is
this snapshot's *and* whose ``snapshot_sha256`` names this snapshot's bytes; the log head is a
signed target and every entry is fetched by the hash the chain names, so the time can be
neither forged nor borrowed from another release. No such entry: the time is unknown.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from tamizdat.errors import LogForkError, MixAndMatchError
from tamizdat.trust.log import LogEntry, PublicationLog
from tamizdat.trust.verify.checks import sha256_hex

if TYPE_CHECKING:
    from tamizdat.trust.verify.workflow import LoadedRelease

__all__ = ["check_head_entry", "release_entry"]

logger = logging.getLogger(__name__)


def check_head_entry(entry: LogEntry, loaded: LoadedRelease, where: str) -> None:
    """Versions increase along the chain, so checking the head entry covers every entry."""
    snapshot = loaded.policy.snapshot
    if entry.version > snapshot.version:
        raise MixAndMatchError(
            f"expected a log ending at release {snapshot.version} or before, found "
            f"release {entry.version}",
            where=where,
        )
    digest = sha256_hex(loaded.snapshot_bytes)
    if entry.version == snapshot.version and entry.snapshot_sha256 != digest:
        raise LogForkError(
            f"expected log entry {entry.index} to name snapshot sha256 {digest}, found "
            f"{entry.snapshot_sha256}",
            where=where,
        )


def release_entry(log: PublicationLog | None, loaded: LoadedRelease) -> LogEntry | None:
    """The log entry of exactly this release (checked by :meth:`ClientWorkflow.check_log`).

    Its ``moment`` is the release's signing time: the entry is bound to the snapshot the
    timestamp signed. None when the log has no entry for this snapshot version: the time
    is then unknown, never borrowed from an older entry.
    """
    if log is None:
        return None
    version = loaded.policy.snapshot.version
    digest = sha256_hex(loaded.snapshot_bytes)
    for entry in reversed(log.entries):
        if entry.version == version and entry.snapshot_sha256 == digest:
            return entry
    logger.info("the publication log has no entry for release %d", version)
    return None
