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
against the versions this machine saw before (:class:`SeenVersions`, with fast-forward
recovery, in :mod:`tamizdat.trust.verify.rollback`). Who may sign which path, and which entry
counts for a path, is :mod:`tamizdat.trust.verify.delegations`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tuf.api.exceptions import LengthOrHashMismatchError
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Signed,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)

from tamizdat.errors import (
    ExpiredMetadataError,
    InternalError,
    MixAndMatchError,
    OversizeError,
    RollbackError,
    TamperedError,
)
from tamizdat.trust.verify.checks import (
    check_meta_file,
    parse_metadata,
    sha256_hex,
    verify_signatures,
)
from tamizdat.trust.verify.delegations import DelegationTree, RoleLoader
from tamizdat.trust.verify.rollback import (
    RoleFloors,
    SeenVersions,
    check_snapshot_versions,
    forget_rotated,
)

__all__ = ["Limits", "RoleLoader", "SeenVersions", "TrustPolicy"]

logger = logging.getLogger(__name__)

_KiB = 1024
_MiB = 1024 * _KiB


@dataclass(frozen=True, slots=True)
class Limits:
    """Hard limits against endless data and endless chains, enforced while fetching.

    ``object_max_bytes`` caps reading a by-hash object that no signed metadata of this
    release references (its length is not signed), when a listable source is audited.
    ``max_root_rotations`` counts roots fetched from a source in one update (python-tuf's
    default); roots a local copy already verified do not count. ``max_delegation_edges``
    caps signature checks when many delegators list the same roles.
    """

    root_max_bytes: int = 512 * _KiB
    timestamp_max_bytes: int = 16 * _KiB
    snapshot_max_bytes: int = 8 * _MiB
    targets_max_bytes: int = 32 * _MiB
    max_root_rotations: int = 256
    max_delegations: int = 4096
    max_delegation_edges: int = 16384
    object_max_bytes: int = 512 * _MiB


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
        md = parse_metadata(trusted_root, Root, "trusted root")
        verify_signatures(md.signed, Root.type, md, "trusted root")
        self.root: Root = md.signed
        self.root_rotations = 0
        self._root_final = False
        self._timestamp: Timestamp | None = None
        self._snapshot: Snapshot | None = None
        self._tree = DelegationTree(self.limits.max_delegations)
        self._role_md: dict[str, Metadata[Targets]] = {}
        self._floors = RoleFloors(self._seen)
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
        signed: list[Signed] = [self.root, *self._tree.roles.values()]
        signed += [s for s in (self._timestamp, self._snapshot) if s is not None]
        return min(s.expires for s in signed)

    @property
    def published(self) -> datetime | None:
        """``x-tamizdat-published`` from the timestamp if present, else None.

        A hint only: the timestamp is re-signed between releases, so this is not the
        release's signing time. The verifier reports the time of the publication-log entry
        bound to this snapshot instead (see :mod:`tamizdat.trust.loading`).
        """
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
        md = parse_metadata(data, Root, where)
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
        verify_signatures(self.root, Root.type, md, where)
        verify_signatures(md.signed, Root.type, md, where)
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
        self._seen = forget_rotated(self._seen, self.root)
        self._floors = RoleFloors(self._seen)
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
        md = parse_metadata(data, Timestamp, where)
        verify_signatures(self.root, Timestamp.type, md, where)
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
        Role versions are checked against the snapshot trusted earlier in this run here;
        against the versions seen on this machine as each role loads (so a rotated
        delegating key can reset one role's floor, see :meth:`update_delegated_targets`).

        Raises:
            TamperedError (hash/length), MixAndMatchError (another release's snapshot),
            BadSignatureError, RollbackError (snapshot or any role listed in it),
            ExpiredMetadataError (strict mode).
        """
        if self._tree:
            raise InternalError("snapshot cannot be updated after targets were loaded")
        meta = self.timestamp.snapshot_meta
        where = where or f"{meta.version}.snapshot.json"
        if not self.allow_stale:
            self._check_expiry(Timestamp.type, self.timestamp, "timestamp.json")
        if not trusted:
            by = f"timestamp v{self.timestamp.version}"
            check_meta_file(Snapshot, meta, data, where, by)
        md = parse_metadata(data, Snapshot, where)
        verify_signatures(self.root, Snapshot.type, md, where)
        new = md.signed
        check_snapshot_versions(self._snapshot, new, self._seen.snapshot, where)
        self._snapshot = new
        self._check_expiry(Snapshot.type, new, where)
        if new.version != meta.version:
            raise MixAndMatchError(
                f"expected snapshot version {meta.version} (named by timestamp "
                f"v{self.timestamp.version}), found {new.version}",
                where=where,
            )

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
            RollbackError (older than seen on this machine, keys unchanged),
            ExpiredMetadataError (strict mode).
        """
        snap = self._check_final_snapshot()
        parent = self._delegator(role, delegator)
        if role in self._tree:
            raise InternalError(f"{role} is loaded already: trust another edge to it instead")
        meta = self.role_meta(role, delegator)
        where = where or f"{meta.version}.{role}.json"
        self._floors.check(role, meta, parent, snap.version, where)
        check_meta_file(Targets, meta, data, where, f"snapshot v{snap.version}")
        md = parse_metadata(data, Targets, where)
        verify_signatures(parent, role, md, where)
        new = md.signed
        if new.version != meta.version:
            raise MixAndMatchError(
                f"expected {role} version {meta.version} (named by snapshot "
                f"v{snap.version}), found {new.version}",
                where=where,
            )
        self._check_expiry(role, new, where)
        self._tree.add(role, new, delegator, parent)
        self._role_md[role] = md
        return new

    def _delegator(self, role: str, delegator: str) -> Root | Targets:
        parent: Root | Targets | None = (
            self.root if delegator == Root.type else self._tree.roles.get(delegator)
        )
        if parent is None:
            raise InternalError(f"{role}: delegator {delegator} is not loaded yet")
        return parent

    def role_meta(self, role: str, delegator: str) -> MetaFile:
        """The snapshot's entry for targets ``role`` (version, and length/hashes if signed).

        Raises:
            MixAndMatchError: the snapshot does not list the role ``delegator`` delegates to.
        """
        snap = self._check_final_snapshot()
        meta = snap.meta.get(f"{role}.json")
        if meta is None:
            raise MixAndMatchError(
                f"expected snapshot v{snap.version} to list {role}.json (delegated by "
                f"{delegator}), found no entry",
                where=f"{role}.json",
            )
        return meta

    def has_role(self, role: str) -> bool:
        """Whether targets ``role`` was verified (through at least one delegation edge)."""
        return role in self._tree

    def trust_delegation(self, role: str, delegator: str, *, where: str | None = None) -> None:
        """Trust the edge ``delegator`` → ``role`` for a role verified through another edge.

        A role listed by two delegators is verified against each (§5.6.7: the search trusts
        a role only through the delegation that led to it); its bytes are fixed by the
        snapshot, so the metadata verified already is checked against this delegator's
        keys and threshold.

        Raises:
            BadSignatureError: ``delegator`` does not delegate to ``role``, or the role is
                not signed by a threshold of the keys ``delegator`` names for it.
        """
        if self._tree.trusts(delegator, role):
            return
        parent = self._delegator(role, delegator)
        md = self._role_md.get(role)
        if md is None:
            raise InternalError(f"{role} is not loaded yet: load it through {delegator}")
        where = where or f"{self.snapshot.meta[f'{role}.json'].version}.{role}.json"
        verify_signatures(parent, role, md, f"{where} (delegated by {delegator})")
        if self._tree.edge_count >= self.limits.max_delegation_edges:
            raise OversizeError(
                f"expected at most {self.limits.max_delegation_edges} delegation edges, found more",
                where=where,
            )
        self._tree.add_edge(role, delegator, parent)

    @property
    def loaded_roles(self) -> dict[str, Targets]:
        """Every verified targets role, by name."""
        return self._tree.roles

    @property
    def delegations(self) -> DelegationTree:
        """The verified delegation tree (read it; the policy alone adds to it)."""
        return self._tree

    def children(self, role: str) -> list[tuple[str, bool]]:
        """Roles ``role`` delegates to, in order, with their terminating flag."""
        return self._tree.children(role)

    def authorized(self, role: str, path: str) -> bool:
        """Whether every delegation from top-level targets down to ``role`` covers ``path``."""
        return self._tree.authorized(role, path)

    def check_authorized(self, path: str) -> None:
        """Raise if some loaded role lists ``path`` although it was not delegated ``path``.

        Raises:
            UnauthorizedPathError: names the role, the path and the patterns it may sign.
        """
        self._tree.check_authorized(path)

    def resolve_target(
        self, path: str, load: RoleLoader | None = None
    ) -> tuple[str, TargetFile] | None:
        """The role and entry that count for ``path`` (§5.6.7), or None.

        ``load(role, delegator)`` is called for roles not loaded yet (the caller fetches and
        calls :meth:`update_delegated_targets`); without it, every role must be loaded.
        """
        return self._tree.resolve(path, load)

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
                f"with sha256 {sha256_hex(data)}",
                where=path,
            ) from None
        return info

    def seen_after(self) -> SeenVersions:
        """What to remember after a successful verification (merged with what was seen).

        A role whose delegating keys rotated takes the version this snapshot lists
        (fast-forward recovery, :mod:`tamizdat.trust.verify.rollback`).
        """
        return self._floors.remember(self.root, self.timestamp, self.snapshot)
