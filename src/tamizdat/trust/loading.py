"""Fetch and verify a release's metadata, its files and its log from an untrusted source.

Invariant: every byte comes from the source through a capped fetch (metadata by
:class:`~tamizdat.trust.policy.Limits`, targets by their signed length) and is handed to the
:class:`~tamizdat.trust.policy.TrustPolicy`, which alone decides what it is worth; a
:class:`LoadedRelease` exists only for metadata that verified completely (every reachable
targets role loaded, every listed path authorised). Errors name the source and the path.

The release's publication time is the ``time`` of the publication-log entry for exactly
this snapshot version, whose ``snapshot_sha256`` names the snapshot's bytes
(:func:`release_entry`). The log head is a signed target, the head entry is fetched by the
hash the head names, and the entry is bound to the snapshot the timestamp signed, so the
time cannot be changed without the publisher's keys, nor borrowed from another release.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from tuf.api.metadata import Root, TargetFile, Targets

from tamizdat.errors import (
    LogForkError,
    MirrorResponseError,
    MixAndMatchError,
    NotThisPublisherError,
    OversizeError,
    RollbackError,
    TamperedError,
)
from tamizdat.layout import LOG_JSON, by_hash_path, metadata_path
from tamizdat.trust.checks import sha256_hex
from tamizdat.trust.fingerprint import normalize_fingerprint, root_fingerprint
from tamizdat.trust.log import (
    LogEntry,
    LogLimits,
    PublicationLog,
    check_extends,
    fetch_chain,
    parse_head,
)
from tamizdat.trust.policy import Limits, SeenVersions, TrustPolicy
from tamizdat.trust.sources import HttpSource, MissingFileError, SharingSource, Source

__all__ = [
    "LoadedRelease",
    "all_targets",
    "check_file",
    "check_log",
    "check_log_with",
    "is_missing",
    "load_release",
    "release_entry",
    "where_in",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoadedRelease:
    """A release whose metadata verified: the policy holds every reachable targets role."""

    policy: TrustPolicy
    fingerprint: str
    snapshot_bytes: bytes


def where_in(source: Source, path: str) -> str:
    """``source: path``, the ``where`` of every error about a file of ``source``."""
    return f"{source.name}: {path}"


def _fetch_meta(source: Source, role: str, version: int | None, cap: int) -> tuple[str, bytes]:
    # Role names are path segments in our layout; check_relative in the source refuses "..".
    path = metadata_path(role, version)
    return path, source.fetch(path, cap)


def is_missing(source: Source, exc: MirrorResponseError) -> bool:
    """Whether ``exc`` means "no such file" rather than a failing source."""
    # Other sources (bundles) report a missing member as a plain MirrorResponseError; only
    # an HTTP mirror can fail with a status that is not "not found".
    return isinstance(exc, MissingFileError) or not isinstance(source, HttpSource)


def _load_roots(source: Source, fingerprint: str, policy_args: dict[str, Any]) -> TrustPolicy:
    """§5.2–5.3: the pinned first root, then N+1, N+2 … until the source has no more."""
    limits: Limits = policy_args["limits"]
    path, first = _fetch_meta(source, Root.type, 1, limits.root_max_bytes)
    found = root_fingerprint(first)
    if found != fingerprint:
        raise NotThisPublisherError(
            f"expected the root with fingerprint {fingerprint}, found {found}",
            where=where_in(source, path),
            hint="this copy was signed by someone else (or the fingerprint was mistyped)",
        )
    policy = TrustPolicy(first, **policy_args)
    while True:
        version = policy.root.version + 1
        try:
            path, data = _fetch_meta(source, Root.type, version, limits.root_max_bytes)
        except MirrorResponseError as exc:
            if is_missing(source, exc):
                return policy
            raise
        if policy.root_rotations >= limits.max_root_rotations:
            raise OversizeError(
                f"expected at most {limits.max_root_rotations} root rotations, found more",
                where=where_in(source, path),
            )
        policy.update_root(data, where=where_in(source, path))


def _load_targets_tree(source: Source, policy: TrustPolicy, limits: Limits) -> None:
    """§5.6: every targets role reachable from the top-level targets, breadth first."""
    queue: list[tuple[str, str]] = [(Targets.type, Root.type)]
    seen: set[str] = set()
    while queue:
        role, delegator = queue.pop(0)
        if role in seen:
            continue
        if len(seen) >= limits.max_delegations:
            raise OversizeError(
                f"expected at most {limits.max_delegations} targets roles, found more",
                where=source.name,
            )
        seen.add(role)
        meta = policy.snapshot.meta.get(f"{role}.json")
        version = meta.version if meta and policy.root.consistent_snapshot else None
        cap = meta.length if meta and meta.length else limits.targets_max_bytes
        path, data = _fetch_meta(source, role, version, min(cap, limits.targets_max_bytes))
        policy.update_delegated_targets(data, role, delegator, where=where_in(source, path))
        queue.extend((child, role) for child, _ in policy.children(role))


def load_release(
    source: Source,
    *,
    fingerprint: str,
    seen: SeenVersions | None = None,
    now: datetime | None = None,
    limits: Limits | None = None,
) -> LoadedRelease:
    """Fetch and verify all metadata of the release ``source`` serves (no target bytes).

    Raises:
        NotThisPublisherError, BadSignatureError, RollbackError, MixAndMatchError,
        TamperedError, OversizeError, UnauthorizedPathError; TransportError from the source.
    """
    limits = limits or Limits()
    fingerprint = normalize_fingerprint(fingerprint)
    policy_args: dict[str, Any] = {
        "now": now or datetime.now(UTC),
        "allow_stale": True,
        "seen": seen,
        "limits": limits,
    }
    policy = _load_roots(source, fingerprint, policy_args)
    path, data = _fetch_meta(source, "timestamp", None, limits.timestamp_max_bytes)
    policy.update_timestamp(data, where=where_in(source, path))
    meta = policy.timestamp.snapshot_meta
    version = meta.version if policy.root.consistent_snapshot else None
    cap = min(meta.length or limits.snapshot_max_bytes, limits.snapshot_max_bytes)
    path, snapshot_bytes = _fetch_meta(source, "snapshot", version, cap)
    policy.update_snapshot(snapshot_bytes, where=where_in(source, path))
    _load_targets_tree(source, policy, limits)
    policy.delegations.check_all_authorized()
    return LoadedRelease(policy, fingerprint, snapshot_bytes)


def all_targets(policy: TrustPolicy) -> dict[str, TargetFile]:
    """Every signed path, resolved as a client would (most trusted role first)."""
    return policy.delegations.resolved_targets()


def check_file(
    source: Source, policy: TrustPolicy, path: str, info: TargetFile, natural: bool
) -> bytes:
    """§5.7: the by-hash object (and the natural-path copy) equal the signed file.

    Raises:
        TamperedError: missing, or length/hash differ (names the location and source).
        OversizeError: more than the signed length. TransportError: the source failed.
    """
    sha = info.hashes.get("sha256")
    if sha is None:
        raise TamperedError(f"{path} is signed without a sha256 hash", where=source.name)
    data = b""
    for location in _locations(source, path, sha, natural):
        try:
            data = source.fetch(location, info.length)
        except MirrorResponseError as exc:
            if not is_missing(source, exc):
                raise
            raise TamperedError(
                f"{path}: the signed file is missing from the source",
                where=where_in(source, location),
            ) from None
        except OversizeError:
            raise OversizeError(
                f"{path}: expected the signed {info.length} bytes, found more (endless data)",
                where=where_in(source, location),
            ) from None
        try:
            policy.verify_target(path, data)
        except TamperedError as exc:
            raise TamperedError(exc.message, where=where_in(source, location)) from None
    return data


_SHARING: dict[type, bool] = {}


def _sharing(source: Source) -> SharingSource | None:
    # A runtime Protocol check costs ~50 µs: once per type, not once per file.
    kind = type(source)
    if kind not in _SHARING:
        _SHARING[kind] = isinstance(source, SharingSource)
    return cast(SharingSource, source) if _SHARING[kind] else None


def _locations(source: Source, path: str, sha: str, natural: bool) -> list[str]:
    """The by-hash path, and the natural path unless the source serves both from one file."""
    by_hash = by_hash_path(path, sha)
    if not natural:
        return [by_hash]
    sharing = _sharing(source)
    if sharing is not None:
        stored = sharing.stored_as(by_hash)
        if stored is not None and stored == sharing.stored_as(path):
            return [by_hash]
    return [by_hash, path]


def check_log(
    source: Source,
    head_bytes: bytes,
    loaded: LoadedRelease,
    seen: SeenVersions,
    *,
    history: bool = False,
    limits: LogLimits | None = None,
) -> PublicationLog:
    """The log extends the head seen before and its head entry names this very snapshot.

    ``head_bytes`` is the verified ``log.json``; entries are fetched from ``source`` by hash
    (only those after the head seen before, or the whole log with lists for ``history``).

    Raises:
        RollbackError: shorter than the log seen before. LogForkError: history rewritten,
        or this release's entry names other snapshot bytes. MixAndMatchError: an entry
        for a release newer than this snapshot. TamperedError: not a log, or an entry is
        missing or altered. OversizeError; TransportError from the source.
    """

    def fetch(path: str, cap: int) -> bytes:
        try:
            return source.fetch(path, cap)
        except MirrorResponseError as exc:
            if not is_missing(source, exc):
                raise
            raise TamperedError(
                "expected this publication-log file, found none", where=where_in(source, path)
            ) from None

    where = where_in(source, LOG_JSON)
    return check_log_with(
        head_bytes, fetch, where, loaded, seen, history=history, limits=limits, source=source.name
    )


def check_log_with(
    head_bytes: bytes,
    fetch: Callable[[str, int], bytes],
    where: str,
    loaded: LoadedRelease,
    seen: SeenVersions,
    *,
    history: bool = False,
    limits: LogLimits | None = None,
    source: str = "",
) -> PublicationLog:
    """:func:`check_log` with entries from ``fetch(by_hash_path, max_bytes)`` (e.g. a store
    first, then mirrors); ``where`` names the head.

    Only entries after the seen head are fetched (at least the head entry, for the
    publication time): a reader one release behind fetches one small file.

    Raises:
        As :func:`check_log`.
    """
    head = parse_head(head_bytes, where)
    floor = seen.log_head
    if floor is not None and head.index < floor[0]:
        raise RollbackError(
            f"expected a publication log of at least {floor[0] + 1} entries (seen on this "
            f"machine), found {head.index + 1}",
            where=where,
        )
    first = 0 if history or floor is None else floor[0] + 1
    if floor is None and not history:
        first = head.index
    chain = fetch_chain(
        head, fetch, first=first, where=where, with_lists=history, limits=limits, source=source
    )
    if floor is not None:
        check_extends(chain, floor[0], floor[1], where)
    if chain.entries:
        _check_head_entry(chain.entries[-1], loaded, where)
    return chain


def _check_head_entry(entry: LogEntry, loaded: LoadedRelease, where: str) -> None:
    """Versions increase along the chain, so checking the head entry covers every entry."""
    snapshot = loaded.policy.snapshot
    if entry.version > snapshot.version:
        raise MixAndMatchError(
            f"expected a log ending at release {snapshot.version} or before, found "
            f"release {entry.version}",
            where=where,
        )
    digest = sha256_hex(loaded.snapshot_bytes)
    if entry.version == snapshot.version and entry.snapshot_sha256 != digest:
        raise LogForkError(
            f"expected log entry {entry.index} to name snapshot sha256 {digest}, found "
            f"{entry.snapshot_sha256}",
            where=where,
        )


def release_entry(log: PublicationLog | None, loaded: LoadedRelease) -> LogEntry | None:
    """The log entry of exactly this release (checked by :func:`check_log`), or None.

    Its ``moment`` is the release's signing time (module docstring). None when the log has
    no entry for this snapshot version: the time is then unknown, never borrowed from an
    older entry.
    """
    if log is None:
        return None
    version = loaded.policy.snapshot.version
    digest = sha256_hex(loaded.snapshot_bytes)
    for entry in reversed(log.entries):
        if entry.version == version and entry.snapshot_sha256 == digest:
            return entry
    logger.info("the publication log has no entry for release %d", version)
    return None
