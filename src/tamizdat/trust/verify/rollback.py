"""Rollback protection across runs: what this machine saw, and when it may forget it.

Invariant: a version floor only ever rises, except in one case — fast-forward attack
recovery (TUF §5.3.11). A compromised key can sign absurdly high versions; once the
publisher rotates that key, clients must forget the inflated floors or they would refuse
every honest release forever. So:

- a rotation of the timestamp or snapshot keys (visible in the final root) forgets the
  timestamp, snapshot and all role versions (in TUF those role versions live in the trusted
  snapshot, which §5.3.11 deletes);
- a rotation of a targets or desk key (the key ids its delegator authorises for the role
  differ from the ones seen) forgets that one role's version. Only verified delegator
  metadata can name new keys, and the delegator is itself protected by its own floor (the
  top-level targets by the root, which never rolls back), so an attacker cannot trigger it.

Nothing here does I/O; :mod:`tamizdat.trust.verify.seen` persists :class:`SeenVersions`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from tuf.api.metadata import MetaFile, Root, Snapshot, Targets, Timestamp

from tamizdat.errors import RollbackError
from tamizdat.trust.verify.checks import delegated_keyids

__all__ = ["RoleFloors", "SeenVersions", "check_snapshot_versions", "forget_rotated"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SeenVersions:
    """The highest versions this machine accepted for one publisher (rollback protection).

    ``roles`` maps a targets role name to the version the snapshot listed for it;
    ``timestamp_keys``/``snapshot_keys`` and ``role_keys`` (role name → the sorted key ids
    its delegator authorised) are what fast-forward recovery compares (module docstring).
    """

    root: int = 0
    timestamp: int = 0
    snapshot: int = 0
    roles: Mapping[str, int] = field(default_factory=dict)
    timestamp_keys: frozenset[str] = frozenset()
    snapshot_keys: frozenset[str] = frozenset()
    log_head: tuple[int, str] | None = None
    role_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def forget_rotated(seen: SeenVersions, root: Root) -> SeenVersions:
    """``seen`` without timestamp, snapshot and role versions if ``root`` rotated their keys.

    §5.3.11: "If the timestamp and / or snapshot keys have been rotated, then delete the
    trusted timestamp and snapshot metadata files." The root floor and the log head stay.
    """
    ts_keys = frozenset(root.roles[Timestamp.type].keyids)
    sn_keys = frozenset(root.roles[Snapshot.type].keyids)
    rotated = (seen.timestamp_keys and seen.timestamp_keys != ts_keys) or (
        seen.snapshot_keys and seen.snapshot_keys != sn_keys
    )
    if not rotated:
        return seen
    logger.info("timestamp/snapshot keys rotated: forgetting seen versions")
    return SeenVersions(root=seen.root, log_head=seen.log_head)


def check_snapshot_versions(
    trusted: Snapshot | None, new: Snapshot, seen_floor: int, where: str
) -> None:
    """§5.5.3 and §5.5.5: ``new`` is not older than seen, nor than ``trusted`` (this run).

    Raises:
        RollbackError: names the snapshot or role version that went backwards.
    """
    if new.version < seen_floor:
        raise RollbackError(
            f"expected snapshot version {seen_floor} or newer, found {new.version}",
            where=where,
        )
    if trusted is None:
        return
    for name, info in trusted.meta.items():
        listed = new.meta.get(name)
        if listed is None:
            raise RollbackError(f"{name} was removed from the snapshot", where=where)
        if listed.version < info.version:
            raise RollbackError(
                f"expected {name} version {info.version} or newer, snapshot "
                f"v{new.version} names {listed.version}",
                where=where,
            )


class RoleFloors:
    """Per-role floors from ``seen``, checked as each targets role loads."""

    def __init__(self, seen: SeenVersions) -> None:
        self.seen = seen
        self._keys: dict[str, tuple[str, ...]] = {}
        self._rekeyed: set[str] = set()

    def check(
        self, role: str, meta: MetaFile, parent: Root | Targets, snapshot: int, where: str
    ) -> None:
        """The snapshot's version for ``role`` is not below the one seen, keys unchanged.

        Raises:
            RollbackError: older than seen on this machine and the role's keys are the same.
        """
        keys = delegated_keyids(parent, role)
        self._keys[role] = keys
        seen_keys = self.seen.role_keys.get(role)
        if seen_keys is not None and tuple(seen_keys) != keys:
            logger.info("keys of role %s rotated: forgetting its seen version", role)
            self._rekeyed.add(role)
            return
        floor = self.seen.roles.get(role, 0)
        if meta.version < floor:
            raise RollbackError(
                f"expected {role}.json version {floor} or newer, snapshot v{snapshot} "
                f"names {meta.version}",
                where=where,
            )

    def remember(self, root: Root, timestamp: Timestamp, snapshot: Snapshot) -> SeenVersions:
        """The new ``SeenVersions`` after a successful verification (maxima with ``seen``).

        A role whose keys rotated takes the version this snapshot lists, not the maximum
        with the forgotten one.
        """
        seen = self.seen
        roles = dict(seen.roles)
        for name, info in snapshot.meta.items():
            role = name.removesuffix(".json")
            floor = 0 if role in self._rekeyed else roles.get(role, 0)
            roles[role] = max(floor, info.version)
        return SeenVersions(
            root=max(root.version, seen.root),
            timestamp=max(timestamp.version, seen.timestamp),
            snapshot=max(snapshot.version, seen.snapshot),
            roles=roles,
            timestamp_keys=frozenset(root.roles[Timestamp.type].keyids),
            snapshot_keys=frozenset(root.roles[Snapshot.type].keyids),
            log_head=seen.log_head,
            role_keys={**seen.role_keys, **self._keys},
        )
