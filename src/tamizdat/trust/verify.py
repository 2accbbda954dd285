"""Verify a whole release from an untrusted source: the orchestrator around TrustPolicy.

Invariant: :func:`verify_release` returns only for an *authentic* release (outcome
``current`` or ``stale``) and raises an :class:`~tamizdat.errors.UntrustedContentError`
subclass for anything else; only then is the seen-versions store updated. The wrapper
:func:`verify_release_report` turns those errors into a report with outcome ``rollback``,
``tampered`` or ``not-this-publisher`` (transport errors still raise: a mirror that does not
answer says nothing about authenticity). Every fetch is capped: metadata by
:class:`~tamizdat.trust.policy.Limits`, targets by their signed length.

The steps, in order, are written down in docs/verification-policy.md.
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from tuf.api.metadata import Root, TargetFile, Targets

from tamizdat.errors import (
    LogForkError,
    MirrorResponseError,
    MixAndMatchError,
    NotThisPublisherError,
    OversizeError,
    RollbackError,
    TamperedError,
    UntrustedContentError,
)
from tamizdat.layout import LOG_JSON, by_hash_path, metadata_path
from tamizdat.progress import Progress, report
from tamizdat.trust.fingerprint import normalize_fingerprint, root_fingerprint
from tamizdat.trust.log import PublicationLog, check_extends, parse_log, path_history
from tamizdat.trust.policy import Limits, SeenVersions, TrustPolicy
from tamizdat.trust.sources import HttpSource, MissingFileError, Source
from tamizdat.trust.state import SeenStore

__all__ = [
    "Check",
    "Outcome",
    "PageReport",
    "VerifyReport",
    "find_page",
    "load_release",
    "verify_release",
    "verify_release_report",
]

logger = logging.getLogger(__name__)

Outcome = Literal["current", "stale", "rollback", "tampered", "not-this-publisher"]
Check = Literal["all", "sample", "metadata"]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The answer for one source. ``problem``/``where`` are set for the refusing outcomes."""

    outcome: Outcome
    source: str
    version: int
    timestamp_version: int
    published: datetime | None
    expires: datetime | None
    files_checked: int
    problem: str | None = None
    where: str | None = None
    log_head: tuple[int, str] | None = None
    stale_roles: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("published", "expires"):
            data[key] = data[key].isoformat() if data[key] else None
        data["log_head"] = list(self.log_head) if self.log_head else None
        data["stale_roles"] = list(self.stale_roles)
        return data


@dataclass(frozen=True, slots=True)
class LoadedRelease:
    """A release whose metadata verified: the policy holds every reachable targets role."""

    policy: TrustPolicy
    fingerprint: str
    snapshot_bytes: bytes


def _where(source: Source, path: str) -> str:
    return f"{source.name}: {path}"


def _fetch_meta(source: Source, role: str, version: int | None, cap: int) -> tuple[str, bytes]:
    # Role names are path segments in our layout; check_relative in the source refuses "..".
    path = metadata_path(role, version)
    return path, source.fetch(path, cap)


def _is_missing(source: Source, exc: MirrorResponseError) -> bool:
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
            where=_where(source, path),
            hint="this copy was signed by someone else (or the fingerprint was mistyped)",
        )
    policy = TrustPolicy(first, **policy_args)
    while True:
        version = policy.root.version + 1
        try:
            path, data = _fetch_meta(source, Root.type, version, limits.root_max_bytes)
        except MirrorResponseError as exc:
            if _is_missing(source, exc):
                return policy
            raise
        if policy.root_rotations >= limits.max_root_rotations:
            raise OversizeError(
                f"expected at most {limits.max_root_rotations} root rotations, found more",
                where=_where(source, path),
            )
        policy.update_root(data, where=_where(source, path))


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
        policy.update_delegated_targets(data, role, delegator, where=_where(source, path))
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
    policy.update_timestamp(data, where=_where(source, path))
    meta = policy.timestamp.snapshot_meta
    version = meta.version if policy.root.consistent_snapshot else None
    cap = min(meta.length or limits.snapshot_max_bytes, limits.snapshot_max_bytes)
    path, snapshot_bytes = _fetch_meta(source, "snapshot", version, cap)
    policy.update_snapshot(snapshot_bytes, where=_where(source, path))
    _load_targets_tree(source, policy, limits)
    for role, targets in policy.loaded_roles.items():
        for target_path in targets.targets:
            if not policy.authorized(role, target_path):
                policy.check_authorized(target_path)
    return LoadedRelease(policy, fingerprint, snapshot_bytes)


