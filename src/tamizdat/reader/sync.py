"""Sync a reader's store from mirrors (or a bundle): the TUF client workflow with fail-over.

Invariant: the store only ever switches to a release whose every metadata file was accepted
by :class:`~tamizdat.trust.policy.TrustPolicy` against the pinned root (TUF §5.2–5.6) and
whose every object matched its signed length and sha256 (§5.7); nothing unverified is
written. Rollback is refused; an expired role only labels the release "stale" (§5.4.4 is
deliberately relaxed, as DESIGN.md explains). The signed publication log head must extend
the one this store saw before (a shorter log is a rollback, a rewritten one a fork), exactly
as ``tamizdat verify`` checks it, before anything of the release is stored; only the log
entries after the seen head are walked (by hash), so one release later that is one small
file. The release's time is that of its own log entry. Files already in the store are not fetched again: consistent
snapshots (§5.7.3) make a version or a hash name one file for ever.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Literal

from tuf.api.metadata import Root, Targets

from tamizdat.errors import (
    MirrorUnreachableError,
    NotThisPublisherError,
    TamperedError,
    TransportError,
    UntrustedContentError,
)
from tamizdat.layout import LOG_JSON, METADATA_DIR, MIRRORS_JSON, metadata_path
from tamizdat.progress import Progress, report
from tamizdat.reader.listing import TargetEntry
from tamizdat.reader.mirrors import MirrorNote, MirrorPool, NoteKind
from tamizdat.reader.store import ReleaseInfo, Store
from tamizdat.trust.fingerprint import root_fingerprint
from tamizdat.trust.loading import LoadedRelease, check_log_with, release_entry
from tamizdat.trust.log import PublicationLog
from tamizdat.trust.policy import Limits, SeenVersions, TrustPolicy
from tamizdat.trust.sources import Source
from tamizdat.trust.verify import outcome_of

__all__ = ["Outcome", "SyncReport", "update_store"]

logger = logging.getLogger(__name__)

Outcome = Literal["current", "stale", "tampered", "rollback", "not-this-publisher", "unreachable"]


@dataclass(frozen=True, slots=True)
class SyncReport:
    """The machine-readable result of one sync or import."""

    name: str
    outcome: Outcome
    version: int | None
    published: str | None
    expires: str | None
    fingerprint: str | None
    changed: bool
    fetched_files: int
    fetched_bytes: int
    new_objects: int
    source: str | None
    notes: tuple[MirrorNote, ...]
    problem: str | None = None
    where: str | None = None
    wire_bytes: int = 0


@dataclass
class _Run:
    """What one update has verified so far (metadata bytes by file name)."""

    store: Store
    pool: MirrorPool
    policy: TrustPolicy
    limits: Limits
    metadata: dict[str, bytes]
    timestamp_source: str | None = None


def _local(store: Store, name: str) -> bytes | None:
    if not store.has_release:
        return None
    try:
        return store.read_metadata(name)
    except FileNotFoundError:
        return None


def _first_root(
    store: Store, pool: MirrorPool, limits: Limits, now: datetime
) -> tuple[TrustPolicy, bytes]:
    """§5.2: the pinned root; under trust-on-first-use, the first one a mirror offers."""
    sub = store.subscription
    path = metadata_path(Root.type, 1)

    def accept(data: bytes, where: str) -> bytes:
        found = root_fingerprint(data)
        if sub.fingerprint is not None and found != sub.fingerprint:
            raise NotThisPublisherError(
                f"expected the root with fingerprint {sub.fingerprint}, found {found}",
                where=where,
                hint="this copy was signed by someone else (or the fingerprint was mistyped)",
            )
        TrustPolicy(data, now=now, limits=limits)  # self-signed to its own threshold
        return data

    local = _local(store, "1.root.json")
    if local is not None:
        data = accept(local, f"store {store.root}: {path}")
    else:
        data = pool.fetch(path, limits.root_max_bytes, lambda d, s: accept(d, f"{s.name}: {path}"))
    return TrustPolicy(data, now=now, seen=store.seen, limits=limits), data


def _update_roots(run: _Run) -> None:
    """§5.3: root N+1, N+2 … from the store first, then from mirrors until none has more.

    A mirror offering a bogus next root while others have none is skipped (noted), not
    believed: a root is only accepted when signed by the current root's threshold.
    """
    while run.policy.root_rotations < run.limits.max_root_rotations:
        version = run.policy.root.version + 1
        name = f"{version}.root.json"
        data = _local(run.store, name)
        if data is not None:
            run.policy.update_root(data, where=name)
        else:
            try:
                data = run.pool.fetch(
                    f"{METADATA_DIR}/{name}",
                    run.limits.root_max_bytes,
                    partial(_accept_root, run.policy, name),
                    probe=True,
                )
            except (TransportError, UntrustedContentError):
                return
        run.metadata[name] = data


def _accept_root(policy: TrustPolicy, name: str, data: bytes, source: Source) -> bytes:
    policy.update_root(data, where=f"{source.name}: {name}")
    return data


def _update_timestamp(run: _Run, quorum: int) -> None:
    """§5.4: ask up to ``quorum`` mirrors, keep the newest authentic timestamp."""
    path = metadata_path("timestamp", None)
    answers = run.pool.gather(path, run.limits.timestamp_max_bytes, quorum)
    errors: list[UntrustedContentError] = []
    for source, data in answers:
        where = f"{source.name}: timestamp.json"
        try:
            if run.policy.update_timestamp(data, where=where):
                run.metadata["timestamp.json"] = data
                run.timestamp_source = source.name
        except UntrustedContentError as exc:
            kind: NoteKind = "lagging" if outcome_of(exc) == "rollback" else "tampered"
            run.pool.note(source, path, kind, exc.message, skip=True)
            errors.append(exc)
    if run.timestamp_source is None:
        if errors:
            raise errors[-1]
        raise _unreachable(run.pool, path)
    run.pool.prefer(run.timestamp_source)


def _unreachable(pool: MirrorPool, path: str) -> TransportError:
    asked = ", ".join(sorted({n.mirror for n in pool.notes})) or "none configured"
    return MirrorUnreachableError(
        f"expected {path} from at least one mirror, got none (asked: {asked})",
        where=path,
        hint="add more mirrors, import a bundle, or try again later",
    )


def _fetch_meta(run: _Run, name: str, cap: int, accept: Callable[[bytes, str], None]) -> None:
    """A metadata file: the store's copy if it has this exact version, else from mirrors."""
    data = _local(run.store, name)
    if data is None:
        data = run.pool.fetch(
            f"{METADATA_DIR}/{name}", cap, lambda d, s: _accepted(accept, d, f"{s.name}: {name}")
        )
    else:
        accept(data, name)
    run.metadata[name] = data


