"""Step 10 of the workflow: the publication log, and the release time it proves.

The log check (:func:`check_log`): the signed head must extend the head this machine saw
(shorter → rollback, rewritten → fork), entries are fetched by the hash the chain names (a kept
copy first, then the fetcher, so a pool skips a lying mirror), and the head entry must name this
very snapshot. Invariant: the time reported for a release is the ``time`` of the log entry whose version is
this snapshot's *and* whose ``snapshot_sha256`` names this snapshot's bytes; the log head is a
signed target and every entry is fetched by the hash the chain names, so the time can be
neither forged nor borrowed from another release. No such entry: the time is unknown.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING

from tamizdat.errors import LogForkError, MixAndMatchError, RollbackError, TamperedError
from tamizdat.layout import LOG_JSON, by_hash_path
from tamizdat.transport.sources import MissingFileError
from tamizdat.trust.log import LogEntry, LogLimits, PublicationLog, parse_head
from tamizdat.trust.log_chain import check_chain_file, check_extends, fetch_chain
from tamizdat.trust.verify.checks import sha256_hex

if TYPE_CHECKING:
    from tamizdat.trust.verify.workflow import ClientWorkflow, LoadedRelease

__all__ = ["check_head_entry", "check_log", "release_entry"]

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


def check_log(
    workflow: ClientWorkflow,
    head_bytes: bytes,
    *,
    history: bool = False,
    limits: LogLimits | None = None,
) -> PublicationLog:
    """The log extends the head seen before and its head entry names this snapshot.

    ``head_bytes`` is the verified ``log.json``. Only entries after the seen head are fetched
    (at least the head entry); ``history`` walks the whole log with its path lists.

    Raises:
        RollbackError: shorter than the log seen before. LogForkError: history rewritten,
        or this release's entry names other snapshot bytes. MixAndMatchError: an entry newer
        than this snapshot. TamperedError: not a log, or an entry missing or altered.
        OversizeError; TransportError.
    """
    release = workflow.release()
    head_path = by_hash_path(LOG_JSON, sha256_hex(head_bytes))
    where = workflow.origins.get(head_path, f"{workflow.fetcher.name}: {LOG_JSON}")
    head = parse_head(head_bytes, where, limits=limits)
    workflow.fetched[head_path] = head_bytes
    floor = workflow.seen.log_head
    if floor is not None and head.index < floor[0]:
        raise RollbackError(
            f"expected a publication log of at least {floor[0] + 1} entries (seen on this "
            f"machine), found {head.index + 1}",
            where=where,
        )
    first = 0 if history or floor is None else floor[0] + 1
    if floor is None and not history:
        first = head.index
    chain = fetch_chain(
        head,
        partial(_log_file, workflow),
        first=first,
        where=where,
        with_lists=history,
        limits=limits,
        source=workflow.fetcher.name,
    )
    if floor is not None:
        check_extends(chain, floor[0], floor[1], where)
    if chain.entries:
        check_head_entry(chain.entries[-1], release, where)
    return chain


def _log_file(workflow: ClientWorkflow, by_hash: str, cap: int) -> bytes:
    """A by-hash file of the log: the kept copy's if it hashes to its name, else the
    fetcher's first answer that does (a pool asks the next mirror after a lying one)."""
    expected = by_hash.rsplit("/", 1)[-1].split(".", 1)[0]
    kept = workflow.copy.object(by_hash)
    if kept is not None and len(kept) <= cap and sha256_hex(kept) == expected:
        return kept

    def check(data: bytes, where: str) -> bytes:
        check_chain_file(data, expected, where)
        return data

    try:
        data = workflow.fetcher.fetch_checked(by_hash, cap, check)
    except MissingFileError:
        raise TamperedError(
            "expected this publication-log file, found none",
            where=f"{workflow.fetcher.name}: {by_hash}",
        ) from None
    workflow.fetched[by_hash] = data
    return data
