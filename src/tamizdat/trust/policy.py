"""The verification policy: TUF's client workflow over bytes, with expiry as a label.

Invariant: nothing leaves this module as trusted unless it chains, through threshold
signatures, to the pinned root (TUF spec §5.3–5.7). The class does no I/O: it takes bytes,
returns verified objects or raises an :class:`~tamizdat.errors.UntrustedContentError`, and
enforces the load order root → timestamp → snapshot → targets → delegated targets.

Where we differ from python-tuf's ``TrustedMetadataSet`` (the model) is freshness. With
``allow_stale=True`` (readers) an expired role is recorded in :attr:`TrustPolicy.stale_roles`
instead of raising, so a frozen mirror or an old USB copy is shown as "authentic but stale".
With ``allow_stale=False`` (the conformance client) expiry raises exactly as the spec says.
Rollback is refused in both modes, against what was trusted earlier in this run *and*
against the versions this machine saw before (:class:`SeenVersions`).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tuf.api.exceptions import LengthOrHashMismatchError
from tuf.api.metadata import (
    DelegatedRole,
    Metadata,
    MetaFile,
    Root,
    Signed,
    Snapshot,
    SuccinctRoles,
    T,
    TargetFile,
    Targets,
    Timestamp,
)

from tamizdat.errors import (
    BadSignatureError,
    ExpiredMetadataError,
    InternalError,
    MixAndMatchError,
    RollbackError,
    TamperedError,
    UnauthorizedPathError,
)

__all__ = ["Limits", "SeenVersions", "TrustPolicy"]

logger = logging.getLogger(__name__)

_KiB = 1024
_MiB = 1024 * _KiB
RoleLoader = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class Limits:
    """Hard limits against endless data and endless chains, enforced while fetching."""

    root_max_bytes: int = 512 * _KiB
    timestamp_max_bytes: int = 16 * _KiB
    snapshot_max_bytes: int = 8 * _MiB
    targets_max_bytes: int = 32 * _MiB
    max_root_rotations: int = 32
    max_delegations: int = 4096


@dataclass(frozen=True, slots=True)
class SeenVersions:
    """The highest versions this machine accepted for one publisher (rollback protection).

    ``roles`` maps a targets role name to the version the snapshot listed for it; the key
    ids let a key rotation reset timestamp/snapshot versions (fast-forward recovery §5.3.11).
    """

    root: int = 0
    timestamp: int = 0
    snapshot: int = 0
    roles: Mapping[str, int] = field(default_factory=dict)
    timestamp_keys: frozenset[str] = frozenset()
    snapshot_keys: frozenset[str] = frozenset()
    log_head: tuple[int, str] | None = None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _parse(data: bytes, kind: type[T], where: str) -> Metadata[T]:
    """Deserialise metadata of type ``kind``; anything malformed is tampering."""
    try:
        md: Metadata[Any] = Metadata.from_bytes(data)
    except Exception as exc:  # securesystemslib/tuf raise several unrelated types here
        raise TamperedError(
            f"expected {kind.type} metadata, found unreadable data ({exc})", where=where
        ) from None
    if md.signed.type != kind.type:
        raise TamperedError(f"expected {kind.type} metadata, found {md.signed.type}", where=where)
    return md


def _verify(delegator: Root | Targets, role: str, md: Metadata[Any], where: str) -> None:
    """Threshold of valid signatures by keys ``delegator`` authorises for ``role`` (§5.3.4)."""
    try:
        result = delegator.get_verification_result(role, md.signed_bytes, md.signatures)
    except ValueError:
        raise BadSignatureError(
            f"{role!r} is not a role that {delegator.type} delegates to", where=where
        ) from None
    if result:
        return
    keyids = set(delegator.get_delegated_role(role).keyids)
    strangers = len(set(md.signatures) - keyids)
    extra = f", plus {strangers} by keys not authorised for {role}" if strangers else ""
    raise BadSignatureError(
        f"expected valid signatures by {result.threshold} of the keys authorised for "
        f"{role}, found {len(result.signed)}{extra}",
        where=where,
        hint="a key may have been revoked, or the file was signed by someone else",
    )


def _covers(delegated: DelegatedRole | SuccinctRoles, role: str, path: str) -> bool:
    """Whether this delegation to ``role`` includes ``path`` (hash bins: its own bin only)."""
    if isinstance(delegated, SuccinctRoles):
        return delegated.get_role_for_target(path) == role
    return delegated.is_delegated_path(path)


class TrustPolicy:
    """Verified TUF metadata for one release, loaded in order; raises on anything untrusted."""

    def __init__(
        self,
        trusted_root: bytes,
        *,
        now: datetime,
        allow_stale: bool = True,
        seen: SeenVersions | None = None,
        limits: Limits | None = None,
    ) -> None:
        """Load the pinned root (self-signed, threshold checked; §5.2).

        Raises:
            TamperedError: not root metadata. BadSignatureError: below its own threshold.
        """
        self.now = now
        self.allow_stale = allow_stale
        self.limits = limits or Limits()
        self._seen = seen or SeenVersions()
        md = _parse(trusted_root, Root, "trusted root")
        _verify(md.signed, Root.type, md, "trusted root")
        self.root: Root = md.signed
        self.root_rotations = 0
        self._root_final = False
        self._timestamp: Timestamp | None = None
        self._snapshot: Snapshot | None = None
        self._targets: dict[str, Targets] = {}
        self._parents: dict[str, list[tuple[str, DelegatedRole | SuccinctRoles]]] = {}
        self._stale: dict[str, datetime] = {}

    # --- freshness ------------------------------------------------------------------------

    @property
    def stale(self) -> bool:
        """True when any loaded role has expired (only possible with ``allow_stale``)."""
        return bool(self._stale)

    @property
    def stale_roles(self) -> dict[str, datetime]:
        """Expired roles and when each expired."""
        return dict(self._stale)

    @property
    def expires(self) -> datetime:
        """The earliest expiry among loaded metadata: when this release stops being current."""
        signed: list[Signed] = [self.root, *self._targets.values()]
        signed += [s for s in (self._timestamp, self._snapshot) if s is not None]
        return min(s.expires for s in signed)

    @property
    def published(self) -> datetime | None:
        """The signing time if the timestamp carries one (``x-tamizdat-published``), else None."""
        if self._timestamp is None:
            return None
        value = self._timestamp.unrecognized_fields.get("x-tamizdat-published")
        try:
            return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
        except ValueError:
            return None

    def _check_expiry(self, role: str, signed: Signed, where: str) -> None:
        self._stale.pop(role, None)
        if not signed.is_expired(self.now):
            return
        if not self.allow_stale:
            raise ExpiredMetadataError(
                f"{role} expired {signed.expires:%Y-%m-%d %H:%M} UTC", where=where
            )
        logger.info("%s expired %s: labelled stale", role, signed.expires)
        self._stale[role] = signed.expires

    # --- root (§5.3) ----------------------------------------------------------------------

    def update_root(self, data: bytes, *, where: str | None = None) -> None:
        """Accept root N+1: signed by a threshold of root N's keys and of its own (§5.3.4).

        Raises:
            RollbackError: an older version. TamperedError: not root N+1.
            BadSignatureError: below either threshold. InternalError: after the timestamp.
        """
        where = where or f"{self.root.version + 1}.root.json"
        if self._root_final:
            raise InternalError("root cannot be updated after the timestamp was loaded")
        md = _parse(data, Root, where)
        expected = self.root.version + 1
        if md.signed.version < expected:
            raise RollbackError(
                f"expected root version {expected}, found older version {md.signed.version}",
                where=where,
            )
        if md.signed.version != expected:
            raise TamperedError(
                f"expected root version {expected}, found {md.signed.version}", where=where
            )
        _verify(self.root, Root.type, md, where)
        _verify(md.signed, Root.type, md, where)
        self.root = md.signed
        self.root_rotations += 1

    def _finalize_root(self, where: str) -> None:
        """§5.3.10–5.3.11: the final root is not older than seen, nor expired; fast-forward.

        Marks the root final only once every check passed, so in strict mode an expired
        root keeps failing every later timestamp update.
        """
        if self.root.version < self._seen.root:
            raise RollbackError(
                f"expected root version {self._seen.root} or newer (seen on this machine), "
                f"found {self.root.version}",
                where=where,
            )
        self._check_expiry(Root.type, self.root, where)
        ts_keys = frozenset(self.root.roles[Timestamp.type].keyids)
        sn_keys = frozenset(self.root.roles[Snapshot.type].keyids)
        seen = self._seen
        rotated = (seen.timestamp_keys and seen.timestamp_keys != ts_keys) or (
            seen.snapshot_keys and seen.snapshot_keys != sn_keys
        )
        if rotated:
            # §5.3.11: keys rotated, so earlier versions may come from a compromise that the
            # publisher recovered from: forget them (fast-forward attack recovery).
            logger.info("timestamp/snapshot keys rotated: forgetting seen versions")
            self._seen = SeenVersions(root=seen.root, log_head=seen.log_head)
        self._root_final = True

    # --- timestamp (§5.4) -----------------------------------------------------------------

    @property
    def timestamp(self) -> Timestamp:
        if self._timestamp is None:
            raise InternalError("the timestamp is not loaded yet")
        return self._timestamp

    def update_timestamp(self, data: bytes, *, where: str = "timestamp.json") -> bool:
        """Accept a timestamp signed by root's timestamp keys, not older than before (§5.4).

        Returns False when it has the same version as the one already loaded (kept).

        Raises:
            BadSignatureError, TamperedError, RollbackError (timestamp or snapshot version),
            ExpiredMetadataError (strict mode: the root or this timestamp expired).
        """
        if self._snapshot is not None:
            raise InternalError("timestamp cannot be updated after the snapshot was loaded")
        if not self._root_final:
            self._finalize_root(where)
        md = _parse(data, Timestamp, where)
        _verify(self.root, Timestamp.type, md, where)
        new = md.signed
        floor_ts, floor_sn = self._seen.timestamp, self._seen.snapshot
        if self._timestamp is not None:
            if new.version == self._timestamp.version and new.version >= floor_ts:
                return False
            floor_ts = max(floor_ts, self._timestamp.version)
            floor_sn = max(floor_sn, self._timestamp.snapshot_meta.version)
        if new.version < floor_ts:
            raise RollbackError(
                f"expected timestamp version {floor_ts} or newer, found {new.version}",
                where=where,
                hint="this copy is older than one seen before; try another mirror",
            )
        if new.snapshot_meta.version < floor_sn:
            raise RollbackError(
                f"expected snapshot version {floor_sn} or newer, timestamp v{new.version} "
                f"names {new.snapshot_meta.version}",
                where=where,
            )
        self._timestamp = new
        self._check_expiry(Timestamp.type, new, where)
        return True

    # --- snapshot (§5.5) ------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise InternalError("the snapshot is not loaded yet")
        return self._snapshot

    def update_snapshot(
        self, data: bytes, *, where: str | None = None, trusted: bool = False
    ) -> None:
        """Accept the snapshot the timestamp names (hash, length, version; §5.5).

        ``trusted`` skips the hash check for bytes this policy verified before (a cache).

        Raises:
            TamperedError (hash/length), MixAndMatchError (another release's snapshot),
            BadSignatureError, RollbackError (snapshot or any role listed in it),
            ExpiredMetadataError (strict mode).
        """
        if self._targets:
            raise InternalError("snapshot cannot be updated after targets were loaded")
        meta = self.timestamp.snapshot_meta
        where = where or f"{meta.version}.snapshot.json"
        if not self.allow_stale:
            self._check_expiry(Timestamp.type, self.timestamp, "timestamp.json")
        if not trusted:
            self._check_meta(Snapshot, meta, data, where, f"timestamp v{self.timestamp.version}")
        md = _parse(data, Snapshot, where)
        _verify(self.root, Snapshot.type, md, where)
        new = md.signed
        self._check_snapshot_rollback(new, where)
        self._snapshot = new
        self._check_expiry(Snapshot.type, new, where)
        if new.version != meta.version:
            raise MixAndMatchError(
                f"expected snapshot version {meta.version} (named by timestamp "
                f"v{self.timestamp.version}), found {new.version}",
                where=where,
            )

    def _check_snapshot_rollback(self, new: Snapshot, where: str) -> None:
        if new.version < self._seen.snapshot:
            raise RollbackError(
                f"expected snapshot version {self._seen.snapshot} or newer, found {new.version}",
                where=where,
            )
        floors = {f"{name}.json": v for name, v in self._seen.roles.items()}
        if self._snapshot is not None:
            for name, info in self._snapshot.meta.items():
                if name not in new.meta:
                    raise RollbackError(f"{name} was removed from the snapshot", where=where)
                floors[name] = max(floors.get(name, 0), info.version)
        for name, floor in floors.items():
            listed = new.meta.get(name)
            if listed is not None and listed.version < floor:
                raise RollbackError(
                    f"expected {name} version {floor} or newer, snapshot v{new.version} "
                    f"names {listed.version}",
                    where=where,
                )

    def _check_meta(
        self, kind: type[Signed], meta: MetaFile, data: bytes, where: str, by: str
    ) -> None:
        """Length and hashes against the signed MetaFile; tell mix-and-match from tampering."""
        try:
            meta.verify_length_and_hashes(data)
        except LengthOrHashMismatchError:
            try:
                other = Metadata[Any].from_bytes(data).signed
            except Exception:
                other = None
            if other is not None and other.type == kind.type and other.version != meta.version:
                raise MixAndMatchError(
                    f"expected {kind.type} version {meta.version} (named by {by}), found "
                    f"version {other.version}: metadata of different releases combined",
                    where=where,
                ) from None
            raise TamperedError(
                f"expected {kind.type} metadata as signed by {by} "
                f"({meta.length or '?'} bytes, {meta.hashes or 'no hash'}), found "
                f"{len(data)} bytes with sha256 {_sha256(data)}",
                where=where,
            ) from None

    # --- targets and delegations (§5.6) ---------------------------------------------------

    def _check_final_snapshot(self) -> Snapshot:
        snap = self.snapshot
        if snap.version != self.timestamp.snapshot_meta.version:
            raise MixAndMatchError("the loaded snapshot is not the one the timestamp names")
        if not self.allow_stale:
            self._check_expiry(Snapshot.type, snap, f"{snap.version}.snapshot.json")
        return snap

    def update_delegated_targets(
        self, data: bytes, role: str, delegator: str, *, where: str | None = None
    ) -> Targets:
        """Accept targets ``role`` as listed in the snapshot and signed as ``delegator`` says.

        ``role="targets", delegator="root"`` loads the top-level targets (§5.6).

        Raises:
            MixAndMatchError (not in snapshot, other version), TamperedError,
            BadSignatureError (below threshold, or not delegated by ``delegator``),
            ExpiredMetadataError (strict mode).
        """
        snap = self._check_final_snapshot()
        parent: Root | Targets | None = (
            self.root if delegator == Root.type else self._targets.get(delegator)
        )
        if parent is None:
            raise InternalError(f"{role}: delegator {delegator} is not loaded yet")
        meta = snap.meta.get(f"{role}.json")
        where = where or (f"{meta.version}.{role}.json" if meta else f"{role}.json")
        if meta is None:
            raise MixAndMatchError(
                f"expected snapshot v{snap.version} to list {role}.json (delegated by "
                f"{delegator}), found no entry",
                where=where,
            )
        self._check_meta(Targets, meta, data, where, f"snapshot v{snap.version}")
        md = _parse(data, Targets, where)
        _verify(parent, role, md, where)
        new = md.signed
        if new.version != meta.version:
            raise MixAndMatchError(
                f"expected {role} version {meta.version} (named by snapshot "
                f"v{snap.version}), found {new.version}",
                where=where,
            )
        self._check_expiry(role, new, where)
        self._targets[role] = new
        if isinstance(parent, Targets):
            edges = self._parents.setdefault(role, [])
            edges.extend((delegator, d) for d in self._delegations_to(parent, role))
        return new

    @staticmethod
    def _delegations_to(parent: Targets, role: str) -> list[DelegatedRole | SuccinctRoles]:
        dele = parent.delegations
        if dele is None:
            return []
        if dele.roles is not None:
            return [dele.roles[role]] if role in dele.roles else []
        if dele.succinct_roles is not None and dele.succinct_roles.is_delegated_role(role):
            return [dele.succinct_roles]
        return []

    @property
    def loaded_roles(self) -> dict[str, Targets]:
        """Every verified targets role, by name."""
        return dict(self._targets)

    def children(self, role: str) -> list[tuple[str, bool]]:
        """Roles ``role`` delegates to, in order, with their terminating flag."""
        dele = self._targets[role].delegations
        if dele is None:
            return []
        if dele.roles is not None:
            return [(name, d.terminating) for name, d in dele.roles.items()]
        if dele.succinct_roles is not None:
            return [(name, True) for name in dele.succinct_roles.get_roles()]
        return []

    def authorized(self, role: str, path: str, _seen: frozenset[str] = frozenset()) -> bool:
        """Whether every delegation from top-level targets down to ``role`` covers ``path``.

        Path patterns match segment by segment: ``*`` never crosses ``/`` (§5.6.7.2).
        """
        if role == Targets.type:
            return True
        return any(
            parent not in _seen
            and _covers(delegated, role, path)
            and self.authorized(parent, path, _seen | {role})
            for parent, delegated in self._parents.get(role, [])
        )

    def resolve_target(
        self, path: str, load: RoleLoader | None = None
    ) -> tuple[str, TargetFile] | None:
        """Preorder depth-first search of the delegation tree for ``path`` (§5.6.7).

        ``load(role, delegator)`` is called for roles not loaded yet (the caller fetches and
        calls :meth:`update_delegated_targets`); without it, every role must be loaded.
        Returns the role and target info found in the most trusted role, or None.
        """
        stack: list[tuple[str, str]] = [(Targets.type, Root.type)]
        visited: set[str] = set()
        while stack and len(visited) <= self.limits.max_delegations:
            role, parent = stack.pop()
            if role in visited:
                continue
            if role not in self._targets:
                if load is None:
                    raise InternalError(f"role {role} is not loaded; cannot resolve {path}")
                load(role, parent)
            targets = self._targets[role]
            if path in targets.targets:
                return role, targets.targets[path]
            visited.add(role)
            if targets.delegations is None:
                continue
            children: list[tuple[str, str]] = []
            for child, terminating in targets.delegations.get_roles_for_target(path):
                children.append((child, role))
                if terminating:
                    stack = []
                    break
            stack.extend(reversed(children))
        return None

    def verify_target(self, path: str, data: bytes) -> TargetFile:
        """Check ``data`` is exactly the file the publisher signed at ``path`` (§5.7).

        Raises:
            UnauthorizedPathError: only a role not delegated ``path`` lists it.
            TamperedError: no role lists ``path``, or length/hash differ.
        """
        found = self.resolve_target(path)
        if found is None:
            self.check_authorized(path)
            raise TamperedError(f"{path} is not a file this publisher signed", where=path)
        role, info = found
        try:
            info.verify_length_and_hashes(data)
        except LengthOrHashMismatchError:
            raise TamperedError(
                f"{path} differs from the signed copy (role {role}): expected {info.length} "
                f"bytes with sha256 {info.hashes.get('sha256', '?')}, found {len(data)} bytes "
                f"with sha256 {_sha256(data)}",
                where=path,
            ) from None
        return info

    def check_authorized(self, path: str) -> None:
        """Raise if some loaded role lists ``path`` although it was not delegated ``path``.

        Raises:
            UnauthorizedPathError: names the role, the path and the patterns it may sign.
        """
        for role, targets in self._targets.items():
            if path in targets.targets and not self.authorized(role, path):
                patterns = sorted(
                    p
                    for _, d in self._parents.get(role, [])
                    for p in (getattr(d, "paths", None) or [])
                )
                raise UnauthorizedPathError(
                    f"role {role} signed {path}, outside the paths delegated to it "
                    f"({', '.join(patterns) or 'none'})",
                    where=f"{role}.json",
                    hint="a desk can only sign its own section",
                )

    def seen_after(self) -> SeenVersions:
        """What to remember after a successful verification (merged with what was seen)."""
        snap = self.snapshot
        roles = dict(self._seen.roles)
        for name, info in snap.meta.items():
            role = name.removesuffix(".json")
            roles[role] = max(roles.get(role, 0), info.version)
        return SeenVersions(
            root=max(self.root.version, self._seen.root),
            timestamp=max(self.timestamp.version, self._seen.timestamp),
            snapshot=max(snap.version, self._seen.snapshot),
            roles=roles,
            timestamp_keys=frozenset(self.root.roles[Timestamp.type].keyids),
            snapshot_keys=frozenset(self.root.roles[Snapshot.type].keyids),
            log_head=self._seen.log_head,
        )
