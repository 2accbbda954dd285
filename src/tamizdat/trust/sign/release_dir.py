"""Reading the previous release and writing the next one into ``release/``.

Write order (so a crash at any point leaves the previous release usable, DESIGN invariant 4):

1. by-hash objects of the new release (new names only; existing ones are immutable),
2. versioned metadata (``N.root.json``, ``N.<role>.json``, ``N.snapshot.json``): new names,
   invisible to clients until the timestamp points at them,
3. ``timestamp.json`` (and ``root.json``) last, each by atomic rename — the switch,
4. natural paths: each changed file is staged under a temporary name and renamed over the
   old one; removed files are deleted (browsers read these; verifying clients read 1–3),
5. pruning: by-hash objects of neither this release nor the previous one are deleted.

A first release (no release yet) is assembled in a fresh folder beside ``release/`` and
renamed into place when complete: nothing serves it before, so the order above does not
apply, and a failure leaves no ``release/`` at all.

By-hash objects are *copies* of ``public/``'s files, written while the file is hashed (one
read: the bytes hashed are the bytes written; :func:`copy_hashed`) or, for a file the hash
cache vouched for, copied and checked against its digest. Natural paths are hard links to
their by-hash object, inside ``release/``. Never a link to ``public/``: an editor that
writes a file in place (vim does, for a file with several links) or a tool that restores
an mtime would otherwise change a signed file under its signature, in the current release
and in the by-hash object kept for mirrors mid-update. A copy costs one write per new
file; the tree of folders, not the bytes, is what costs on a first release.

The previous release is read from its own metadata by the one chain reader,
:func:`tamizdat.release.listing.read_chain` (plain ``json``: it is our output on the local
disk, already trusted, and 100,000 targets parse fast that way).
"""

# String paths and os calls instead of pathlib here: this module touches 100,000+ files per
# release and pathlib's object churn was a measurable share of signing time.
# ruff: noqa: PTH102, PTH105, PTH108, PTH110, PTH116, PTH120

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tamizdat.errors import UserError
from tamizdat.files import copy_regular, open_regular
from tamizdat.layout import LOG_JSON, METADATA_DIR, TARGETS_DIR, by_hash_path
from tamizdat.release.listing import DirLayout, read_chain
from tamizdat.stat_cache import Stamp, stamp_of
from tamizdat.trust.sign.keystore import atomic_write

__all__ = [
    "ObjectStager",
    "Placement",
    "ReleaseState",
    "RoleState",
    "copy_hashed",
    "load_release_state",
    "place_files",
    "prune_objects",
    "prune_superseded",
    "remove_natural",
]

logger = logging.getLogger(__name__)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COPY_CHUNK = 1 << 20
# Fewest items per writing task (below this, thread hand-offs cost more than they save).
_MIN_TASK = 512


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


def load_release_state(release_dir: Path) -> ReleaseState | None:
    """The previous release in ``release_dir``, or None if there is none yet.

    Raises:
        UserError: the release is damaged (a metadata file named by the snapshot is missing
            or not JSON).
    """
    if not (release_dir / METADATA_DIR / "timestamp.json").exists():
        return None
    try:
        chain = read_chain(DirLayout(release_dir))
    except UserError as exc:
        raise UserError(
            f"the previous release is damaged: {exc.message}",
            where=exc.where,
            hint="restore release/ from a mirror or remove it to start a new history",
        ) from None
    roles = {}
    for name, role in chain.roles.items():
        signed = role.signed
        roles[name] = RoleState(
            version=int(signed["version"]),
            expires=str(signed["expires"]),
            targets=signed.get("targets", {}),
            delegations=signed.get("delegations"),
            keyids=frozenset(s["keyid"] for s in role.document.get("signatures", [])),
        )
    log_file = release_dir / LOG_JSON
    return ReleaseState(
        snapshot_version=chain.snapshot_version,
        timestamp_version=chain.timestamp_version,
        roles=roles,
        log=log_file.read_bytes() if log_file.exists() else b"",
    )


