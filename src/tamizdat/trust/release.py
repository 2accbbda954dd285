"""Reading the previous release and writing the next one into ``release/``.

Write order (so a crash at any point leaves the previous release usable, DESIGN invariant 4):

1. by-hash objects of the new release (new names only; existing ones are immutable),
2. versioned metadata (``N.root.json``, ``N.<role>.json``, ``N.snapshot.json``): new names,
   invisible to clients until the timestamp points at them,
3. ``timestamp.json`` (and ``root.json``) last, each by atomic rename — the switch,
4. natural paths: each changed file is staged under a temporary name and renamed over the
   old one; removed files are deleted (browsers read these; verifying clients read 1–3),
5. pruning: by-hash objects of neither this release nor the previous one are deleted.

Natural paths and by-hash objects are hard links to ``public/`` when the file systems allow
(a copy otherwise). That relies on the builder replacing files (``os.replace``) rather than
rewriting them in place, which tamizdat's build does.

The previous release is read from its own metadata with plain ``json`` (it is our output on
the local disk, already trusted) to keep incremental signing fast.
"""

# String paths and os calls instead of pathlib here: this module touches 100,000+ files per
# release and pathlib's object churn was a measurable share of signing time.
# ruff: noqa: PTH103, PTH105, PTH108, PTH110, PTH120

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tamizdat.errors import UserError
from tamizdat.layout import LOG_JSON, METADATA_DIR, TARGETS_DIR, by_hash_path
from tamizdat.trust.keystore import atomic_write

__all__ = [
    "ReleaseState",
    "RoleState",
    "TreeWriter",
    "load_release_state",
    "prune_objects",
    "prune_superseded",
    "remove_natural",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RoleState:
    """A targets role as the previous release signed it (raw ``signed`` fields)."""

    version: int
    expires: str
    targets: dict[str, Any]
    delegations: dict[str, Any] | None
    keyids: frozenset[str]


@dataclass(frozen=True, slots=True)
class ReleaseState:
    """What the previous release holds: versions, every role's targets, the log bytes."""

    snapshot_version: int
    timestamp_version: int
    roles: dict[str, RoleState] = field(default_factory=dict)
    log: bytes = b""

    def all_targets(self) -> dict[str, tuple[int, str]]:
        """Every target path → (length, sha256) across all roles."""
        found: dict[str, tuple[int, str]] = {}
        for role in self.roles.values():
            for path, info in role.targets.items():
                found[path] = (info["length"], info["hashes"]["sha256"])
        return found


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise UserError(
            "the previous release is incomplete: a metadata file is missing",
            where=str(path),
            hint="restore release/ from a mirror or remove it to start a new history",
        ) from None
    except ValueError as exc:
        raise UserError(f"expected JSON metadata, found: {exc}", where=str(path)) from None
    if not isinstance(data, dict) or not isinstance(data.get("signed"), dict):
        raise UserError("expected TUF metadata with a 'signed' object", where=str(path))
    return data


def load_release_state(release_dir: Path) -> ReleaseState | None:
    """The previous release in ``release_dir``, or None if there is none yet.

    Raises:
        UserError: the release is damaged (a metadata file named by the snapshot is missing
            or not JSON).
    """
    meta = release_dir / METADATA_DIR
    if not (meta / "timestamp.json").exists():
        return None
    timestamp = _read_json(meta / "timestamp.json")["signed"]
    snapshot_version = int(timestamp["meta"]["snapshot.json"]["version"])
    snapshot = _read_json(meta / f"{snapshot_version}.snapshot.json")["signed"]
    roles = {}
    for filename, info in snapshot["meta"].items():
        name = filename.removesuffix(".json")
        document = _read_json(meta / f"{info['version']}.{filename}")
        signed = document["signed"]
        roles[name] = RoleState(
            version=int(signed["version"]),
            expires=str(signed["expires"]),
            targets=signed.get("targets", {}),
            delegations=signed.get("delegations"),
            keyids=frozenset(s["keyid"] for s in document.get("signatures", [])),
        )
    log_file = release_dir / LOG_JSON
    return ReleaseState(
        snapshot_version=snapshot_version,
        timestamp_version=int(timestamp["version"]),
        roles=roles,
        log=log_file.read_bytes() if log_file.exists() else b"",
    )


def _link_or_copy(source: Path | str, staged: str) -> None:
    try:
        os.link(source, staged)
    except OSError:
        shutil.copyfile(source, staged)


class TreeWriter:
    """Places files into a release by path strings, remembering which folders exist.

    (Creating folders dominates the cost of writing 100,000 files; each is made once.)
    """

    def __init__(self, release_dir: Path) -> None:
        self.root = str(release_dir)
        self.made: set[str] = set()

    def _folder(self, full: str) -> None:
        folder = os.path.dirname(full)
        if folder not in self.made:
            os.makedirs(folder, exist_ok=True)
            self.made.add(folder)

    def place_file(self, rel: str, source: Path | None, data: bytes | None) -> None:
        """Put one natural-path file in place by staged rename (link, copy or bytes)."""
        full = f"{self.root}/{rel}"
        self._folder(full)
        if data is not None:
            atomic_write(Path(full), data)
            return
        assert source is not None
        with contextlib.suppress(OSError):
            os.link(source, full)  # a new path: the link appears atomically
            return
        head, name = os.path.split(full)
        staged = f"{head}/.{name}.{os.getpid()}.stage"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(staged)
        _link_or_copy(source, staged)
        os.replace(staged, full)

    def place_object(self, rel: str, sha256: str, source: Path | None, data: bytes | None) -> bool:
        """Write the by-hash object of ``rel`` unless it exists; True if it was written."""
        full = f"{self.root}/{by_hash_path(rel, sha256)}"
        self._folder(full)
        if data is not None:
            if os.path.exists(full):
                return False
            atomic_write(Path(full), data)
            return True
        assert source is not None
        # Objects are immutable and named by their hash: an existing one is already right,
        # and a link appears atomically, so no staging is needed.
        try:
            os.link(source, full)
        except FileExistsError:
            return False
        except OSError:
            head, name = os.path.split(full)
            staged = f"{head}/.{name}.{os.getpid()}.stage"
            shutil.copyfile(source, staged)
            os.replace(staged, full)
        return True


def remove_natural(release_dir: Path, paths: Iterable[str]) -> None:
    """Delete natural-path files that the new release no longer has."""
    for rel in paths:
        (release_dir / rel).unlink(missing_ok=True)


def prune_superseded(release_dir: Path, pending_file: Path, keep: set[str]) -> int:
    """Delete the by-hash objects listed in ``pending_file`` (superseded one release ago)
    unless still in ``keep``; return how many. A missing list means nothing to prune."""
    try:
        pending = json.loads(pending_file.read_bytes())
    except (OSError, ValueError):
        return 0
    removed = 0
    for rel in pending if isinstance(pending, list) else []:
        if isinstance(rel, str) and rel.startswith(TARGETS_DIR + "/") and rel not in keep:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{release_dir}/{rel}")
                removed += 1
    return removed


def prune_objects(release_dir: Path, keep: Iterable[tuple[str, str]]) -> int:
    """Delete by-hash objects not in ``keep`` ((target path, sha256) pairs); return how many."""
    wanted = {by_hash_path(path, sha) for path, sha in keep}
    root = release_dir / TARGETS_DIR
    removed = 0
    if not root.is_dir():
        return 0
    skip = len(str(release_dir)) + 1
    for folder, _dirs, names in os.walk(root):
        for name in names:
            full = f"{folder}/{name}"
            if full[skip:] not in wanted:
                os.unlink(full)
                removed += 1
    return removed