def _all_targets(policy: TrustPolicy) -> dict[str, TargetFile]:
    """Every signed path, resolved as a client would (most trusted role first)."""
    paths = sorted({p for t in policy.loaded_roles.values() for p in t.targets})
    resolved: dict[str, TargetFile] = {}
    for path in paths:
        found = policy.resolve_target(path)
        if found is not None:
            resolved[path] = found[1]
    return resolved


def _check_file(
    source: Source, policy: TrustPolicy, path: str, info: TargetFile, natural: bool
) -> bytes:
    """§5.7: the by-hash object (and the natural-path copy) equal the signed file."""
    sha = info.hashes.get("sha256")
    if sha is None:
        raise TamperedError(f"{path} is signed without a sha256 hash", where=source.name)
    data = b""
    locations = [by_hash_path(path, sha)] + ([path] if natural else [])
    for location in locations:
        try:
            data = source.fetch(location, info.length)
        except MirrorResponseError as exc:
            if not _is_missing(source, exc):
                raise
            raise TamperedError(
                f"{path}: the signed file is missing from the source",
                where=_where(source, location),
            ) from None
        except OversizeError:
            raise OversizeError(
                f"{path}: expected the signed {info.length} bytes, found more (endless data)",
                where=_where(source, location),
            ) from None
        try:
            policy.verify_target(path, data)
        except TamperedError as exc:
            raise TamperedError(exc.message, where=_where(source, location)) from None
    return data


def _check_log(
    source: Source, log_bytes: bytes, loaded: LoadedRelease, seen: SeenVersions
) -> PublicationLog:
    """The log extends the head seen before and names this very snapshot."""
    where = _where(source, LOG_JSON)
    log = parse_log(log_bytes, where)
    if seen.log_head is not None:
        index, entry_hash = seen.log_head
        if log.head[0] < index:
            raise RollbackError(
                f"expected a publication log of at least {index + 1} entries (seen on this "
                f"machine), found {len(log.entries)}",
                where=where,
            )
        check_extends(log, index, entry_hash, where)
    snapshot = loaded.policy.snapshot
    digest = hashlib.sha256(loaded.snapshot_bytes).hexdigest()
    for entry in log.entries:
        if entry.version > snapshot.version:
            raise MixAndMatchError(
                f"expected a log ending at release {snapshot.version} or before, found "
                f"release {entry.version}",
                where=where,
            )
        if entry.version == snapshot.version and entry.snapshot_sha256 != digest:
            raise LogForkError(
                f"expected log entry {entry.index} to name snapshot sha256 {digest}, found "
                f"{entry.snapshot_sha256}",
                where=where,
            )
    return log


def _pick(targets: dict[str, TargetFile], check: Check, size: int, seed: int | None) -> list[str]:
    paths = sorted(targets)
    if check == "metadata":
        return [p for p in paths if p == LOG_JSON]
    if check == "sample" and len(paths) > size:
        chosen = set(random.Random(seed).sample(paths, size))
        chosen.update(p for p in paths if p == LOG_JSON)
        return sorted(chosen)
    return paths


