"""The mirror-check history: one JSON line per mirror per check, appended.

Invariant: the history only grows (append, flush); a line cut short by a crash is skipped
when read. From it we report, per mirror, since when it has been failing — for a mirror that
was fine and then stopped answering, that is the moment it was blocked (time-to-block).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "FAILING_STATES",
    "HistoryEntry",
    "MirrorTimeline",
    "append_history",
    "read_latest_entries",
    "read_timelines",
]

FAILING_STATES = frozenset({"unreachable", "tampered", "not-this-publisher"})


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One mirror's result in one check."""

    time: datetime
    mirror: str
    state: str
    version: int
    latency_ms: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "mirror": self.mirror,
            "state": self.state,
            "version": self.version,
            "latency_ms": self.latency_ms,
        }


@dataclass(frozen=True, slots=True)
class MirrorTimeline:
    """What the history says about one mirror."""

    first_seen: datetime
    last_ok: datetime | None
    failing_since: datetime | None  # start of the current run of failures


def append_history(file: Path, entries: Iterable[HistoryEntry]) -> None:
    """Append ``entries`` (one line each) and flush."""
    file.parent.mkdir(parents=True, exist_ok=True)
    with file.open("a", encoding="utf-8") as handle:
        for entry in entries:
            handle.write(json.dumps(entry.to_json(), sort_keys=True) + "\n")
        handle.flush()


def _parse(line: str) -> HistoryEntry | None:
    try:
        raw = json.loads(line)
        moment = datetime.fromisoformat(raw["time"])
        return HistoryEntry(
            time=moment if moment.tzinfo else moment.replace(tzinfo=UTC),
            mirror=str(raw["mirror"]),
            state=str(raw["state"]),
            version=int(raw.get("version") or 0),
            latency_ms=raw.get("latency_ms"),
        )
    except (ValueError, KeyError, TypeError):
        return None


def _read_entries(file: Path) -> list[HistoryEntry]:
    if not file.is_file():
        return []
    entries = [e for e in map(_parse, file.read_text("utf-8", errors="replace").splitlines()) if e]
    entries.sort(key=lambda e: e.time)
    return entries


def read_latest_entries(file: Path) -> dict[str, HistoryEntry]:
    """Per mirror, its result in the latest check that included it (what works now)."""
    return {entry.mirror: entry for entry in _read_entries(file)}


def read_timelines(file: Path) -> dict[str, MirrorTimeline]:
    """Per mirror: first seen, last OK, and the start of its current failing streak."""
    entries = _read_entries(file)
    timelines: dict[str, MirrorTimeline] = {}
    for entry in entries:
        old = timelines.get(entry.mirror)
        first = old.first_seen if old else entry.time
        last_ok = old.last_ok if old else None
        failing = old.failing_since if old else None
        if entry.state in FAILING_STATES:
            failing = failing or entry.time
        else:
            last_ok, failing = entry.time, None
        timelines[entry.mirror] = MirrorTimeline(first, last_ok, failing)
    return timelines
