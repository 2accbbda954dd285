"""What each mirror holds: a small state file on the mirror and a local upload journal.

Invariants:
- ``publish-state.json`` on the mirror records the last K release versions and, for each
  by-hash object no longer referenced, the last release that referenced it and since when.
  An object is pruned only when none of the last K releases references it AND it has been
  unreferenced longer than the grace period, so a client reading an older release mid-publish
  still finds its objects.
- The local journal is append-only JSON lines flushed after every upload, so a publish
  killed with SIGKILL still knows, on the re-run, which files already went up.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

__all__ = ["Journal", "PublishState", "RetiredObject", "plan_prune"]

_FORMAT = 1


@dataclass(frozen=True, slots=True)
class RetiredObject:
    """A by-hash object the current release no longer references."""

    last_version: int
    since: str


@dataclass(frozen=True, slots=True)
class PublishState:
    """The per-mirror state file (``.well-known/tamizdat/publish-state.json``)."""

    releases: tuple[int, ...] = ()
    retired: dict[str, RetiredObject] = field(default_factory=dict)

    @classmethod
    def parse(cls, data: bytes | None) -> PublishState:
        """Read the mirror's state; a missing or unreadable one counts as empty (safe:
        nothing is pruned until it has been seen unreferenced for a full grace period)."""
        if not data:
            return cls()
        try:
            raw: dict[str, Any] = json.loads(data)
            releases = tuple(int(v) for v in raw.get("releases", []))
            retired = {
                str(path): RetiredObject(int(entry["last_version"]), str(entry["since"]))
                for path, entry in dict(raw.get("retired", {})).items()
            }
        except (ValueError, TypeError, KeyError, AttributeError):
            return cls()
        return cls(releases, retired)

    def to_bytes(self) -> bytes:
        """Deterministic JSON."""
        doc = {
            "format": _FORMAT,
            "releases": list(self.releases),
            "retired": {
                path: {"last_version": entry.last_version, "since": entry.since}
                for path, entry in sorted(self.retired.items())
            },
        }
        return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()


def _parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return datetime.now(UTC)  # unreadable: treat as "just now", never prune early
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def plan_prune(
    previous: PublishState,
    *,
    version: int,
    referenced: frozenset[str],
    on_mirror: Iterable[str],
    keep_releases: int,
    grace: timedelta,
    now: datetime,
) -> tuple[PublishState, tuple[str, ...]]:
    """The next state and the by-hash objects to delete once the new timestamp is up.

    ``on_mirror`` are the by-hash paths the mirror holds (before this push).
    """
    releases = tuple(sorted({*previous.releases, version}))[-max(keep_releases, 1) :]
    last_before = max((v for v in previous.releases if v < version), default=0)
    retired: dict[str, RetiredObject] = {}
    for path in on_mirror:
        if path in referenced:
            continue
        retired[path] = previous.retired.get(path) or RetiredObject(last_before, now.isoformat())
    prune = tuple(
        sorted(
            path
            for path, entry in retired.items()
            if entry.last_version < releases[0] and now - _parse_time(entry.since) >= grace
        )
    )
    for path in prune:
        del retired[path]
    return PublishState(releases, retired), prune


_SAFE = re.compile(r"[^A-Za-z0-9._-]")


class Journal:
    """Local record of ``path → (size, sha256)`` known to be on one mirror.

    Appended line by line during a push (survives SIGKILL), rewritten compactly at the end.
    """

    def __init__(self, directory: Path | None, mirror: str) -> None:
        self.file = directory / f"{_SAFE.sub('_', mirror)}.jsonl" if directory else None
        self.known: dict[str, tuple[int, str]] = {}
        # sha256 of the publish-state.json this machine last completed a push with: if the
        # mirror still holds exactly that file, the journal is the mirror's listing.
        self.marker: str | None = None
        self._handle: TextIO | None = None
        self._lock = threading.Lock()  # uploads of one mirror run on several threads
        if self.file and self.file.is_file():
            self._load(self.file)

    def _load(self, file: Path) -> None:
        for line in file.read_text("utf-8", errors="replace").splitlines():
            try:
                path, size, digest = json.loads(line)
            except (ValueError, TypeError):
                continue  # a line cut short by a kill: ignore it
            if path == "#marker":
                self.marker = str(digest) if digest else None
                continue
            self.marker = None  # any change after the marker means a push was interrupted
            if size is None:
                self.known.pop(str(path), None)
            else:
                self.known[str(path)] = (int(size), str(digest))

    def matches(self, path: str, size: int, sha256: str) -> bool:
        return self.known.get(path) == (size, sha256)

    def record(self, path: str, size: int | None, sha256: str = "") -> None:
        """Note an upload (or a deletion, ``size=None``) and flush it to disk at once."""
        with self._lock:
            self._record(path, size, sha256)

    def _record(self, path: str, size: int | None, sha256: str) -> None:
        if size is None:
            self.known.pop(path, None)
        else:
            self.known[path] = (size, sha256)
        if self.file is None:
            return
        if self._handle is None:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.file.open("a", encoding="utf-8")
        self._handle.write(json.dumps([path, size, sha256]) + "\n")
        self._handle.flush()

    def forget_missing(self, on_mirror: dict[str, int]) -> None:
        """Drop entries the mirror no longer has, or has with another size."""
        for path in list(self.known):
            if on_mirror.get(path) != self.known[path][0]:
                del self.known[path]

    def listing(self) -> dict[str, int]:
        """The journal as a mirror listing (path → size)."""
        return {path: size for path, (size, _digest) in self.known.items()}

    def compact(self, marker: str | None = None) -> None:
        """Rewrite the journal atomically as one line per known file, then ``marker``."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self.file is None:
            return
        self.file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".journal-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for path, (size, digest) in sorted(self.known.items()):
                handle.write(json.dumps([path, size, digest]) + "\n")
            if marker:
                handle.write(json.dumps(["#marker", 0, marker]) + "\n")
        self.marker = marker
        Path(tmp).replace(self.file)

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
