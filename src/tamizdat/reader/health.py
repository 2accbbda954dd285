"""What a reader remembers about each mirror between syncs, to ask the good ones first.

Invariant: this memory only orders the mirrors (which to ask first); it never drops one,
never decides what is authentic, and holds nothing a mirror could use to steer the reader
beyond its own place in the queue (a mirror earns first place only by answering authentic
bytes quickly). A missing or unreadable file is no memory: mirrors are then asked in the
subscription's order. The file is replaced atomically after each sync.

::

    <store>/mirrors-seen.json   {"URL": {"ok": ISO, "seconds": 0.04, "failed": ISO,
                                         "problem": "did not answer within 2 s"}}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from tamizdat.files import write_atomic
from tamizdat.transport.failover import MirrorNote

__all__ = [
    "MEMORY_FILE",
    "MirrorMemory",
    "failed_recently",
    "load_memory",
    "order_mirrors",
    "remember_sync",
]

logger = logging.getLogger(__name__)

MEMORY_FILE = "mirrors-seen.json"
# After this long, a mirror that failed gets its configured place back (censors unblock too).
FORGIVE_AFTER = timedelta(hours=6)
# Notes that mean "do not ask this mirror first next time"; a missing file is no failure.
_FAILURES = frozenset({"unreachable", "tampered", "lagging"})


@dataclass(frozen=True, slots=True)
class MirrorMemory:
    """One mirror: when it last delivered (and its quickest answer then), when and why it
    last failed."""

    ok: str | None = None
    seconds: float | None = None
    failed: str | None = None
    problem: str | None = None


def _when(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if value else None
    except ValueError:
        return None


def load_memory(store_root: Path) -> dict[str, MirrorMemory]:
    """The memory kept in ``store_root`` (empty when there is none or it is unreadable)."""
    try:
        document = json.loads((store_root / MEMORY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    memory: dict[str, MirrorMemory] = {}
    if not isinstance(document, dict):
        return memory
    for url, entry in document.items():
        if not isinstance(entry, dict):
            continue
        seconds = entry.get("seconds")
        problem = entry.get("problem")
        memory[str(url)] = MirrorMemory(
            ok=entry["ok"] if isinstance(entry.get("ok"), str) else None,
            seconds=float(seconds) if isinstance(seconds, int | float) else None,
            failed=entry["failed"] if isinstance(entry.get("failed"), str) else None,
            problem=problem if isinstance(problem, str) else None,
        )
    return memory


def _rank(entry: MirrorMemory | None, now: datetime) -> tuple[int, float]:
    """0: delivered last time (quickest first); 1: not known; 2: failed recently."""
    if entry is None:
        return 1, 0.0
    ok, failed = _when(entry.ok), _when(entry.failed)
    if failed is not None and (ok is None or failed > ok) and now - failed < FORGIVE_AFTER:
        return 2, 0.0
    if ok is not None:
        return 0, entry.seconds if entry.seconds is not None else 0.0
    return 1, 0.0


def order_mirrors(
    urls: Sequence[str], memory: Mapping[str, MirrorMemory], now: datetime
) -> list[str]:
    """``urls`` with the mirrors that delivered last time first (the quickest first), those
    never seen next, and those that failed recently last; ties keep the given order."""
    return sorted(urls, key=lambda url: _rank(memory.get(url), now))


def failed_recently(url: str, memory: Mapping[str, MirrorMemory], now: datetime) -> bool:
    """Whether ``url`` failed at its last try, less than ``FORGIVE_AFTER`` ago."""
    return _rank(memory.get(url), now)[0] == 2


def remember_sync(
    store_root: Path,
    memory: Mapping[str, MirrorMemory],
    latency: Mapping[str, float],
    notes: Iterable[MirrorNote],
    now: datetime,
) -> dict[str, MirrorMemory]:
    """Record one sync: mirrors that delivered (``latency``: their quickest answer) and
    mirrors that failed (``notes``); write the memory and return it. A write failure is
    logged, never raised: the memory is an optimisation, the sync already succeeded or
    failed on its own."""
    updated = dict(memory)
    stamp = now.isoformat()
    for note in notes:
        if note.kind in _FAILURES:
            entry = updated.get(note.mirror, MirrorMemory())
            updated[note.mirror] = replace(entry, failed=stamp, problem=note.problem)
    for url, seconds in latency.items():
        entry = updated.get(url, MirrorMemory())
        if entry.failed == stamp:
            continue  # delivered something, then failed: the failure is the news
        updated[url] = replace(entry, ok=stamp, seconds=round(seconds, 3))
    document = {url: asdict(entry) for url, entry in sorted(updated.items())}
    try:
        write_atomic(store_root / MEMORY_FILE, json.dumps(document, indent=1).encode())
    except OSError as exc:
        logger.warning("cannot remember how the mirrors answered: %s", exc)
    return updated
