"""``tamizdat history PATH``: every release in which a page was added, changed or removed.

Reads the publication log of the local release and, for each event, the file's SHA-256 as
that release's metadata signed it (metadata history is kept in the release, so this works
for every past version). Read-only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tamizdat.errors import UserError
from tamizdat.layout import LOG_JSON, METADATA_DIR
from tamizdat.trust.log import parse_log, path_history
from tamizdat.trust.roles import assign_role

__all__ = ["HistoryEvent", "read_history"]


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One release touching the path; ``sha256`` is empty for a removal."""

    kind: str
    version: int
    time: str
    sha256: str
    entry_hash: str


def _signed_hash(meta: Path, version: int, path: str, desks: frozenset[str]) -> str:
    try:
        snapshot = json.loads((meta / f"{version}.snapshot.json").read_bytes())["signed"]["meta"]
    except (OSError, ValueError, KeyError):
        return ""
    top, leaf, _group = assign_role(path, desks)
    names = [leaf] if top != "site" else [n[:-5] for n in snapshot if n.startswith("site-")]
    for name in names:
        info = snapshot.get(f"{name}.json")
        if info is None:
            continue
        try:
            role = json.loads((meta / f"{info['version']}.{name}.json").read_bytes())
        except (OSError, ValueError):
            continue
        target = role["signed"].get("targets", {}).get(path)
        if target:
            return str(target["hashes"]["sha256"])
    return ""


def read_history(release_dir: Path, path: str, desks: tuple[str, ...]) -> list[HistoryEvent]:
    """Events for ``path`` (natural path, no leading slash), oldest first.

    Raises:
        UserError: the release has no publication log yet.
        TamperedError, LogForkError: the local log is damaged.
    """
    log_file = release_dir / LOG_JSON
    try:
        data = log_file.read_bytes()
    except FileNotFoundError:
        raise UserError(
            "no publication log yet", where=str(log_file), hint="run 'tamizdat sign'"
        ) from None
    clean = path.lstrip("/")
    if clean.endswith("/") or not clean:
        clean += "index.html"
    meta = release_dir / METADATA_DIR
    events = []
    for event in path_history(parse_log(data, str(log_file)), clean):
        sha = (
            ""
            if event.kind == "removed"
            else _signed_hash(meta, event.version, clean, frozenset(desks))
        )
        events.append(HistoryEvent(event.kind, event.version, event.time, sha, event.entry_hash))
    return events