def _accepted(accept: Callable[[bytes, str], None], data: bytes, where: str) -> bytes:
    accept(data, where)
    return data


def _update_snapshot_and_targets(run: _Run) -> None:
    """§5.5–5.6: the snapshot the timestamp names, then every reachable targets role."""
    meta = run.policy.timestamp.snapshot_meta
    cap = min(meta.length or run.limits.snapshot_max_bytes, run.limits.snapshot_max_bytes)
    _fetch_meta(
        run,
        f"{meta.version}.snapshot.json",
        cap,
        lambda d, w: run.policy.update_snapshot(d, where=w),
    )
    queue: list[tuple[str, str]] = [(Targets.type, Root.type)]
    done: set[str] = set()
    while queue and len(done) < run.limits.max_delegations:
        role, delegator = queue.pop(0)
        info = run.policy.snapshot.meta.get(f"{role}.json")
        if role in done or info is None:
            continue
        done.add(role)
        cap = min(info.length or run.limits.targets_max_bytes, run.limits.targets_max_bytes)
        _fetch_meta(
            run,
            f"{info.version}.{role}.json",
            cap,
            partial(_accept_role, run.policy, role, delegator),
        )
        queue.extend((child, role) for child, _ in run.policy.children(role))


def _accept_role(policy: TrustPolicy, role: str, delegator: str, data: bytes, where: str) -> None:
    policy.update_delegated_targets(data, role, delegator, where=where)


def resolved_targets(policy: TrustPolicy) -> list[TargetEntry]:
    """Every signed path as a client resolves it (§5.6.7), skipping unauthorised listings."""
    resolved = policy.delegations.resolved_targets()
    entries: list[TargetEntry] = []
    for path in sorted({p for t in policy.loaded_roles.values() for p in t.targets}):
        found = resolved.get(path)
        if found is None or "sha256" not in found.hashes:
            logger.warning("ignoring %s: listed only by a role not delegated it", path)
            continue
        entries.append(TargetEntry(path, found.hashes["sha256"], found.length))
    return entries