@dataclass(frozen=True, slots=True)
class Placement:
    """One file to put in the release: ``rel`` from a hard link of ``source`` or ``data``.

    ``inode`` is the source's inode when known: a file already linked to it is left alone.
    ``replace`` False means the path is immutable (by-hash): an existing file is kept.
    ``expect`` (length, sha256) means ``source`` is outside the release (``public/``): it
    is copied, never linked, and the copy must have that length and hash.
    """

    rel: str
    source: str | None
    data: bytes | None
    inode: int = 0
    replace: bool = True
    expect: tuple[int, str] | None = None


def copy_hashed(source: str, dest: str) -> tuple[str, int, Stamp]:
    """Copy regular file ``source`` to the new file ``dest``, hashing the bytes as they are
    copied: return their SHA-256, their length and the stamp of the file they were read from
    (its open descriptor's). ``dest`` is created exclusively.

    Raises:
        UnsafeFileError: ``source`` is not a regular file (a link swapped in is not followed).
        OSError: a file cannot be read or written (``FileExistsError`` if ``dest`` exists).
    """
    with open_regular(source) as src:
        st = os.fstat(src.fileno())
        digest = hashlib.sha256()
        length = 0
        with open(dest, "xb") as dst:  # noqa: PTH123
            while chunk := src.read(_COPY_CHUNK):
                digest.update(chunk)
                dst.write(chunk)
                length += len(chunk)
    return digest.hexdigest(), length, stamp_of(st)


def _copy_expected(source: str, full: str, expect: tuple[int, str]) -> None:
    """Place a verified copy of ``source`` at ``full`` (staged, then renamed)."""
    head, name = os.path.split(full)
    staged = f"{head}/.{name[:64]}.{os.getpid()}.stage"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(staged)
    sha256, length, _stamp = copy_hashed(source, staged)
    if (length, sha256) != expect:
        os.unlink(staged)
        raise UserError(
            "a file of the built site changed while it was being signed",
            where=source,
            hint="run 'tamizdat sign' again once nothing writes to the built site",
        )
    os.replace(staged, full)


def _link_or_copy(source: str, staged: str) -> None:
    try:
        os.link(source, staged)
    except OSError:
        copy_regular(source, staged)  # never through a link swapped in since the hashing


def _place(root: str, item: Placement) -> None:
    full = f"{root}/{item.rel}"
    if item.data is not None:
        if item.replace or not os.path.exists(full):
            atomic_write(Path(full), item.data)
        return
    assert item.source is not None
    if item.expect is not None:
        if item.replace or not os.path.exists(full):
            _copy_expected(item.source, full, item.expect)
        return
    try:
        os.link(item.source, full)  # a new path: the link appears atomically
        return
    except FileExistsError:
        if not item.replace:
            return  # by-hash objects are named by their hash: the existing one is right
        with contextlib.suppress(OSError):
            if item.inode and os.stat(full).st_ino == item.inode:
                return  # already this very file (an interrupted run got this far)
    except OSError:
        pass  # another file system: copy below
    head, name = os.path.split(full)
    staged = f"{head}/.{name}.{os.getpid()}.stage"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(staged)
    _link_or_copy(item.source, staged)
    os.replace(staged, full)


