"""The publisher's side of the publication log: append an entry, write a release's log files.

Invariant: what is written here parses back, entry for entry, through the model in
:mod:`tamizdat.trust.log` (the format is described there): entry *i* has index *i* and names
the hash of entry *i-1*, versions strictly increase, path lists are sorted and unique, and
every file is canonical JSON, so the same log always gives the same bytes. No I/O: the
signer writes the files this module returns.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime

from tamizdat.errors import InternalError, LogForkError, TamperedError
from tamizdat.layout import LOG_JSON, log_entry_path, log_paths_path
from tamizdat.trust.log import (
    INLINE_PATHS_MAX,
    LOG_FORMAT,
    LOG_SPEC_VERSION,
    LogEntry,
    PathLists,
    PathsRef,
    PublicationLog,
    canonical_json,
    format_time,
)

__all__ = ["append_entry", "head_document", "log_files"]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _sorted_unique(paths: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set(paths)))


def append_entry(
    log: PublicationLog,
    *,
    version: int,
    time: datetime | str,
    snapshot_sha256: str,
    added: Iterable[str] = (),
    changed: Iterable[str] = (),
    removed: Iterable[str] = (),
) -> PublicationLog:
    """A new log with one more entry chained to the current head.

    Raises:
        LogForkError: ``version`` is not greater than the last entry's version.
        TamperedError: ``snapshot_sha256`` is not 64 lowercase hex digits.
    """
    if log.entries and version <= log.entries[-1].version:
        raise LogForkError(
            f"expected a release version above {log.entries[-1].version}, found {version}",
            where="publication log",
        )
    if not _HEX64.match(snapshot_sha256):
        raise TamperedError(
            f"expected a sha256 hex digest, found {snapshot_sha256!r}", where="publication log"
        )
    lists = PathLists(_sorted_unique(added), _sorted_unique(changed), _sorted_unique(removed))
    data = lists.data
    ref = None
    if len(data) > INLINE_PATHS_MAX:
        counts = (len(lists.added), len(lists.changed), len(lists.removed))
        ref = PathsRef(hashlib.sha256(data).hexdigest(), len(data), counts)
    index, previous = log.head
    entry = LogEntry(
        index=index + 1,
        version=version,
        time=time if isinstance(time, str) else format_time(time),
        snapshot_sha256=snapshot_sha256,
        previous=previous,
        lists=lists,
        ref=ref,
    )
    return PublicationLog((*log.entries, entry))


def head_document(log: PublicationLog) -> bytes:
    """The bytes of ``log.json`` for this log."""
    index, entry_hash = log.head
    path = log_entry_path(index) if index >= 0 else ""
    return canonical_json(
        {
            "format": LOG_FORMAT,
            "head": {"hash": entry_hash, "index": index, "path": path},
            "spec_version": LOG_SPEC_VERSION,
        }
    )


def log_files(log: PublicationLog, *, after: int = -1) -> dict[str, bytes]:
    """The head and every entry (and lists file) with index above ``after``, by path.

    Raises:
        InternalError: an externalised entry's lists were not loaded.
    """
    files = {LOG_JSON: head_document(log)}
    for entry in log.entries:
        if entry.index <= after:
            continue
        files[entry.path] = entry.data
        if entry.ref is not None:
            if entry.lists is None:
                raise InternalError(f"the path lists of log entry {entry.index} were not loaded")
            files[log_paths_path(entry.index)] = entry.lists.data
    return files
