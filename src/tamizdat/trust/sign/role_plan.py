"""Role planning for a release: which targets roles change, their versions and delegations.

Invariant: a role is re-signed only when something a client would see changed — its
targets (paths, lengths, hashes), its delegations, its keys — or when it nears expiry, or
when it holds the publication log's head (which every release rewrites); everything else
keeps its version and its file, so a day's release re-signs a few small roles, not the
archive (DESIGN.md, *Trust*). Pure: no I/O beyond the key store's public keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tuf.api.metadata import DelegatedRole, Delegations, Key, Metadata, TargetFile, Targets

from tamizdat.config import Config
from tamizdat.errors import KeyStoreError
from tamizdat.trust.sign import release_dir as rel
from tamizdat.trust.sign.keystore import KeyStore
from tamizdat.trust.sign.roles import RoleLayout, RoleSpec

__all__ = ["RolePlan", "Target", "parse_time", "plan_versions", "role_metadata"]


@dataclass(frozen=True, slots=True)
class Target:
    """One file to sign: its length and digest, and where its bytes are (a file in
    ``public/``, or ``data`` for files tamizdat makes, such as the log)."""

    length: int
    sha256: str
    source: str | None
    data: bytes | None


def parse_time(text: str) -> datetime:
    """A TUF ``expires`` string as a UTC datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _same_targets(old: Mapping[str, Any], spec: RoleSpec, targets: Mapping[str, Target]) -> bool:
    """Whether the role's previous ``targets`` are exactly these paths, lengths and hashes
    (compared in place: building 100,000 dicts to compare them was a second per release)."""
    if len(old) != len(spec.targets):
        return False
    for path in spec.targets:
        entry, target = old.get(path), targets[path]
        if (
            entry is None
            or entry.get("length") != target.length
            or entry.get("hashes") != {"sha256": target.sha256}
        ):
            return False
    return True


def _delegations(spec: RoleSpec, layout: RoleLayout, store: KeyStore) -> Delegations | None:
    children = layout.children(spec.name)
    if not children:
        return None
    keys: dict[str, Key] = {}
    roles = {}
    for child in children:
        active = store.active_keys(child.key_role)
        if not active:
            raise KeyStoreError(
                f"expected a key for role {child.key_role!r}, found none",
                where=str(store.directory),
                hint=f"run 'tamizdat keys add-desk {child.key_role.removeprefix('desk-')}'",
            )
        for key in active:
            keys[key.keyid] = key.public
        roles[child.name] = DelegatedRole(
            child.name,
            [k.keyid for k in active],
            1,
            True,  # terminating: the first matching role decides (TUF §5.6.7.2.3)
            list(child.paths) if child.paths is not None else None,
            list(child.hash_prefixes) if child.hash_prefixes is not None else None,
        )
    return Delegations(keys=keys, roles=roles)


@dataclass
class RolePlan:
    """One role's new content and whether it needs signing."""

    spec: RoleSpec
    version: int
    delegations: Delegations | None
    changed: bool


def plan_versions(
    layout: RoleLayout,
    targets: Mapping[str, Target],
    previous: rel.ReleaseState | None,
    store: KeyStore,
    config: Config,
    now: datetime,
    forced: str,
) -> dict[str, RolePlan]:
    """Each role's next version, and whether it must be signed again: new, ``forced`` (the
    log's role), re-keyed, expiring within half its lifetime, or its targets or delegations
    changed. Unchanged roles keep their version and file (a daily release re-signs few).

    Raises:
        KeyStoreError: a delegated role has no active key.
    """
    plans: dict[str, RolePlan] = {}
    for name, spec in layout.roles.items():
        delegations = _delegations(spec, layout, store)
        old = previous.roles.get(name) if previous else None
        keyids = frozenset(k.keyid for k in store.active_keys(spec.key_role))
        days = config.signing.expiry_days[spec.expiry_role]
        changed = (
            old is None
            or name == forced
            or old.keyids != keyids
            or parse_time(old.expires) < now + timedelta(days=days / 2)
            or not _same_targets(old.targets, spec, targets)
            or old.delegations != (delegations.to_dict() if delegations else None)
        )
        version = (old.version + 1 if changed else old.version) if old else 1
        plans[name] = RolePlan(spec, version, delegations, changed)
    return plans


def role_metadata(
    plan: RolePlan, targets: Mapping[str, Target], expires: datetime
) -> Metadata[Targets]:
    """The unsigned metadata of one planned role."""
    files = {
        path: TargetFile(targets[path].length, {"sha256": targets[path].sha256}, path)
        for path in plan.spec.targets
    }
    return Metadata(Targets(plan.version, None, expires, files, plan.delegations))