def _check_object(entry: TargetEntry, data: bytes, where: str) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    if len(data) != entry.length or digest != entry.sha256:
        raise TamperedError(
            f"{entry.path} differs from the signed copy: expected {entry.length} bytes with "
            f"sha256 {entry.sha256}, found {len(data)} bytes with sha256 {digest}",
            where=where,
        )
    return data


def _fetch_objects(
    run: _Run,
    entries: list[TargetEntry],
    *,
    staged: bool,
    workers: int,
    progress: Progress | None,
    fetched: dict[str, bytes],
) -> int:
    """§5.7: fetch each missing object by hash and verify it; store it (or, staged, only
    verify all first and store afterwards, so a failure writes nothing). ``fetched`` holds
    objects verified already, by by-hash path."""
    missing = [e for e in entries if not run.store.has_object(e)]

    def get(entry: TargetEntry) -> tuple[TargetEntry, bytes]:
        data = fetched.get(entry.by_hash)
        if data is None:
            data = run.pool.fetch(
                entry.by_hash,
                entry.length,
                lambda d, s: _check_object(entry, d, f"{s.name}: {entry.by_hash}"),
            )
        if not staged:
            run.store.put_object(entry, data)
        return entry, data

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for done, (entry, data) in enumerate(pool.map(get, missing), 1):
            report(progress, "downloading", done, len(missing), entry.path)
            del data
    if staged:
        for entry in missing:
            run.store.put_object(entry, get(entry)[1])
    return len(missing)


def _check_log(
    run: _Run, entries: list[TargetEntry], previous: SeenVersions, fetched: dict[str, bytes]
) -> tuple[PublicationLog | None, LoadedRelease]:
    """The signed log head extends the one seen before and names this snapshot (as verify
    does), walking back only over the entries this store has not seen.

    Each file (the head, then entries by hash) comes from the store if held (its bytes
    checked again), else from a mirror; fetched files are kept in ``fetched`` so the object
    download does not repeat them. Entries are signed targets too: the sync stores them with
    the release, so the store can serve them to the next reader.

    Raises:
        RollbackError (shorter log), LogForkError (history rewritten), MixAndMatchError,
        TamperedError; TransportError when no mirror delivers a file.
    """
    snapshot = run.policy.snapshot.version
    loaded = LoadedRelease(
        run.policy,
        root_fingerprint(run.metadata["1.root.json"]),
        run.metadata[f"{snapshot}.snapshot.json"],
    )
    entry = next((e for e in entries if e.path == LOG_JSON), None)
    if entry is None:
        return None, loaded
    head = _log_file(run, entry.by_hash, entry.length, entry.sha256, fetched)
    where = f"{run.timestamp_source or run.store.root}: {entry.by_hash}"
    if run.store.has_object(entry):
        where = f"store {run.store.root}: {entry.by_hash}"

    def fetch(path: str, cap: int) -> bytes:
        return _log_file(run, path, cap, None, fetched)

    return check_log_with(head, fetch, where, loaded, previous), loaded


def _log_file(
    run: _Run, by_hash: str, cap: int, sha256: str | None, fetched: dict[str, bytes]
) -> bytes:
    """A by-hash file of the log: the store's copy, else a mirror's whose bytes hash to the
    name (so a lying mirror is skipped and the next one asked)."""
    expected = sha256 or by_hash.rsplit("/", 1)[-1].split(".", 1)[0]
    if run.store.exists(by_hash):
        data = run.store.read(by_hash)
        if len(data) <= cap and hashlib.sha256(data).hexdigest() == expected:
            return data
    held = fetched.get(by_hash)
    if held is not None:
        return held

    def accept(data: bytes, source: Source) -> bytes:
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected:
            raise TamperedError(
                f"expected the log file with sha256 {expected}, found sha256 {digest}",
                where=f"{source.name}: {by_hash}",
            )
        return data

    data = run.pool.fetch(by_hash, cap, accept)
    fetched[by_hash] = data
    return data


