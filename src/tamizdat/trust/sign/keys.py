"""Creating a site's keys and its first root; reading the fingerprint readers pin.

Invariant: ``keys_dir/metadata/1.root.json`` is written once, by ``init_keys``, and never
changes; its SHA-256 is the publisher fingerprint. Later roots (``N.root.json``, from
rotation or revocation) are each signed by a threshold of the previous root's keys and of
their own (TUF §5.3.4), and every release carries the whole chain.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tuf.api.metadata import Key, Metadata, Role, Root

from tamizdat.config import Config
from tamizdat.errors import KeyStoreError, UserError
from tamizdat.fingerprint import root_fingerprint
from tamizdat.trust.sign.keystore import KeyStore, StoredKey, atomic_write, desk_role
from tamizdat.trust.sign.metadata import expiry_after, sign_metadata, to_wire, utc_now

__all__ = [
    "KeysReport",
    "add_desk",
    "init_keys",
    "latest_root",
    "open_store",
    "read_fingerprint",
    "root_chain",
    "store_root",
]

logger = logging.getLogger(__name__)

TOP_ROLES = ("root", "targets", "snapshot", "timestamp")


@dataclass(frozen=True, slots=True)
class KeysReport:
    """What ``keys init`` / ``keys add-desk`` created."""

    directory: Path
    created: tuple[tuple[str, str], ...]  # (role, keyid)
    demo: bool
    fingerprint: str | None
    holder_files: tuple[Path, ...] = ()  # one per root holder, to hand out (then delete)


def open_store(config: Config, *, allow_demo: bool = False) -> KeyStore:
    """The key store named by ``config.signing`` (nothing is read yet)."""
    return KeyStore(config.signing.keys_dir, config.signing.passphrase_env, allow_demo)


def root_chain(store: KeyStore) -> list[tuple[int, bytes]]:
    """Every stored root version as ``(version, bytes)``, oldest first."""
    found = []
    for path in store.metadata_dir.glob("*.root.json"):
        head = path.name.split(".")[0]
        if head.isdigit():
            found.append((int(head), path.read_bytes()))
    return sorted(found)


def latest_root(store: KeyStore) -> Metadata[Root]:
    """The newest root in the store.

    Raises:
        KeyStoreError: the store has no root yet.
    """
    chain = root_chain(store)
    if not chain:
        raise KeyStoreError(
            "expected a root (1.root.json), found none",
            where=str(store.metadata_dir),
            hint="run 'tamizdat keys init' first",
        )
    return Metadata[Root].from_bytes(chain[-1][1])


def store_root(store: KeyStore, root: Metadata[Root]) -> bytes:
    """Write ``N.root.json`` (refusing to overwrite an existing version); return its bytes.

    Raises:
        KeyStoreError: that root version already exists.
    """
    path = store.metadata_dir / f"{root.signed.version}.root.json"
    if path.exists():
        raise KeyStoreError(f"root version {root.signed.version} already exists", where=str(path))
    data = to_wire(root)
    atomic_write(path, data, 0o600)
    return data


def read_fingerprint(config: Config) -> str | None:
    """The publisher fingerprint from the stored ``1.root.json``, or None before ``keys init``."""
    path = config.signing.keys_dir / "metadata" / "1.root.json"
    try:
        return root_fingerprint(path.read_bytes())
    except FileNotFoundError:
        return None


def _key(stored: StoredKey) -> Key:
    return stored.public


def build_root(
    store: KeyStore, *, version: int, threshold: int, expires: datetime, previous: Root | None
) -> Metadata[Root]:
    """A root listing the store's active keys for the four top-level roles (TUF §2.1)."""
    root = Root(version=version, expires=expires, consistent_snapshot=True)
    root.roles = {}
    for role in TOP_ROLES:
        keys = store.active_keys(role)
        if not keys:
            raise KeyStoreError(
                f"expected at least one {role} key, found none", where=str(store.directory)
            )
        role_threshold = threshold if role == "root" else 1
        if previous is not None and role != "root":
            role_threshold = previous.roles[role].threshold
        root.roles[role] = Role([], role_threshold)
        for stored in keys:
            root.add_key(_key(stored), role)
    return Metadata(root)


def init_keys(
    config: Config,
    *,
    demo: bool = False,
    holders: int | None = None,
    threshold: int | None = None,
    now: datetime | None = None,
) -> KeysReport:
    """Create root (``holders`` keys, ``threshold``), targets, snapshot, timestamp and desk keys,
    then sign ``1.root.json`` so the fingerprint exists before the first release.

    Raises:
        UserError: keys already exist here, or threshold/holders make no sense.
        KeyStoreError: no passphrase is available (non-demo keys).
    """
    holders = holders or config.signing.root_holders
    threshold = threshold or config.signing.root_threshold
    if not 1 <= threshold <= holders:
        raise UserError(
            f"expected 1 ≤ threshold ≤ holders, found threshold {threshold} of {holders}",
            where="--threshold",
        )
    store = open_store(config, allow_demo=demo)
    if store.exists() or root_chain(store):
        raise UserError(
            "keys already exist; refusing to overwrite them",
            where=str(store.directory),
            hint="use 'tamizdat keys rotate ROLE' to replace a key",
        )
    holder_files: list[Path] = []
    if demo:
        created = [store.create("root", demo=True) for _ in range(holders)]
    else:
        # Every passphrase first (online keys, then each holder's, all different), so a
        # refused one leaves no half-made key folder behind.
        store.online_passphrase()
        passphrases = store.holder_passphrases(holders)
        made = [store.create_holder(i, holders, p) for i, p in enumerate(passphrases, 1)]
        created = [key for key, _ in made]
        holder_files = [key.private_path for key in created]
    created += [store.create(role, demo=demo) for role in TOP_ROLES[1:]]
    created += [store.create(desk_role(d), demo=demo) for d in config.site.desk_names]
    root_signers = store.signers("root") if demo else [signer for _, signer in made]
    moment = now or utc_now()
    root = build_root(
        store,
        version=1,
        threshold=threshold,
        expires=expiry_after(moment, config.signing.expiry_days["root"]),
        previous=None,
    )
    sign_metadata(root, root_signers)
    data = store_root(store, root)
    logger.info("created %d keys in %s", len(created), store.directory)
    return KeysReport(
        store.directory,
        tuple((k.role, k.keyid) for k in created),
        demo,
        root_fingerprint(data),
        tuple(holder_files),
    )


def add_desk(config: Config, name: str, *, demo: bool | None = None) -> KeysReport:
    """Create the signing key of desk ``name`` (its delegation is added at the next sign).

    ``demo`` defaults to the kind of keys the store already holds.

    Raises:
        UserError: the desk already has a key, or the store has no keys yet.
        KeyStoreError: no passphrase is available (non-demo keys).
    """
    from tamizdat.config.site import _DESK

    if not _DESK.match(name):
        raise UserError(f"expected lowercase letters, digits and '-', found {name!r}", where="NAME")
    probe = open_store(config)
    if not probe.exists():
        raise UserError("no keys yet", where=str(probe.directory), hint="run 'tamizdat keys init'")
    if probe.active_keys(desk_role(name)):
        raise UserError(f"desk {name!r} already has a key", where=str(probe.directory))
    if demo is None:
        demo = all(k.demo for k in probe.active_keys("targets"))
    store = open_store(config, allow_demo=demo)
    key = store.create(desk_role(name), demo=demo)
    return KeysReport(store.directory, ((key.role, key.keyid),), demo, read_fingerprint(config))