class ObjectStager:
    """Writes the by-hash object of each file as it is hashed (one read: the bytes hashed
    are the bytes written), and for a first release its natural path too (a link to the
    object), into a release tree being assembled (``root``). Safe from several threads."""

    def __init__(self, root: str, *, natural: bool) -> None:
        self.folders = _Folders(root)
        self.root = root
        self.natural = natural

    def __call__(self, rel: str, source: str) -> tuple[str, int, Stamp]:
        """Copy and hash ``source`` (target path ``rel``): its SHA-256, length and stamp.

        Raises:
            UnsafeFileError, OSError: as :func:`copy_hashed`.
        """
        head, name = os.path.split(rel)
        folder = f"{self.root}/{TARGETS_DIR}/{head}" if head else f"{self.root}/{TARGETS_DIR}"
        self.folders.ensure(folder[len(self.root) + 1 :])
        with open_regular(source) as src:
            st = os.fstat(src.fileno())
            data = src.read(_COPY_CHUNK + 1) if st.st_size <= _COPY_CHUNK else None
        if data is not None and len(data) <= _COPY_CHUNK:
            # Small (most files): read once, named by its hash, written straight to its name
            # (nothing serves an assembly folder; an interrupted one is removed).
            sha256, length, stamp = hashlib.sha256(data).hexdigest(), len(data), stamp_of(st)
            final = f"{folder}/{sha256}.{name}"
            fd = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            try:
                _write_all(fd, data)
            finally:
                os.close(fd)
        else:
            staged = f"{folder}/.part-{threading.get_ident()}"
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged)
            sha256, length, stamp = copy_hashed(source, staged)
            final = f"{folder}/{sha256}.{name}"
            os.replace(staged, final)
        if self.natural:
            self.folders.ensure(head)
            os.link(final, f"{self.root}/{rel}")
        return sha256, length, stamp


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class _Folders:
    """Makes folders on demand, each at most once, from any number of threads.

    A folder is made with one ``mkdir`` when its parent exists (the common case once the
    first file of a subtree is placed); a missing parent is made first. Two threads racing
    for the same folder both succeed (``FileExistsError`` is success). ``created`` lists the
    folders this run created; set and list operations are atomic under the GIL.
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.known: set[str] = {""}
        self.created: list[str] = []

    def ensure(self, folder: str) -> None:
        if folder in self.known:
            return
        try:
            os.mkdir(f"{self.root}/{folder}")
            self.created.append(folder)
        except FileExistsError:
            pass
        except FileNotFoundError:
            self.ensure(os.path.dirname(folder))
            with contextlib.suppress(FileExistsError):
                os.mkdir(f"{self.root}/{folder}")
                self.created.append(folder)
        self.known.add(folder)


def place_files(
    release_dir: Path,
    items: Sequence[Placement],
    *,
    workers: int = 1,
    on_done: Callable[[int], None] | None = None,
) -> int:
    """Create the folders ``items`` need (each once) and place every item; return how many
    folders were created.

    Items are placed in path order, in contiguous runs (one per task), so a task makes a
    folder and then fills it, and threads rarely meet in the same folder. Creating folders
    is what costs most on a first release (one ``mkdir`` per article folder, twice: natural
    and by-hash trees); ``workers`` > 1 overlaps the file system's waits.

    Raises:
        OSError: a folder or file could not be written.
    """
    root = str(release_dir)
    folders = _Folders(root)
    ordered = sorted(items, key=lambda item: item.rel)
    size = max(_MIN_TASK, -(-len(ordered) // (workers * 8)))
    tasks = [ordered[i : i + size] for i in range(0, len(ordered), size)]

    def run(task: list[Placement]) -> int:
        for item in task:
            folders.ensure(os.path.dirname(item.rel))
            _place(root, item)
        return len(task)

    done = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for placed in pool.map(run, tasks) if workers > 1 else map(run, tasks):
            done += placed
            if on_done is not None:
                on_done(done)
    return len(folders.created)


def remove_natural(release_dir: Path, paths: Iterable[str]) -> None:
    """Delete natural-path files that the new release no longer has."""
    for rel in paths:
        (release_dir / rel).unlink(missing_ok=True)


def prune_superseded(
    release_dir: Path, pending_file: Path, still_needed: Callable[[str, str], bool]
) -> int:
    """Delete the by-hash objects listed in ``pending_file`` (``[path, sha256]`` pairs
    superseded one release ago) unless ``still_needed(path, sha256)``; return how many.
    A missing or unreadable list means nothing to prune (an object left over is harmless;
    :func:`prune_objects` sweeps the whole tree)."""
    try:
        pending = json.loads(pending_file.read_bytes())
    except (OSError, ValueError):
        return 0
    removed = 0
    for item in pending if isinstance(pending, list) else []:
        if not (
            isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)
        ):
            continue
        path, sha256 = item
        parts = path.split("/")
        if not _SHA256.match(sha256) or {"", ".", ".."} & set(parts) or still_needed(path, sha256):
            continue  # a malformed entry never names a file outside the by-hash tree
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{release_dir}/{by_hash_path(path, sha256)}")
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
