"""``tamizdat history PATH``: every release in which a page was added, changed or removed.

Reads the publication log of the local release and, for each event, the file's SHA-256 as
that release's metadata signed it (metadata history is kept in the release, so this works
for every past version). Read-only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuf.api.metadata import DelegatedRole

from tamizdat.errors import UserError
from tamizdat.layout import LOG_JSON, METADATA_DIR
from tamizdat.trust.log import path_history
from tamizdat.trust.log_chain import read_log

__all__ = ["HistoryEvent", "read_history"]

_MAX_DELEGATION_DEPTH = 32


@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One release touching the path; ``sha256`` is empty for a removal."""

    kind: str
    version: int
    time: str
    sha256: str
    entry_hash: str


def _role_json(meta: Path, snapshot: dict[str, Any], name: str) -> dict[str, Any] | None:
    info = snapshot.get(f"{name}.json")
    if info is None:
        return None
    try:
        signed = json.loads((meta / f"{info['version']}.{name}.json").read_bytes())["signed"]
    except (OSError, ValueError, KeyError):
        return None
    return signed if isinstance(signed, dict) else None


def _signed_hash(meta: Path, version: int, path: str) -> str:
    """The SHA-256 that release ``version`` signed for ``path``, found by the TUF delegation
    search (§5.6.7.2) over that release's own metadata, so any past role layout works."""
    try:
        snapshot = json.loads((meta / f"{version}.snapshot.json").read_bytes())["signed"]["meta"]
    except (OSError, ValueError, KeyError):
        return ""
    role = _role_json(meta, snapshot, "targets")
    for _depth in range(_MAX_DELEGATION_DEPTH):
        if role is None:
            return ""
        target = role.get("targets", {}).get(path)
        if target:
            return str(target["hashes"]["sha256"])
        delegated = (role.get("delegations") or {}).get("roles", [])
        child = next(
            (d for d in delegated if DelegatedRole.from_dict(dict(d)).is_delegated_path(path)),
            None,
        )
        if child is None:
            return ""
        role = _role_json(meta, snapshot, str(child["name"]))
    return ""


def read_history(release_dir: Path, path: str) -> list[HistoryEvent]:
    """Events for ``path`` (natural path, no leading slash), oldest first.

    Raises:
        UserError: the release has no publication log yet.
        TamperedError, LogForkError: the local log is damaged.
    """
    log_file = release_dir / LOG_JSON
    try:
        log = read_log(lambda p: (release_dir / p).read_bytes(), str(release_dir))
    except FileNotFoundError:
        raise UserError(
            "no publication log yet", where=str(log_file), hint="run 'tamizdat sign'"
        ) from None
    clean = path.lstrip("/")
    if clean.endswith("/") or not clean:
        clean += "index.html"
    meta = release_dir / METADATA_DIR
    events = []
    for event in path_history(log, clean):
        sha = "" if event.kind == "removed" else _signed_hash(meta, event.version, clean)
        events.append(HistoryEvent(event.kind, event.version, event.time, sha, event.entry_hash))
    return events
