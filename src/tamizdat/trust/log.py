"""The publication log: an append-only hash chain of immutable entry files under a tiny head.

Files (paths from :mod:`tamizdat.layout`; each is a signed target, so mirrors, bundles and
stores carry it like any other file — but verification below relies only on the hashes)::

    .well-known/tamizdat/log.json                 the head: the only file that changes
    .well-known/tamizdat/log/<index>.json         entry <index>, immutable once written
    .well-known/tamizdat/log/<index>.paths.json   its path lists, when too big to inline

The head is ``{"format": "tamizdat-log", "head": {"hash": H, "index": N, "path": P},
"spec_version": 2}`` (``N = -1``, ``H = ""``, ``P = ""`` for an empty log). An entry is::

    {"index": 0, 1, 2, …                         position in the chain
     "paths": LISTS or REF,                       what the release added, changed, removed
     "previous": "<hash of entry index-1>" or "" for entry 0,
     "snapshot_sha256": "<sha256 of the exact bytes of N.snapshot.json>",
     "time": "YYYY-MM-DDTHH:MM:SSZ",              when the release was signed
     "version": N}                                the release's snapshot version

with LISTS = ``{"added": [...], "changed": [...], "removed": [...]}`` (sorted, unique) when
its canonical JSON is at most :data:`INLINE_PATHS_MAX` bytes, else REF = ``{"counts":
[a, c, r], "length": L, "sha256": S}`` naming the bytes of ``<index>.paths.json`` (LISTS).
So an entry file stays small even for a first release of 100,000 paths, and checking that a
log extends another never needs the lists.

Every file is *canonical JSON*: keys sorted, no whitespace, UTF-8 (Python ``json.dumps(
sort_keys=True, separators=(",", ":"), ensure_ascii=False)``; JavaScript: sorted keys and
``JSON.stringify``), and an entry's hash is the SHA-256 of its file's exact bytes. Its by-hash
name (``layout.by_hash_path(log_entry_path(i), hash)``) therefore follows from the chain
alone: from the signed head, a verifier fetches entry N by hash, then N-1 by N's
``previous``, and so on, down to the entry it saw before; every byte is authenticated by the
head's signature through the chain. ``snapshot_sha256`` can name the snapshot of the same
release because snapshot metadata lists role *versions* only (see ``trust.sign``).

Invariants kept here: entry *i* has ``index == i``; its ``previous`` is the hash of entry
*i-1*; versions strictly increase; serialisation is deterministic. A verifier that saw head
``(index, hash)`` accepts a new chain only if it holds that entry or links to it
(:func:`tamizdat.trust.log_chain.check_extends`); anything else is a rewritten history
(``LogForkError``). This module is the log's model and format, shared by the publisher and
every verifier, and does no I/O. Walking the chain by hash is :mod:`tamizdat.trust.log_chain`;
the publisher's side — appending an entry and producing the files of a release — is
:mod:`tamizdat.trust.sign.log_writer`.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from tamizdat.errors import InternalError, LogForkError, OversizeError, TamperedError
from tamizdat.layout import LOG_DIR, LOG_JSON, log_entry_path

__all__ = [
    "INLINE_PATHS_MAX",
    "LOG_FORMAT",
    "LOG_SPEC_VERSION",
    "LogEntry",
    "LogHead",
    "LogLimits",
    "PathEvent",
    "PathLists",
    "PathsRef",
    "PublicationLog",
    "canonical_json",
    "entry_from_dict",
    "format_time",
    "is_log_path",
    "lists_from_dict",
    "parse_head",
    "parse_json",
    "path_history",
]

LOG_FORMAT = "tamizdat-log"
LOG_SPEC_VERSION = 2
INLINE_PATHS_MAX = 4096  # bytes of canonical LISTS kept inside the entry (~60 paths)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_ENTRY_KEYS = frozenset({"index", "version", "time", "snapshot_sha256", "previous", "paths"})
_LIST_KEYS = ("added", "changed", "removed")

# A fetch function: (layout path, maximum bytes) -> bytes. Raises what the source raises.


@dataclass(frozen=True, slots=True)
class LogLimits:
    """Caps on what a verifier downloads for the log (endless-data protection)."""

    head_max_bytes: int = 4096
    entry_max_bytes: int = 2 * INLINE_PATHS_MAX + 1024
    paths_max_bytes: int = 64 * 1024 * 1024
    max_entries: int = 1_000_000


def canonical_json(value: Any) -> bytes:
    """The canonical bytes of a log file (sorted keys, no whitespace, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def format_time(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_log_path(path: str) -> bool:
    """Whether ``path`` is one of the log's own target paths (head, entries, lists)."""
    return path == LOG_JSON or path.startswith(LOG_DIR + "/")


@dataclass(frozen=True, slots=True)
class PathLists:
    """The paths one release added, changed and removed (sorted, unique)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "added": list(self.added),
            "changed": list(self.changed),
            "removed": list(self.removed),
        }

    @property
    def data(self) -> bytes:
        return canonical_json(self.to_dict())


@dataclass(frozen=True, slots=True)
class PathsRef:
    """Where an entry's lists live when they are too big to inline: their own file."""

    sha256: str
    length: int
    counts: tuple[int, int, int]

    def to_dict(self) -> dict[str, Any]:
        return {"counts": list(self.counts), "length": self.length, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One release in the log. ``hash`` is the SHA-256 of its file's bytes (:attr:`data`).

    ``ref`` is set when the lists live in their own file; ``lists`` is None only when they
    were not fetched (a verifier checking continuity does not need them).
    """

    index: int
    version: int
    time: str
    snapshot_sha256: str
    previous: str
    lists: PathLists | None
    ref: PathsRef | None = None

    def to_dict(self) -> dict[str, Any]:
        paths: dict[str, Any]
        if self.ref is not None:
            paths = self.ref.to_dict()
        elif self.lists is not None:
            paths = self.lists.to_dict()
        else:
            raise InternalError(f"log entry {self.index} has neither lists nor a reference")
        return {
            "index": self.index,
            "version": self.version,
            "time": self.time,
            "snapshot_sha256": self.snapshot_sha256,
            "previous": self.previous,
            "paths": paths,
        }

    @property
    def data(self) -> bytes:
        return canonical_json(self.to_dict())

    @property
    def hash(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def path(self) -> str:
        return log_entry_path(self.index)

    @property
    def moment(self) -> datetime:
        """``time`` as an aware datetime."""
        return datetime.strptime(self.time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    def _loaded(self) -> PathLists:
        if self.lists is None:
            raise InternalError(f"the path lists of log entry {self.index} were not loaded")
        return self.lists

    @property
    def added(self) -> tuple[str, ...]:
        return self._loaded().added

    @property
    def changed(self) -> tuple[str, ...]:
        return self._loaded().changed

    @property
    def removed(self) -> tuple[str, ...]:
        return self._loaded().removed


@dataclass(frozen=True, slots=True)
class LogHead:
    """What ``log.json`` says: the index and hash of the last entry (``-1``, ``""``: empty)."""

    index: int
    hash: str


@dataclass(frozen=True, slots=True)
class PublicationLog:
    """A verified, contiguous run of entries ending at the head.

    Built by :func:`append_entry` or :func:`read_log` it starts at entry 0; a verifier's
    :func:`fetch_chain` may hold only the tail it needed (``entries[0].index > 0``).
    """

    entries: tuple[LogEntry, ...] = ()

    @property
    def head(self) -> tuple[int, str]:
        """``(index, hash)`` of the last entry; ``(-1, "")`` for an empty log."""
        if not self.entries:
            return (-1, "")
        last = self.entries[-1]
        return (last.index, last.hash)

    @property
    def complete(self) -> bool:
        """Whether the chain reaches back to entry 0."""
        return not self.entries or self.entries[0].index == 0

    def extends(self, index: int, entry_hash: str) -> bool:
        """True if this chain holds entry ``index`` with hash ``entry_hash``, or links to it.

        ``(-1, "")`` (the head of an empty log) is extended by every log.
        """
        if index == -1:
            return entry_hash == ""
        if not self.entries:
            return False
        first = self.entries[0].index
        if index == first - 1:
            return self.entries[0].previous == entry_hash
        if not first <= index <= self.entries[-1].index:
            return False
        return self.entries[index - first].hash == entry_hash


@dataclass(frozen=True, slots=True)
class PathEvent:
    """One release in which a path was added, changed or removed."""

    kind: Literal["added", "changed", "removed"]
    version: int
    time: str
    index: int
    entry_hash: str


def parse_head(data: bytes, where: str, *, limits: LogLimits | None = None) -> LogHead:
    """Parse ``log.json`` (at most ``limits.head_max_bytes``: a head is ~150 bytes, so
    anything bigger is refused before it is parsed).

    Raises:
        OversizeError: more bytes than the limit.
        TamperedError: not a tamizdat log head of this spec version.
    """
    cap = (limits or LogLimits()).head_max_bytes
    if len(data) > cap:
        raise OversizeError(
            f"expected a log head of at most {cap} bytes, found {len(data)}", where=where
        )
    document = parse_json(data, where, "a JSON publication log head")
    if not isinstance(document, dict) or document.get("format") != LOG_FORMAT:
        raise TamperedError(f"expected a document with format {LOG_FORMAT!r}", where=where)
    if document.get("spec_version") != LOG_SPEC_VERSION:
        raise TamperedError(
            f"expected log spec_version {LOG_SPEC_VERSION}, found {document.get('spec_version')!r}",
            where=where,
        )
    head = document.get("head")
    if not isinstance(head, dict) or set(head) != {"hash", "index", "path"}:
        raise TamperedError("expected 'head' with keys hash, index, path", where=where)
    index, entry_hash = head["index"], head["hash"]
    if type(index) is not int or index < -1:
        raise TamperedError(f"expected a head index of -1 or more, found {index!r}", where=where)
    empty = index == -1
    if not isinstance(entry_hash, str) or not (
        entry_hash == "" if empty else _HEX64.match(entry_hash)
    ):
        raise TamperedError(f"expected a head hash, found {entry_hash!r}", where=where)
    if head["path"] != ("" if empty else log_entry_path(index)):
        raise TamperedError(f"expected the head path of entry {index}", where=where)
    return LogHead(index, entry_hash)


def path_history(log: PublicationLog, path: str) -> list[PathEvent]:
    """Every release in which ``path`` was added, changed or removed, oldest first.

    Raises:
        InternalError: an entry's lists were not loaded (use ``with_lists``).
    """
    events: list[PathEvent] = []
    for entry in log.entries:
        kinds: tuple[tuple[Literal["added", "changed", "removed"], tuple[str, ...]], ...] = (
            ("added", entry.added),
            ("changed", entry.changed),
            ("removed", entry.removed),
        )
        events.extend(
            PathEvent(kind, entry.version, entry.time, entry.index, entry.hash)
            for kind, paths in kinds
            if _contains(paths, path)
        )
    return events


def _contains(sorted_paths: Sequence[str], path: str) -> bool:
    position = bisect.bisect_left(sorted_paths, path)
    return position < len(sorted_paths) and sorted_paths[position] == path


def parse_json(data: bytes, where: str, what: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise TamperedError(f"expected {what}, found: {exc}", where=where) from None


def _paths(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw[key]
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise TamperedError(f"expected '{key}' to be a list of paths", where=where)
    if value != sorted(set(value)):
        raise TamperedError(f"expected '{key}' sorted without duplicates", where=where)
    return tuple(value)


def lists_from_dict(raw: Any, where: str) -> PathLists:
    if not isinstance(raw, dict) or set(raw) != set(_LIST_KEYS):
        raise TamperedError(f"expected path lists with keys {list(_LIST_KEYS)}", where=where)
    return PathLists(*(_paths(raw, key, where) for key in _LIST_KEYS))


def _ref_from_dict(raw: dict[str, Any], where: str) -> PathsRef:
    counts, length, sha = raw["counts"], raw["length"], raw["sha256"]
    if not (
        isinstance(counts, list)
        and len(counts) == 3
        and all(type(c) is int and c >= 0 for c in counts)
        and type(length) is int
        and length > INLINE_PATHS_MAX
        and isinstance(sha, str)
        and _HEX64.match(sha)
    ):
        raise TamperedError("expected 'paths' to reference a lists file", where=where)
    return PathsRef(sha, length, (counts[0], counts[1], counts[2]))


def entry_from_dict(raw: Any, where: str) -> LogEntry:
    if not isinstance(raw, dict) or set(raw) != _ENTRY_KEYS:
        found = sorted(raw) if isinstance(raw, dict) else type(raw).__name__
        raise TamperedError(
            f"expected an entry with keys {sorted(_ENTRY_KEYS)}, found {found}", where=where
        )
    for key in ("index", "version"):
        if type(raw[key]) is not int or raw[key] < 0:
            raise TamperedError(f"expected '{key}' to be a non-negative integer", where=where)
    if not isinstance(raw["time"], str) or not _TIME.match(raw["time"]):
        raise TamperedError(
            f"expected 'time' as YYYY-MM-DDTHH:MM:SSZ, found {raw['time']!r}", where=where
        )
    if not isinstance(raw["snapshot_sha256"], str) or not _HEX64.match(raw["snapshot_sha256"]):
        raise TamperedError("expected 'snapshot_sha256' to be a sha256 hex digest", where=where)
    previous = raw["previous"]
    if not isinstance(previous, str) or (previous and not _HEX64.match(previous)):
        raise TamperedError("expected 'previous' to be a sha256 hex digest or ''", where=where)
    if (raw["index"] == 0) != (previous == ""):
        raise LogForkError(
            f"expected previous = '' exactly for entry 0, found {previous or '(empty)'} "
            f"at index {raw['index']}",
            where=where,
            hint="the log's hash chain is broken: history was rewritten",
        )
    paths = raw["paths"]
    if isinstance(paths, dict) and set(paths) == {"counts", "length", "sha256"}:
        lists, ref = None, _ref_from_dict(paths, where)
    else:
        lists, ref = lists_from_dict(paths, where), None
    return LogEntry(
        raw["index"], raw["version"], raw["time"], raw["snapshot_sha256"], previous, lists, ref
    )
