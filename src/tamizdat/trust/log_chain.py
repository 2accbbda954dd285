"""Walking the publication log's hash chain: entries fetched by hash, from the head back.

Invariant: an entry is accepted only if its bytes hash to what its successor (or the head)
names, it sits at the index it claims, and versions decrease going back; the walk stops at
the entry the caller asks for (only what a reader has not seen yet), and every count and
size is capped by :class:`~tamizdat.trust.log.LogLimits`. The verifier walks the chain from
untrusted sources (``fetch``); the publisher reads its own release (:func:`read_log`). The
log's format and model are :mod:`tamizdat.trust.log`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from tamizdat.errors import LogForkError, OversizeError, TamperedError
from tamizdat.layout import LOG_DIR, LOG_JSON, by_hash_path, log_entry_path, log_paths_path
from tamizdat.trust.log import (
    LogEntry,
    LogHead,
    LogLimits,
    PublicationLog,
    entry_from_dict,
    lists_from_dict,
    parse_head,
    parse_json,
)

__all__ = ["Fetch", "check_chain_file", "check_extends", "fetch_chain", "read_log"]

Fetch = Callable[[str, int], bytes]
"""``fetch(by_hash_path, max_bytes)``: the bytes of one log file."""


def fetch_chain(
    head: LogHead,
    fetch: Fetch,
    *,
    first: int,
    where: str,
    with_lists: bool = False,
    limits: LogLimits | None = None,
    source: str = "",
) -> PublicationLog:
    """Entries ``first`` … ``head.index``, fetched by hash from the head backwards.

    ``fetch`` gets each file's by-hash path; every entry must hash to what its successor
    (or the head) names. With ``with_lists``, externalised path lists are fetched too.
    ``where`` names the head in errors, ``source`` prefixes the file paths named in errors.

    Raises:
        TamperedError: a file differs from the hash the chain names, or is malformed.
        LogForkError: an entry sits at the wrong index, versions do not increase, or entry
            0 names a predecessor. OversizeError: more than the limits allow.
    """
    limits = limits or LogLimits()
    if head.index < 0:
        return PublicationLog()
    first = max(0, min(first, head.index))
    if head.index - first + 1 > limits.max_entries:
        raise OversizeError(
            f"expected at most {limits.max_entries} log entries to check, found "
            f"{head.index - first + 1}",
            where=where,
        )
    entries: list[LogEntry] = []
    expected = head.hash
    for index in range(head.index, first - 1, -1):
        entry = _fetch_entry(fetch, index, expected, limits.entry_max_bytes, source)
        if entries and entry.version >= entries[-1].version:
            raise LogForkError(
                f"expected a version below {entries[-1].version}, found {entry.version}",
                where=f"{where}: {entry.path}",
            )
        if with_lists and entry.ref is not None:
            entry = _with_lists(entry, fetch, limits.paths_max_bytes, source)
        entries.append(entry)
        expected = entry.previous
    if first == 0 and expected != "":
        raise LogForkError(
            f"expected entry 0 to have no predecessor, found previous = {expected}",
            where=f"{where}: {log_entry_path(0)}",
            hint="the log's hash chain is broken: history was rewritten",
        )
    return PublicationLog(tuple(reversed(entries)))


def read_log(read: Callable[[str], bytes], where: str) -> PublicationLog:
    """The whole log, lists included, from a trusted place (the publisher's release).

    ``read`` maps a natural path (``log.json``, ``log/<i>.json``) to bytes and raises
    ``FileNotFoundError`` when absent. Every link is still checked.

    Raises:
        TamperedError, LogForkError: the files are damaged (as :func:`fetch_chain`).
    """
    head = parse_head(read(LOG_JSON), f"{where}: {LOG_JSON}")

    def by_natural(path: str, _cap: int) -> bytes:
        natural = f"{LOG_DIR}/{path.rsplit('/', 1)[-1].split('.', 1)[1]}"
        return read(natural)

    return fetch_chain(
        head,
        by_natural,
        first=0,
        where=where,
        with_lists=True,
        limits=LogLimits(entry_max_bytes=1 << 62, paths_max_bytes=1 << 62, max_entries=1 << 62),
    )


def check_extends(chain: PublicationLog, index: int, entry_hash: str, where: str) -> None:
    """Raise unless ``chain`` extends the head ``(index, entry_hash)`` seen before.

    Raises:
        LogForkError: the entry at ``index`` is missing (the log shrank) or differs.
    """
    if chain.extends(index, entry_hash):
        return
    if not chain.entries or index > chain.entries[-1].index:
        found = f"a log of {chain.head[0] + 1} entries"
    elif index == chain.entries[0].index - 1:
        found = f"entry {index + 1} naming previous = {chain.entries[0].previous}"
    elif index < chain.entries[0].index:
        found = f"a chain checked only from entry {chain.entries[0].index}"
    else:
        found = f"entry {index} with hash {chain.entries[index - chain.entries[0].index].hash}"
    raise LogForkError(
        f"expected the log to extend entry {index} with hash {entry_hash}, found {found}",
        where=where,
        hint="this copy rewrites the publisher's history; do not trust it",
    )


def check_chain_file(data: bytes, sha256: str, where: str) -> bytes:
    """``data`` is the log file the chain names by ``sha256``.

    Raises:
        TamperedError: other bytes (this copy altered the publication log).
    """
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise TamperedError(
            f"expected the bytes the log chain names (sha256 {sha256}), found sha256 {digest}",
            where=where,
            hint="this copy altered the publication log",
        )
    return data


def _named(source: str, path: str) -> str:
    return f"{source}: {path}" if source else path


def _fetch_entry(fetch: Fetch, index: int, entry_hash: str, cap: int, source: str) -> LogEntry:
    path = by_hash_path(log_entry_path(index), entry_hash)
    location = _named(source, path)
    data = check_chain_file(fetch(path, cap), entry_hash, location)
    entry = entry_from_dict(parse_json(data, location, "a JSON log entry"), location)
    if entry.index != index:
        raise LogForkError(f"expected index {index}, found {entry.index}", where=location)
    return entry


def _with_lists(entry: LogEntry, fetch: Fetch, cap: int, source: str) -> LogEntry:
    ref = entry.ref
    assert ref is not None
    path = by_hash_path(log_paths_path(entry.index), ref.sha256)
    location = _named(source, path)
    if ref.length > cap:
        raise OversizeError(
            f"expected path lists of at most {cap} bytes, found {ref.length}", where=location
        )
    data = check_chain_file(fetch(path, ref.length), ref.sha256, location)
    lists = lists_from_dict(parse_json(data, location, "JSON path lists"), location)
    found = (len(lists.added), len(lists.changed), len(lists.removed))
    if found != ref.counts or len(data) != ref.length:
        raise TamperedError(f"expected counts {ref.counts}, found {found}", where=location)
    return LogEntry(
        entry.index,
        entry.version,
        entry.time,
        entry.snapshot_sha256,
        entry.previous,
        lists,
        ref,
    )
