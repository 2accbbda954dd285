"""What this machine has seen of each publisher: the memory behind rollback protection.

Invariant: the file for a fingerprint only ever changes after a verification succeeded, is
written atomically (temp file in the same directory, then ``os.replace``), and an unreadable
file is an error, never silently reset (a reset would re-open the door to rollback).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tamizdat.errors import UserError
from tamizdat.trust.verify.rollback import SeenVersions

__all__ = ["ENV_STATE_DIR", "SeenStore", "default_state_dir", "seen_from_json", "seen_to_json"]

ENV_STATE_DIR = "TAMIZDAT_STATE_DIR"


def default_state_dir() -> Path:
    """``$TAMIZDAT_STATE_DIR`` or ``~/.local/state/tamizdat/seen``."""
    env = os.environ.get(ENV_STATE_DIR)
    if env:
        return Path(env).expanduser()
    return Path("~/.local/state/tamizdat/seen").expanduser()


def seen_to_json(seen: SeenVersions) -> dict[str, Any]:
    """``seen`` as a JSON object (every field, fast-forward key ids included)."""
    return {
        "root": seen.root,
        "timestamp": seen.timestamp,
        "snapshot": seen.snapshot,
        "roles": dict(sorted(seen.roles.items())),
        "timestamp_keys": sorted(seen.timestamp_keys),
        "snapshot_keys": sorted(seen.snapshot_keys),
        "log_head": list(seen.log_head) if seen.log_head else None,
        "role_keys": {role: list(keys) for role, keys in sorted(seen.role_keys.items())},
    }


def seen_from_json(data: dict[str, Any]) -> SeenVersions:
    """The inverse of :func:`seen_to_json`.

    Raises:
        KeyError, TypeError, ValueError, IndexError: not such an object.
    """
    head = data.get("log_head")
    return SeenVersions(
        root=int(data["root"]),
        timestamp=int(data["timestamp"]),
        snapshot=int(data["snapshot"]),
        roles={str(k): int(v) for k, v in dict(data["roles"]).items()},
        timestamp_keys=frozenset(str(k) for k in data.get("timestamp_keys", [])),
        snapshot_keys=frozenset(str(k) for k in data.get("snapshot_keys", [])),
        log_head=(int(head[0]), str(head[1])) if head else None,
        role_keys={
            str(role): tuple(sorted(str(k) for k in keys))
            for role, keys in dict(data.get("role_keys", {})).items()
        },
    )


class SeenStore:
    """One small JSON file per pinned fingerprint under ``directory``."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory).expanduser() if directory else default_state_dir()

    def path(self, fingerprint: str) -> Path:
        return self.directory / f"{fingerprint}.json"

    def load(self, fingerprint: str) -> SeenVersions:
        """The versions seen for ``fingerprint`` (all zero the first time).

        Raises:
            UserError: the state file exists but cannot be read or parsed.
        """
        file = self.path(fingerprint)
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            return SeenVersions()
        except OSError as exc:
            raise UserError(f"cannot read seen versions: {exc.strerror}", where=str(file)) from None
        try:
            return seen_from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise UserError(
                f"expected a seen-versions JSON document, found unreadable data ({exc})",
                where=str(file),
                hint="restore it from a backup; deleting it drops rollback protection",
            ) from None

    def save(self, fingerprint: str, seen: SeenVersions) -> None:
        """Write atomically (only call after a successful verification).

        Raises:
            UserError: the state directory is not writable.
        """
        file = self.path(fingerprint)
        text = json.dumps(seen_to_json(seen), indent=2, sort_keys=True) + "\n"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".seen-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                Path(tmp).replace(file)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise UserError(
                f"cannot write seen versions: {exc.strerror}",
                where=str(file),
                hint="use --state-dir or TAMIZDAT_STATE_DIR to pick a writable folder",
            ) from None