def _learn_mirrors(store: Store, entries: list[TargetEntry]) -> None:
    """Mirrors named by the signed mirror list become fail-over candidates for next time."""
    entry = next((e for e in entries if e.path == MIRRORS_JSON), None)
    if entry is None:
        return
    try:
        listed = json.loads(store.read(entry.by_hash)).get("mirrors", [])
        urls = [m["public_url"] for m in listed if isinstance(m, dict) and m.get("public_url")]
    except (ValueError, AttributeError, TypeError):
        logger.warning("the signed mirror list is not in the expected format; ignored")
        return
    sub = store.subscription
    learned = tuple(u for u in dict.fromkeys(urls) if u not in sub.mirrors)
    if learned != sub.learned_mirrors:
        store.save_subscription(replace(sub, learned_mirrors=learned))


def update_store(
    store: Store,
    pool: MirrorPool,
    *,
    now: datetime | None = None,
    quorum: int = 2,
    staged: bool = False,
    workers: int = 8,
    limits: Limits | None = None,
    progress: Progress | None = None,
) -> SyncReport:
    """Bring ``store`` to the newest authentic release ``pool`` offers; report the outcome.

    Refusals (tampered, rollback, not this publisher) and unreachable mirrors are outcomes
    in the report, not exceptions; in every case but success the store is left as it was.

    Raises:
        UserError: the store or subscription is unusable.
    """
    now = now or datetime.now(UTC)
    limits = limits or Limits()
    try:
        return _update(store, pool, now, quorum, staged, workers, limits, progress)
    except UntrustedContentError as exc:
        return _failed(store, pool, outcome_of(exc), exc.message, exc.where)
    except TransportError as exc:
        return _failed(store, pool, "unreachable", exc.message, exc.where)


def _update(
    store: Store,
    pool: MirrorPool,
    now: datetime,
    quorum: int,
    staged: bool,
    workers: int,
    limits: Limits,
    progress: Progress | None,
) -> SyncReport:
    policy, first_root = _first_root(store, pool, limits, now)
    run = _Run(store, pool, policy, limits, {"1.root.json": first_root})
    _update_roots(run)
    _update_timestamp(run, quorum)
    _update_snapshot_and_targets(run)
    entries = resolved_targets(run.policy)
    seen = store.seen or SeenVersions()
    fetched: dict[str, bytes] = {}
    log, loaded = _check_log(run, entries, seen, fetched)
    new_objects = _fetch_objects(
        run, entries, staged=staged, workers=workers, progress=progress, fetched=fetched
    )
    fingerprint = loaded.fingerprint
    previous = store.release
    changed = previous is None or previous.timestamp_version != run.policy.timestamp.version
    entry = release_entry(log, loaded)
    published = entry.moment if entry else None
    remembered = run.policy.seen_after()
    if log is not None and log.entries:
        remembered = replace(remembered, log_head=log.head)
    info = ReleaseInfo(
        version=run.policy.snapshot.version,
        timestamp_version=run.policy.timestamp.version,
        fingerprint=fingerprint,
        published=published.isoformat() if published else None,
        expires=run.policy.expires.isoformat(),
        stale=run.policy.stale,
        verified_at=now.isoformat(),
        source=run.timestamp_source or "",
    )
    if changed:
        store.commit(run.metadata, entries, info, remembered)
    sub = store.subscription
    if sub.fingerprint is None:
        store.save_subscription(replace(sub, fingerprint=fingerprint))
    _learn_mirrors(store, entries)
    return SyncReport(
        name=sub.name,
        outcome="stale" if run.policy.stale else "current",
        version=info.version,
        published=info.published,
        expires=info.expires,
        fingerprint=fingerprint,
        changed=changed,
        fetched_files=pool.fetched_files,
        fetched_bytes=pool.fetched_bytes,
        new_objects=new_objects,
        source=run.timestamp_source,
        notes=tuple(pool.notes),
        wire_bytes=pool.wire_bytes,
    )


def _failed(
    store: Store, pool: MirrorPool, outcome: Outcome, problem: str, where: str | None
) -> SyncReport:
    held = store.release
    return SyncReport(
        name=store.subscription.name,
        outcome=outcome,
        version=held.version if held else None,
        published=held.published if held else None,
        expires=held.expires if held else None,
        fingerprint=held.fingerprint if held else store.subscription.fingerprint,
        changed=False,
        fetched_files=pool.fetched_files,
        fetched_bytes=pool.fetched_bytes,
        new_objects=0,
        source=None,
        notes=tuple(pool.notes),
        problem=problem,
        where=where,
        wire_bytes=pool.wire_bytes,
    )
