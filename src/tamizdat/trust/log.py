"""The publication log: an append-only hash chain of every release, itself a signed target.

The log lives at ``layout.LOG_JSON`` (``.well-known/tamizdat/log.json``) and is listed in the
``site-meta`` targets role like any other file, so its bytes are covered by the release's TUF
signatures. The document is::

    {"entries": [ENTRY, ...], "format": "tamizdat-log", "spec_version": 1}

and each entry is::

    {"added": [...], "changed": [...], "removed": [...],   sorted target paths
     "index": 0, 1, 2, …                                   position in the chain
     "previous": "<sha256 of the previous entry>" or "" for the first entry,
     "snapshot_sha256": "<sha256 of the exact bytes of N.snapshot.json>",
     "time": "YYYY-MM-DDTHH:MM:SSZ",                        when the release was signed
     "version": N}                                          the release's snapshot version

The hash of an entry is the SHA-256 of its *canonical JSON*: keys sorted, no whitespace
(``","`` and ``":"`` separators), strings as UTF-8 with JSON escapes only where JSON requires
them (Python ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)``; a
JavaScript port sorts the keys and uses ``JSON.stringify``). ``snapshot_sha256`` can name the
snapshot of the same release because snapshot metadata lists role *versions* only (no role
hashes), so the snapshot is signed before the log is written (see ``trust.sign``).

Invariants kept here: entry *i* has ``index == i``; its ``previous`` is the hash of entry
*i-1*; versions strictly increase; the serialisation is deterministic (one entry per line).
A verifier that saw a log with head ``(index, hash)`` accepts a new log only if
``new.extends(index, hash)``; anything else is a rewritten history (``LogForkError``).
This module does no I/O.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from tamizdat.errors import LogForkError, TamperedError

__all__ = [
    "LOG_FORMAT",
    "LogEntry",
    "PathEvent",
    "PublicationLog",
    "append_entry",
    "canonical_json",
    "check_extends",
    "format_time",
    "parse_log",
    "path_history",
    "serialize_log",
]

LOG_FORMAT = "tamizdat-log"
_SPEC_VERSION = 1
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_ENTRY_KEYS = frozenset(
    {"index", "version", "time", "snapshot_sha256", "previous", "added", "changed", "removed"}
)


def canonical_json(value: Any) -> bytes:
    """The canonical bytes hashed for an entry (sorted keys, no whitespace, UTF-8)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def format_time(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One release in the log. ``hash`` is the SHA-256 of :meth:`to_dict`'s canonical JSON."""

    index: int
    version: int
    time: str
    snapshot_sha256: str
    previous: str
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "version": self.version,
            "time": self.time,
            "snapshot_sha256": self.snapshot_sha256,
            "previous": self.previous,
            "added": list(self.added),
            "changed": list(self.changed),
            "removed": list(self.removed),
        }

    @property
    def hash(self) -> str:
        return hashlib.sha256(canonical_json(self.to_dict())).hexdigest()

    @property
    def moment(self) -> datetime:
        """``time`` as an aware datetime."""
        return datetime.strptime(self.time, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class PublicationLog:
    """A verified chain of entries (build it with :func:`parse_log` or :func:`append_entry`)."""

    entries: tuple[LogEntry, ...] = ()

    @property
    def head(self) -> tuple[int, str]:
        """``(index, hash)`` of the last entry; ``(-1, "")`` for an empty log."""
        if not self.entries:
            return (-1, "")
        last = self.entries[-1]
        return (last.index, last.hash)

    def extends(self, index: int, entry_hash: str) -> bool:
        """True if this log holds an entry at ``index`` whose hash is ``entry_hash``.

        ``(-1, "")`` (the head of an empty log) is extended by every log.
        """
        if index == -1:
            return entry_hash == ""
        if not 0 <= index < len(self.entries):
            return False
        return self.entries[index].hash == entry_hash


@dataclass(frozen=True, slots=True)
class PathEvent:
    """One release in which a path was added, changed or removed."""

    kind: Literal["added", "changed", "removed"]
    version: int
    time: str
    index: int
    entry_hash: str


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
    index, previous = log.head
    entry = LogEntry(
        index=index + 1,
        version=version,
        time=time if isinstance(time, str) else format_time(time),
        snapshot_sha256=snapshot_sha256,
        previous=previous,
        added=tuple(sorted(set(added))),
        changed=tuple(sorted(set(changed))),
        removed=tuple(sorted(set(removed))),
    )
    return PublicationLog((*log.entries, entry))


def serialize_log(log: PublicationLog) -> bytes:
    """Deterministic bytes of the log: one canonical entry per line, so diffs stay readable."""
    lines = [canonical_json(entry.to_dict()).decode() for entry in log.entries]
    body = ",\n".join(lines)
    entries = f"[\n{body}\n]" if lines else "[]"
    text = f'{{"entries":{entries},"format":"{LOG_FORMAT}","spec_version":{_SPEC_VERSION}}}\n'
    return text.encode()


def parse_log(data: bytes, where: str) -> PublicationLog:
    """Parse and check a log document; ``where`` names its source in errors.

    Raises:
        TamperedError: not JSON, not a tamizdat log, or an entry is malformed.
        LogForkError: the chain is broken (an index out of place, a ``previous`` that is not
            the hash of the entry before, or versions that do not increase).
    """
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise TamperedError(f"expected a JSON publication log, found: {exc}", where=where) from None
    if not isinstance(document, dict) or document.get("format") != LOG_FORMAT:
        raise TamperedError(f"expected a document with format {LOG_FORMAT!r}", where=where)
    if document.get("spec_version") != _SPEC_VERSION:
        raise TamperedError(
            f"expected log spec_version {_SPEC_VERSION}, found {document.get('spec_version')!r}",
            where=where,
        )
    raw_entries = document.get("entries")
    if not isinstance(raw_entries, list):
        raise TamperedError("expected 'entries' to be a list", where=where)
    entries: list[LogEntry] = []
    for position, raw in enumerate(raw_entries):
        entry = _entry_from_dict(raw, f"{where}: entry {position}")
        _check_link(entries, entry, position, f"{where}: entry {position}")
        entries.append(entry)
    return PublicationLog(tuple(entries))


def check_extends(new: PublicationLog, index: int, entry_hash: str, where: str) -> None:
    """Raise unless ``new`` extends the head ``(index, entry_hash)`` seen before.

    Raises:
        LogForkError: the entry at ``index`` is missing (the log shrank) or differs.
    """
    if new.extends(index, entry_hash):
        return
    if index >= len(new.entries):
        found = f"a log of {len(new.entries)} entries"
    else:
        found = f"entry {index} with hash {new.entries[index].hash}"
    raise LogForkError(
        f"expected the log to extend entry {index} with hash {entry_hash}, found {found}",
        where=where,
        hint="this copy rewrites the publisher's history; do not trust it",
    )


def path_history(log: PublicationLog, path: str) -> list[PathEvent]:
    """Every release in which ``path`` was added, changed or removed, oldest first."""
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


def _check_link(previous: list[LogEntry], entry: LogEntry, position: int, where: str) -> None:
    if entry.index != position:
        raise LogForkError(f"expected index {position}, found {entry.index}", where=where)
    expected = previous[-1].hash if previous else ""
    if entry.previous != expected:
        raise LogForkError(
            f"expected previous = {expected or '(empty)'}, found {entry.previous or '(empty)'}",
            where=where,
            hint="the log's hash chain is broken: history was rewritten",
        )
    if previous and entry.version <= previous[-1].version:
        raise LogForkError(
            f"expected a version above {previous[-1].version}, found {entry.version}",
            where=where,
        )


def _paths(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw[key]
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise TamperedError(f"expected '{key}' to be a list of paths", where=where)
    if value != sorted(set(value)):
        raise TamperedError(f"expected '{key}' sorted without duplicates", where=where)
    return tuple(value)


def _entry_from_dict(raw: Any, where: str) -> LogEntry:
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
    return LogEntry(
        index=raw["index"],
        version=raw["version"],
        time=raw["time"],
        snapshot_sha256=raw["snapshot_sha256"],
        previous=previous,
        added=_paths(raw, "added", where),
        changed=_paths(raw, "changed", where),
        removed=_paths(raw, "removed", where),
    )
