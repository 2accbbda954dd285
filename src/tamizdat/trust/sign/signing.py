"""``public/`` → ``release/``: sign a release with TUF, incrementally.

Invariants:

- Every published file is a TUF target at its natural path, signed by exactly one role of
  the layout in :mod:`tamizdat.trust.sign.roles`; its by-hash copy is in the release (TUF §5.7.3).
- A targets role is re-signed (version + 1) only when its targets, its delegations or its
  signing keys change, or when less than half its validity period is left; otherwise its
  previous ``N.<role>.json`` stays as it is. Snapshot (§2.1.3) lists every role version
  without hashes, so the publication log can name the exact snapshot bytes of its own release
  (see :mod:`tamizdat.trust.log`). Snapshot and timestamp are re-signed on every release.
- Written in the order of :mod:`tamizdat.trust.sign.release_dir`; timestamp last.
- Reads only ``public/`` (and the previous release, keys and its own cache): the stage
  before it is the build, which already checked the content (silent corrections included,
  :mod:`tamizdat.render.corrections`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Snapshot,
    Timestamp,
)

from tamizdat.config import Config, require_public_base_url
from tamizdat.errors import KeyStoreError, UserError
from tamizdat.fingerprint import root_fingerprint
from tamizdat.layout import LOG_JSON, by_hash_path, metadata_path
from tamizdat.progress import Progress, report
from tamizdat.stat_cache import StatCache
from tamizdat.trust.log import PublicationLog, is_log_path
from tamizdat.trust.log_chain import read_log
from tamizdat.trust.sign import release_dir as rel
from tamizdat.trust.sign.hashing import FolderIndex, HashedFile, hash_tree, load_hash_cache
from tamizdat.trust.sign.keys import open_store, root_chain
from tamizdat.trust.sign.keystore import KeyStore, atomic_write
from tamizdat.trust.sign.log_writer import append_entry, log_files
from tamizdat.trust.sign.metadata import expiry_after, sign_metadata, to_wire, utc_now
from tamizdat.trust.sign.role_plan import RolePlan, Target, plan_versions, role_metadata
from tamizdat.trust.sign.roles import plan_layout

__all__ = ["SignReport", "sign_release"]

logger = logging.getLogger(__name__)

# Writing a release's new files is one mkdir per new folder and one file per target, twice
# (by-hash and natural trees). One thread: on tmpfs it is CPU work (threads only fight over
# the GIL); on this ext4 disk four threads used twice the CPU and were not faster. A first
# release does this work on the hashing threads instead, overlapping the walk.
_WRITE_THREADS = 1


@dataclass(frozen=True, slots=True)
class SignReport:
    """What one ``sign`` run did."""

    release_dir: Path
    version: int
    files: int  # every target: added + changed + unchanged + log_files
    hashed: int
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int  # site files signed as the previous release had them
    log_files: int  # the publication log's own files (head and entries)
    roles_signed: tuple[str, ...]
    roles_total: int
    metadata_bytes: int  # size of the current metadata (latest version of every file)
    new_metadata_bytes: int  # bytes of metadata written by this run
    fingerprint: str


@dataclass(frozen=True, slots=True)
class _Scan:
    """What :func:`_collect_targets` found: every target, and how many files were read."""

    targets: dict[str, Target]
    files: dict[str, HashedFile]  # the files of public/ (the rest are extra files)
    hashed: int


def _collect_targets(
    public_dir: Path,
    cache: StatCache,
    index: FolderIndex,
    extra_files: Mapping[str, bytes],
    progress: Progress | None,
    stager: rel.ObjectStager | None,
) -> _Scan:
    hashed = hash_tree(public_dir, cache, index=index, hasher=stager, progress=progress)
    targets = {p: Target(f.length, f.sha256, f.source, None) for p, f in hashed.files.items()}
    for path, data in extra_files.items():
        targets[path] = Target(len(data), hashlib.sha256(data).hexdigest(), None, data)
    return _Scan(targets, hashed.files, hashed.hashed)


@dataclass(frozen=True, slots=True)
class _Changes:
    """Paths added, changed and removed since the previous release (log files excluded)."""

    added: list[str]
    changed: list[str]
    removed: list[str]


def _diff(targets: Mapping[str, Target], before: Mapping[str, tuple[int, str]]) -> _Changes:
    added, changed = [], []
    for path, t in targets.items():
        old = before.get(path)
        if old is None:
            added.append(path)
        elif old[0] != t.length or old[1] != t.sha256:
            changed.append(path)
    removed = [p for p in before if p not in targets]
    return _Changes(
        sorted(p for p in added if not is_log_path(p)),
        sorted(p for p in changed if not is_log_path(p)),
        sorted(p for p in removed if not is_log_path(p)),
    )


def sign_release(
    config: Config,
    *,
    public_dir: Path,
    release_dir: Path,
    extra_files: Mapping[str, bytes] | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    allow_demo: bool = False,
) -> SignReport:
    """Sign ``public_dir`` into ``release_dir`` (see the module docstring).

    Raises:
        KeyStoreError: a key is missing, locked, or a demo key is refused.
        UserError: ``public_dir`` is missing, a path cannot be delegated, or the previous
            release is damaged.
        UnsafeFileError: a link, FIFO, socket or device file in ``public_dir``.
        ConfigError: ``[site] base_url`` is a preview address (loopback, ``localhost``).
    """
    require_public_base_url(config)
    now = (now or utc_now()).replace(microsecond=0)
    store, roots = _open_signing(config, public_dir, allow_demo=allow_demo)
    cache_file = config.build.cache_dir / "trust" / "hashes.json"
    cache = load_hash_cache(cache_file, public_dir)
    index_file = cache_file.with_name("folders.json")
    index = FolderIndex.load(index_file, str(public_dir))
    previous = rel.load_release_state(release_dir)
    # A first release is assembled beside release/ and renamed into place: its files are
    # copied while they are hashed (workers overlap the walk) and no half-written release/
    # is ever seen. Later releases write in the order of release_dir's module docstring.
    assembly = _first_release_dir(release_dir) if previous is None else None
    out_dir = assembly or release_dir
    try:
        scanned = time.time_ns()
        stager = rel.ObjectStager(str(assembly), natural=True) if assembly else None
        # Every file of a first release is copied, so every one is read (and hashed while
        # copied): the hash cache has nothing to save here.
        known = StatCache(str(public_dir)) if assembly else cache
        scan = _collect_targets(public_dir, known, index, extra_files or {}, progress, stager)
        targets = scan.targets
        before = previous.all_targets() if previous else {}
        log = _previous_log(release_dir, previous)
        changes = _diff(targets, before)
        _keep_log_files(targets, before, release_dir)
        version = previous.snapshot_version + 1 if previous else 1
        plans = _plan_roles(config, store, targets, previous, log, changes, version, now)
        snapshot_bytes = _sign_snapshot(config, store, plans, version, now)
        _add_log_files(targets, log, changes, version, now, snapshot_bytes)
        written, signed_roles = _sign_roles(config, store, plans, targets, now, progress)
        written[metadata_path("snapshot", version)] = snapshot_bytes
        timestamp_bytes = _sign_timestamp(config, store, previous, version, now, snapshot_bytes)
        _write_release(
            out_dir,
            targets,
            roots,
            written,
            timestamp_bytes,
            before,
            changes.removed,
            progress,
            cache_file.with_name("superseded.json"),
            staged=assembly is not None,
        )
        if assembly is not None:
            _move_into_place(assembly, release_dir)
    except BaseException:
        if assembly is not None:
            shutil.rmtree(assembly, ignore_errors=True)
        raise
    for path, found in scan.files.items():
        cache.record(path, found.stamp, found.sha256)
    cache.save(cache_file)
    index.save(index_file, scanned)
    logger.info("signed release %d: %d roles re-signed", version, len(signed_roles))
    log_count = sum(1 for path in targets if is_log_path(path))
    return SignReport(
        release_dir=release_dir,
        version=version,
        files=len(targets),
        hashed=scan.hashed,
        added=tuple(changes.added),
        changed=tuple(changes.changed),
        removed=tuple(changes.removed),
        unchanged=len(targets) - log_count - len(changes.added) - len(changes.changed),
        log_files=log_count,
        roles_signed=tuple(signed_roles),
        roles_total=len(plans),
        metadata_bytes=_current_metadata_bytes(
            release_dir, plans, roots, len(snapshot_bytes), len(timestamp_bytes)
        ),
        new_metadata_bytes=sum(len(b) for b in written.values()) + len(timestamp_bytes),
        fingerprint=root_fingerprint(roots[0][1]),
    )


def _open_signing(
    config: Config, public_dir: Path, *, allow_demo: bool
) -> tuple[KeyStore, list[tuple[int, bytes]]]:
    """The key store and the root chain, once the built site is known to exist."""
    if not public_dir.is_dir():
        raise UserError("no built site to sign", where=str(public_dir), hint="run 'tamizdat build'")
    store = open_store(config, allow_demo=allow_demo)
    roots = root_chain(store)
    if not roots:
        raise KeyStoreError(
            "no root metadata", where=str(store.metadata_dir), hint="run 'tamizdat keys init'"
        )
    return store, roots


def _previous_log(release_dir: Path, previous: rel.ReleaseState | None) -> PublicationLog:
    if previous is None or not previous.log:
        return PublicationLog()
    return read_log(lambda p: (release_dir / p).read_bytes(), str(release_dir))


def _keep_log_files(
    targets: dict[str, Target], before: Mapping[str, tuple[int, str]], release_dir: Path
) -> None:
    """Earlier log entries stay targets as they are (immutable); the head is rewritten."""
    for path, (length, sha) in before.items():
        if is_log_path(path) and path != LOG_JSON:
            targets[path] = Target(length, sha, str(release_dir / path), None)


def _plan_roles(
    config: Config,
    store: KeyStore,
    targets: Mapping[str, Target],
    previous: rel.ReleaseState | None,
    log: PublicationLog,
    changes: _Changes,
    version: int,
    now: datetime,
) -> dict[str, RolePlan]:
    """The layout for every path, this release's log files included, and which roles need
    signing. The new head and entry are placeholder-hashed until the snapshot is signed:
    their roles are re-signed anyway (the head's is forced, a new path changes its role),
    so planning needs only their paths."""
    draft = _append(log, changes, version, now, "0" * 64)
    new_log = list(log_files(draft, after=log.head[0]))
    layout = plan_layout([*targets, *new_log], config.site.desk_names)
    placeholder = dict(targets)
    placeholder.update((p, Target(0, "0" * 64, None, b"")) for p in new_log)
    return plan_versions(
        layout, placeholder, previous, store, config, now, layout.role_of[LOG_JSON]
    )


def _append(
    log: PublicationLog, changes: _Changes, version: int, now: datetime, snapshot_sha256: str
) -> PublicationLog:
    return append_entry(
        log,
        version=version,
        time=now,
        snapshot_sha256=snapshot_sha256,
        added=changes.added,
        changed=changes.changed,
        removed=changes.removed,
    )


def _sign_snapshot(
    config: Config, store: KeyStore, plans: Mapping[str, RolePlan], version: int, now: datetime
) -> bytes:
    """Snapshot lists role versions only (no hashes): the log can then name its bytes."""
    snapshot = Metadata(
        Snapshot(
            version,
            None,
            expiry_after(now, config.signing.expiry_days["snapshot"]),
            {f"{name}.json": MetaFile(plan.version) for name, plan in plans.items()},
        )
    )
    sign_metadata(snapshot, store.signers("snapshot"))
    return to_wire(snapshot)


def _add_log_files(
    targets: dict[str, Target],
    log: PublicationLog,
    changes: _Changes,
    version: int,
    now: datetime,
    snapshot_bytes: bytes,
) -> None:
    """The new log entry (naming the signed snapshot's bytes) and head become targets."""
    log = _append(log, changes, version, now, hashlib.sha256(snapshot_bytes).hexdigest())
    for path, data in log_files(log, after=log.head[0] - 1).items():
        targets[path] = Target(len(data), hashlib.sha256(data).hexdigest(), None, data)


def _sign_roles(
    config: Config,
    store: KeyStore,
    plans: Mapping[str, RolePlan],
    targets: Mapping[str, Target],
    now: datetime,
    progress: Progress | None,
) -> tuple[dict[str, bytes], list[str]]:
    """The bytes of every targets role that changed, by path, and their names."""
    written: dict[str, bytes] = {}
    signed_roles = []
    for name, plan in plans.items():
        if not plan.changed:
            continue
        expires = expiry_after(now, config.signing.expiry_days[plan.spec.expiry_role])
        metadata = role_metadata(plan, targets, expires)
        sign_metadata(metadata, store.signers(plan.spec.key_role))
        written[metadata_path(name, plan.version)] = to_wire(metadata)
        signed_roles.append(name)
        report(progress, "signing", len(signed_roles), None, name)
    return written, signed_roles


def _sign_timestamp(
    config: Config,
    store: KeyStore,
    previous: rel.ReleaseState | None,
    version: int,
    now: datetime,
    snapshot_bytes: bytes,
) -> bytes:
    timestamp = Metadata(
        Timestamp(
            (previous.timestamp_version + 1) if previous else 1,
            None,
            expiry_after(now, config.signing.expiry_days["timestamp"]),
            MetaFile(
                version, len(snapshot_bytes), {"sha256": hashlib.sha256(snapshot_bytes).hexdigest()}
            ),
        )
    )
    sign_metadata(timestamp, store.signers("timestamp"))
    return to_wire(timestamp)


def _current_metadata_bytes(
    release_dir: Path,
    plans: Mapping[str, RolePlan],
    roots: list[tuple[int, bytes]],
    snap: int,
    ts: int,
) -> int:
    size = snap + ts + len(roots[-1][1])
    for name, plan in plans.items():
        size += (release_dir / metadata_path(name, plan.version)).stat().st_size
    return size


def _first_release_dir(release_dir: Path) -> Path | None:
    """A fresh folder beside ``release_dir`` to assemble a first release in, or None when
    ``release_dir`` holds something already (then it is written in place). Assembly folders
    left by an interrupted run are removed first."""
    with contextlib.suppress(OSError):
        if release_dir.is_symlink() or any(release_dir.iterdir()):
            return None
    for stale in release_dir.parent.glob(f".{release_dir.name}.assembly-*"):
        shutil.rmtree(stale, ignore_errors=True)
    assembly = release_dir.parent / f".{release_dir.name}.assembly-{os.getpid()}"
    assembly.mkdir(parents=True)
    return assembly


def _move_into_place(assembly: Path, release_dir: Path) -> None:
    """Rename the assembled first release to ``release_dir`` (an empty folder there goes)."""
    with contextlib.suppress(FileNotFoundError):
        release_dir.rmdir()
    assembly.rename(release_dir)


def _placements(
    release_dir: Path, fresh: list[tuple[str, Target]], natural: bool
) -> list[rel.Placement]:
    """By-hash objects are verified copies of public/'s files (so a later edit of public/
    cannot change a signed file); natural paths are links to their by-hash object."""
    if natural:
        root = str(release_dir)
        return [
            rel.Placement(p, None, t.data)
            if t.data is not None
            else rel.Placement(p, f"{root}/{by_hash_path(p, t.sha256)}", None)
            for p, t in fresh
        ]
    return [
        rel.Placement(by_hash_path(p, t.sha256), t.source, t.data, 0, False)
        if t.data is not None
        else rel.Placement(
            by_hash_path(p, t.sha256), t.source, None, 0, False, (t.length, t.sha256)
        )
        for p, t in fresh
    ]


def _write_release(
    release_dir: Path,
    targets: Mapping[str, Target],
    roots: list[tuple[int, bytes]],
    written: Mapping[str, bytes],
    timestamp_bytes: bytes,
    before: Mapping[str, tuple[int, str]],
    removed: list[str],
    progress: Progress | None,
    prune_file: Path,
    *,
    staged: bool,
) -> None:
    """Write the release in the order of :mod:`tamizdat.trust.sign.release_dir`. ``staged``:
    the files of public/ were placed (both trees) while they were hashed."""
    release_dir.mkdir(parents=True, exist_ok=True)
    # 1. by-hash objects: only new ones (an object that exists is immutable).
    fresh = [
        (path, t)
        for path, t in targets.items()
        if (before.get(path) != (t.length, t.sha256) or path == LOG_JSON)
        and not (staged and t.data is None)
    ]
    total = 2 * len(fresh)
    report(progress, "writing", 0, total)

    def written_so_far(offset: int) -> Callable[[int], None]:
        return lambda done: report(progress, "writing", offset + done, total)

    rel.place_files(
        release_dir,
        _placements(release_dir, fresh, False),
        workers=_WRITE_THREADS,
        on_done=written_so_far(0),
    )
    # 2. versioned metadata (new names only), 3. roots, root.json and the timestamp last.
    for path, data in written.items():
        atomic_write(release_dir / path, data)
    for root_version, data in roots:
        file = release_dir / metadata_path("root", root_version)
        if not file.exists():
            atomic_write(file, data)
    atomic_write(release_dir / metadata_path("root", None), roots[-1][1])
    atomic_write(release_dir / metadata_path("timestamp", None), timestamp_bytes)
    # 4. natural paths, each by link or staged rename; then removed files.
    rel.place_files(
        release_dir,
        _placements(release_dir, fresh, True),
        workers=_WRITE_THREADS,
        on_done=written_so_far(len(fresh)),
    )
    rel.remove_natural(release_dir, removed)

    # 5. keep by-hash objects of this release and the previous one (mirrors mid-update):
    # objects superseded by the previous run are deleted now; this run's wait for the next.
    # (Checked per listed object: building the by-hash names of all 100,000 targets to
    # compare with cost about a second per release.)
    def still_needed(path: str, sha256: str) -> bool:
        current = targets.get(path)
        return (current is not None and current.sha256 == sha256) or (
            path in before and before[path][1] == sha256
        )

    rel.prune_superseded(release_dir, prune_file, still_needed)
    superseded = [
        [p, s] for p, (_n, s) in before.items() if p not in targets or targets[p].sha256 != s
    ]
    atomic_write(prune_file, json.dumps(sorted(superseded)).encode())
