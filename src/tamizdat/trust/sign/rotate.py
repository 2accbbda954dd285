"""Key rotation and revocation, and the timestamp-only re-sign.

Invariants:

- A key change of ``root``, ``targets``, ``snapshot`` or ``timestamp`` produces a new root
  version N+1, signed by a threshold of root N's keys *and* by a threshold of its own
  (TUF §5.3.4), so clients holding root N follow the chain; the old key is then retired.
- A desk key change needs no new root: the desk's delegation in ``targets`` lists the new key
  at the next ``tamizdat sign``, which re-signs every role of the desk with it (roles whose
  signing keys changed are always re-signed, see ``trust.sign``).
- Revocation never leaves a role with fewer keys than its threshold.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tuf.api.metadata import Metadata, MetaFile, Timestamp

from tamizdat.config import Config
from tamizdat.errors import KeyStoreError, UserError
from tamizdat.layout import metadata_path
from tamizdat.trust.sign.keys import TOP_ROLES, build_root, latest_root, open_store, store_root
from tamizdat.trust.sign.keystore import KeyStore, StoredKey, atomic_write
from tamizdat.trust.sign.metadata import expiry_after, sign_metadata, to_wire, utc_now

__all__ = ["KeyChange", "resign_timestamp", "revoke_key", "rotate_key"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KeyChange:
    """The outcome of a rotation or revocation."""

    role: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    root_version: int | None  # the new root version, if one was written
    note: str


def _new_root(
    store: KeyStore, config: Config, now: datetime, *, extra_signers: list[StoredKey]
) -> int:
    """Write root N+1 from the store's active keys, signed by old and new root keys."""
    old = latest_root(store)
    threshold = old.signed.roles["root"].threshold
    new = build_root(
        store,
        version=old.signed.version + 1,
        threshold=threshold,
        expires=expiry_after(now, config.signing.expiry_days["root"]),
        previous=old.signed,
    )
    # Active root keys sign as old and new keys at once; retired or revoked root keys that
    # must still vouch for the change come in ``extra_signers``.
    present = [k for k in store.active_keys("root") if k.private_path.exists()]
    signers = {k.keyid: store.signer(k) for k in [*present, *extra_signers]}
    sign_metadata(new, list(signers.values()))
    # Check both thresholds with python-tuf itself before anything is written (§5.3.4).
    try:
        old.verify_delegate("root", new)
        new.verify_delegate("root", new)
    except Exception as exc:
        raise KeyStoreError(
            f"the new root is not signed by a threshold of old and new root keys: {exc}",
            where=str(store.directory),
            hint=f"root needs {threshold} of its keys present in the store",
        ) from None
    store_root(store, new)
    return int(new.signed.version)


def rotate_key(
    config: Config, role: str, *, demo: bool | None = None, now: datetime | None = None
) -> KeyChange:
    """Replace every active key of ``role`` (``root``, ``targets``, ``snapshot``,
    ``timestamp`` or ``desk-NAME``) with a new one.

    Raises:
        UserError: unknown role.
        KeyStoreError: keys missing, passphrase wrong, or the root threshold not reachable.
    """
    moment = now or utc_now()
    probe = open_store(config)
    old_keys = probe.active_keys(role)
    if not old_keys:
        known = ", ".join([*TOP_ROLES, *(f"desk-{d}" for d in config.site.desk_names)])
        raise UserError(f"no keys for role {role!r}", where="ROLE", hint=f"roles: {known}")
    if demo is None:
        demo = all(k.demo for k in old_keys)
    store = open_store(config, allow_demo=demo or all(k.demo for k in old_keys))
    new_keys = [store.create(role, demo=demo) for _ in old_keys]
    root_version = None
    if role == "root":
        root_version = _root_rotation(store, config, moment, old_keys)
    else:
        for key in old_keys:
            store.set_state(key, "retired")
        if role in TOP_ROLES:
            root_version = _new_root(store, config, moment, extra_signers=[])
    note = (
        f"root {root_version} written; run 'tamizdat sign' to publish it"
        if root_version
        else "the next 'tamizdat sign' re-signs this desk's roles with the new key"
    )
    return KeyChange(
        role,
        tuple(k.keyid for k in new_keys),
        tuple(k.keyid for k in old_keys),
        root_version,
        note,
    )


def _root_rotation(
    store: KeyStore, config: Config, now: datetime, old_keys: list[StoredKey]
) -> int:
    # Retire the old keys from the active set (so the new root lists only new ones) but keep
    # their signers: the new root must carry a threshold of old signatures (§5.3.4).
    for key in old_keys:
        store.set_state(key, "retired")
    retired = [
        StoredKey(
            k.role, k.public, k.private_path.with_name(f"{k.private_path.name}.retired"), k.demo
        )
        for k in old_keys
    ]
    return _new_root(store, config, now, extra_signers=retired)


def revoke_key(config: Config, keyid: str, *, now: datetime | None = None) -> KeyChange:
    """Remove one key from its role; write a new root if the role is a top-level one.

    Raises:
        KeyStoreError: no such active key.
        UserError: revoking it would leave the role below its threshold.
    """
    moment = now or utc_now()
    probe = open_store(config)
    key = probe.find(keyid)
    store = open_store(
        config, allow_demo=key.demo or all(k.demo for k in probe.active_keys("root"))
    )
    remaining = [k for k in store.active_keys(key.role) if k.keyid != key.keyid]
    threshold = 1
    if key.role in TOP_ROLES:
        threshold = latest_root(store).signed.roles[key.role].threshold
    if len(remaining) < threshold:
        raise UserError(
            f"revoking {key.keyid[:8]} leaves {key.role} with {len(remaining)} key(s), "
            f"below its threshold {threshold}",
            where=key.keyid,
            hint=f"run 'tamizdat keys rotate {key.role}' to replace it instead",
        )
    root_version = None
    if key.role in TOP_ROLES:
        signer = store.signer(key) if key.role == "root" and key.private_path.exists() else None
        store.set_state(key, "revoked")
        extra = []
        if signer is not None:
            extra = [
                StoredKey(
                    key.role,
                    key.public,
                    key.private_path.with_name(f"{key.private_path.name}.revoked"),
                    key.demo,
                )
            ]
        root_version = _new_root(store, config, moment, extra_signers=extra)
    else:
        store.set_state(key, "revoked")
    return KeyChange(
        key.role,
        (),
        (key.keyid,),
        root_version,
        "run 'tamizdat sign' so the delegating role stops listing the key",
    )


def resign_timestamp(
    config: Config, *, now: datetime | None = None, allow_demo: bool = False
) -> int:
    """Re-sign only ``timestamp.json`` of the current release (cron-able); return its version.

    Raises:
        UserError: there is no signed release yet.
        KeyStoreError: the timestamp key is missing or locked.
    """
    moment = now or utc_now()
    release: Path = config.signing.release_dir
    path = release / metadata_path("timestamp", None)
    try:
        current = Metadata[Timestamp].from_bytes(path.read_bytes())
    except FileNotFoundError:
        raise UserError(
            "no signed release yet", where=str(path), hint="run 'tamizdat sign'"
        ) from None
    store = open_store(config, allow_demo=allow_demo)
    meta = current.signed.snapshot_meta
    fresh = Metadata(
        Timestamp(
            current.signed.version + 1,
            None,
            expiry_after(moment, config.signing.expiry_days["timestamp"]),
            MetaFile(meta.version, meta.length, meta.hashes),
        )
    )
    sign_metadata(fresh, store.signers("timestamp"))
    atomic_write(path, to_wire(fresh))
    return int(fresh.signed.version)