def verify_release(
    source: Source,
    *,
    fingerprint: str,
    seen: SeenStore | None = None,
    check: Check = "all",
    sample_size: int = 50,
    now: datetime | None = None,
    limits: Limits | None = None,
    natural: bool | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Verify the release at ``source`` against the pinned ``fingerprint``.

    ``natural`` checks the natural-path copy of each file too (default: for every source but
    HTTP mirrors). ``seen`` is read before and updated after a successful verification.

    Raises:
        NotThisPublisherError, BadSignatureError, RollbackError, TamperedError,
        MixAndMatchError, OversizeError, UnauthorizedPathError, LogForkError: not authentic.
        TransportError: the source failed. UserError: bad fingerprint or state store.
    """
    fingerprint = normalize_fingerprint(fingerprint)
    previous = seen.load(fingerprint) if seen else SeenVersions()
    loaded = load_release(source, fingerprint=fingerprint, seen=previous, now=now, limits=limits)
    policy = loaded.policy
    targets = _all_targets(policy)
    natural = not isinstance(source, HttpSource) if natural is None else natural
    chosen = _pick(targets, check, sample_size, seed)
    log: PublicationLog | None = None
    for done, path in enumerate(chosen, 1):
        data = _check_file(source, policy, path, targets[path], natural)
        if path == LOG_JSON:
            log = _check_log(source, data, loaded, previous)
        report(progress, "verifying", done, len(chosen), path)
    head = log.head if log and log.entries else None
    remembered = policy.seen_after()
    if head is not None:
        remembered = SeenVersions(**{**_fields(remembered), "log_head": head})
    if seen is not None:
        seen.save(fingerprint, remembered)
    published = log.entries[-1].moment if log and log.entries else policy.published
    return VerifyReport(
        outcome="stale" if policy.stale else "current",
        source=source.name,
        version=policy.snapshot.version,
        timestamp_version=policy.timestamp.version,
        published=published,
        expires=policy.expires,
        files_checked=len(chosen),
        log_head=head,
        stale_roles=tuple(sorted(policy.stale_roles)),
    )


def _fields(seen: SeenVersions) -> dict[str, Any]:
    return {name: getattr(seen, name) for name in SeenVersions.__dataclass_fields__}


def outcome_of(error: UntrustedContentError) -> Outcome:
    """The report outcome for a refusing error."""
    if isinstance(error, NotThisPublisherError):
        return "not-this-publisher"
    if isinstance(error, RollbackError | LogForkError):
        return "rollback"
    return "tampered"


def verify_release_report(source: Source, **kwargs: Any) -> VerifyReport:
    """:func:`verify_release`, with refusals as a report instead of an exception.

    Raises:
        TransportError: the source did not answer. UserError: bad fingerprint or state.
    """
    try:
        return verify_release(source, **kwargs)
    except UntrustedContentError as error:
        logger.info("refused %s: %s", source.name, error)
        return VerifyReport(
            outcome=outcome_of(error),
            source=source.name,
            version=0,
            timestamp_version=0,
            published=None,
            expires=None,
            files_checked=0,
            problem=error.message,
            where=error.where,
        )


@dataclass(frozen=True, slots=True)
class PageReport:
    """Is this page byte-for-byte one the publisher signed? ``paths`` is empty if not.

    ``first_seen`` maps each matching path to the release (and time) where this content
    appeared: its last "added" or "changed" entry in the publication log.
    """

    signed: bool
    source: str
    release: int
    stale: bool
    sha256: str
    length: int
    paths: tuple[str, ...]
    first_seen: dict[str, tuple[int, str]]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["paths"] = list(self.paths)
        data["first_seen"] = {p: {"release": v, "time": t} for p, (v, t) in self.first_seen.items()}
        return data


def find_page(
    source: Source,
    page: bytes,
    *,
    fingerprint: str,
    seen: SeenStore | None = None,
    now: datetime | None = None,
    limits: Limits | None = None,
) -> PageReport:
    """Search the verified release at ``source`` for a file equal to ``page`` (sha256, length).

    ``seen`` is only read (rollback protection), never updated.

    Raises:
        As :func:`load_release` for a release that is not authentic; TransportError.
    """
    fingerprint = normalize_fingerprint(fingerprint)
    previous = seen.load(fingerprint) if seen else SeenVersions()
    loaded = load_release(source, fingerprint=fingerprint, seen=previous, now=now, limits=limits)
    targets = _all_targets(loaded.policy)
    digest = hashlib.sha256(page).hexdigest()
    paths = tuple(
        p
        for p, info in targets.items()
        if info.length == len(page) and info.hashes.get("sha256") == digest
    )
    first_seen: dict[str, tuple[int, str]] = {}
    if paths and LOG_JSON in targets:
        log_bytes = _check_file(source, loaded.policy, LOG_JSON, targets[LOG_JSON], natural=False)
        log = _check_log(source, log_bytes, loaded, previous)
        for path in paths:
            events = [e for e in path_history(log, path) if e.kind != "removed"]
            if events:
                first_seen[path] = (events[-1].version, events[-1].time)
    return PageReport(
        signed=bool(paths),
        source=source.name,
        release=loaded.policy.snapshot.version,
        stale=loaded.policy.stale,
        sha256=digest,
        length=len(page),
        paths=paths,
        first_seen=first_seen,
    )
