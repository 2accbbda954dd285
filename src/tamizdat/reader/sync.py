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

import json
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal, TypeVar

from tuf.api.metadata import Snapshot, TargetFile, Timestamp

from tamizdat.errors import (
    MirrorUnreachableError,
    TamperedError,
    TransportError,
    UntrustedContentError,
)
from tamizdat.layout import LOG_JSON, MIRRORS_JSON
from tamizdat.progress import Progress, report
from tamizdat.reader.listing import TargetEntry
from tamizdat.reader.mirrors import MirrorNote, MirrorPool, NoteKind
from tamizdat.reader.store import ReleaseInfo, Store
from tamizdat.trust.log import PublicationLog
from tamizdat.trust.policy import Limits
from tamizdat.trust.verify import outcome_of
from tamizdat.trust.workflow import Check, ClientWorkflow, release_entry

__all__ = ["Outcome", "PoolFetcher", "StoreCopy", "SyncReport", "update_store"]

T = TypeVar("T")

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


class PoolFetcher:
    """A :class:`~tamizdat.reader.mirrors.MirrorPool` as the workflow's fetcher."""

    def __init__(self, pool: MirrorPool) -> None:
        self.pool = pool
        self.name = ", ".join(s.name for s in pool.sources) or "no mirror"

    def fetch_checked(
        self, path: str, max_length: int, check: Check[T], *, probe: bool = False
    ) -> T:
        return self.pool.fetch(
            path,
            max_length,
            lambda data, source: check(data, f"{source.name}: {path}"),
            probe=probe,
        )

    def gather(self, path: str, max_length: int, count: int) -> list[tuple[str, bytes]]:
        answers = self.pool.gather(path, max_length, count)
        if not answers:
            asked = ", ".join(sorted({n.mirror for n in self.pool.notes})) or "none configured"
            raise MirrorUnreachableError(
                f"expected {path} from at least one mirror, got none (asked: {asked})",
                where=path,
                hint="add more mirrors, import a bundle, or try again later",
            )
        return [(source.name, data) for source, data in answers]

    def refused(self, source: str, path: str, error: UntrustedContentError) -> None:
        kind: NoteKind = "lagging" if outcome_of(error) == "rollback" else "tampered"
        for candidate in self.pool.sources:
            if candidate.name == source:
                self.pool.note(candidate, path, kind, error.message, skip=True)

    def prefer(self, source: str) -> None:
        self.pool.prefer(source)

    def stored_once(self, by_hash: str, natural: str) -> bool:
        return False  # a store keeps objects; natural paths are never fetched


class StoreCopy:
    """The reader's store as the workflow's kept copy (it holds one verified release)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.name = f"store {store.root}"

    def metadata(self, role: str, version: int | None) -> bytes | None:
        if not self.store.has_release:
            return None
        name = f"{version}.{role}.json" if version is not None else f"{role}.json"
        try:
            return self.store.read_metadata(name)
        except FileNotFoundError:
            return None

    def latest(self, role: str) -> bytes | None:
        held = self.store.release
        if held is None:
            return None
        if role == Snapshot.type:
            return self.metadata(role, held.version)
        return self.metadata(role, None) if role == Timestamp.type else None

    def object(self, by_hash: str) -> bytes | None:
        try:
            return self.store.read(by_hash)
        except FileNotFoundError:
            return None

    def keep(self, role: str, version: int | None, data: bytes) -> None:
        return None  # the store keeps a release only when it commits it whole


def _entries(resolved: Mapping[str, TargetFile]) -> list[TargetEntry]:
    entries: list[TargetEntry] = []
    for path, info in sorted(resolved.items()):
        sha = info.hashes.get("sha256")
        if sha is None:
            raise TamperedError(f"{path} is signed without a sha256 hash", where=path)
        entries.append(TargetEntry(path, sha, info.length))
    return entries


def _fetch_objects(
    workflow: ClientWorkflow,
    store: Store,
    resolved: Mapping[str, TargetFile],
    entries: list[TargetEntry],
    *,
    staged: bool,
    workers: int,
    progress: Progress | None,
) -> int:
    """§5.7: fetch each missing object by hash and verify it; store it (or, staged, only
    verify all first and store afterwards, so a failure writes nothing)."""
    missing = [e for e in entries if not store.has_object(e)]

    def get(entry: TargetEntry) -> tuple[TargetEntry, bytes]:
        data = workflow.fetch_target(entry.path, resolved[entry.path])
        if not staged:
            store.put_object(entry, data)
        return entry, data

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for done, (entry, data) in enumerate(pool.map(get, missing), 1):
            report(progress, "downloading", done, len(missing), entry.path)
            del data
    if staged:
        for entry in missing:
            store.put_object(entry, get(entry)[1])
    return len(missing)


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
    sub = store.subscription
    workflow = ClientWorkflow(
        PoolFetcher(pool),
        now=now,
        fingerprint=sub.fingerprint,
        seen=store.seen,
        limits=limits,
        copy=StoreCopy(store),
    )
    workflow.refresh(quorum)
    loaded = workflow.load_all_roles()
    policy = loaded.policy
    resolved = policy.delegations.resolved_targets()
    entries = _entries(resolved)
    log: PublicationLog | None = None
    if LOG_JSON in resolved:
        log = workflow.check_log(workflow.fetch_target(LOG_JSON, resolved[LOG_JSON]))
    new_objects = _fetch_objects(
        workflow, store, resolved, entries, staged=staged, workers=workers, progress=progress
    )
    previous = store.release
    changed = previous is None or previous.timestamp_version != policy.timestamp.version
    entry = release_entry(log, loaded)
    published = entry.moment if entry else None
    remembered = policy.seen_after()
    if log is not None and log.entries:
        remembered = replace(remembered, log_head=log.head)
    info = ReleaseInfo(
        version=policy.snapshot.version,
        timestamp_version=policy.timestamp.version,
        fingerprint=loaded.fingerprint,
        published=published.isoformat() if published else None,
        expires=policy.expires.isoformat(),
        stale=policy.stale,
        verified_at=now.isoformat(),
        source=workflow.timestamp_source or "",
    )
    if changed:
        store.commit(workflow.metadata, entries, info, remembered)
    if sub.fingerprint is None:
        store.save_subscription(replace(sub, fingerprint=loaded.fingerprint))
    _learn_mirrors(store, entries)
    return SyncReport(
        name=sub.name,
        outcome="stale" if policy.stale else "current",
        version=info.version,
        published=info.published,
        expires=info.expires,
        fingerprint=loaded.fingerprint,
        changed=changed,
        fetched_files=pool.fetched_files,
        fetched_bytes=pool.fetched_bytes,
        new_objects=new_objects,
        source=workflow.timestamp_source,
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
