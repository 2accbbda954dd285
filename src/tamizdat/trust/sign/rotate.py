"""Key rotation and revocation, and the timestamp-only re-sign.

Invariants:

- A key change of ``root``, ``targets``, ``snapshot`` or ``timestamp`` produces a new root
  version N+1, signed by a threshold of root N's keys *and* by a threshold of its own
  (TUF §5.3.4), so clients holding root N follow the chain; the old key is then retired.
- A desk key change needs no new root: the desk's delegation in ``targets`` lists the new key
  at the next ``tamizdat sign``, which re-signs every role of the desk with it (roles whose
  signing keys changed are always re-signed, see ``trust.sign``).
- Revocation never leaves a role with fewer keys than its threshold.
- When the root keys needed are not on this machine (root holders keep their own, see
  ``keys init --holders``), root N+1 is written as a root change file for the holders to
  sign (:mod:`tamizdat.trust.sign.ceremony`) and the store is put back as it was: the new
  keys wait as ``pending``, the old ones stay active, so signing goes on with root N until
  ``keys apply-root`` accepts N+1.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, MetaFile, Timestamp

from tamizdat.config import Config
from tamizdat.errors import KeyStoreError, UserError
from tamizdat.layout import metadata_path
from tamizdat.trust.sign.ceremony import RootChange, write_root_change
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
    root_version: int | None  # the new root version, if one was written (or proposed)
    note: str
    proposal: Path | None = None  # the root change file the holders must sign first
    change_id: str | None = None  # its digest, for the holders to compare before signing


@dataclass(frozen=True, slots=True)
class _RootOutcome:
    version: int
    proposal: Path | None
    change_id: str | None = None


def _new_root(
    store: KeyStore,
    config: Config,
    now: datetime,
    *,
    extra_signers: list[StoredKey],
    reason: str,
    revert: Callable[[bool], None],
    ready: list[CryptoSigner] | None = None,
) -> _RootOutcome:
    """Root N+1 from the store's active keys, signed by every root key at hand (old and
    new); written when both thresholds are met, else proposed to the holders. ``revert``
    puts the store's keys back as root N lists them, keeping the new keys as ``pending``
    for the proposal (``revert(True)``) or deleting them when the change failed."""
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
    # must still vouch for the change come in ``extra_signers``; ``ready`` are signers made
    # just now (new holder keys, whose files are sealed under their holders' passphrases).
    present = [k for k in [*store.active_keys("root"), *extra_signers] if k.private_path.exists()]
    try:
        signers: dict[str, CryptoSigner] = {k.keyid: store.signer(k) for k in present}
        signers.update({str(s.public_key.keyid): s for s in ready or ()})
        sign_metadata(new, list(signers.values()))
        change = RootChange(reason, old, new)
        complete = change.count().complete
    except BaseException:  # a wrong passphrase, Ctrl-C: the store goes back as it was
        revert(False)
        raise
    if not complete:
        revert(True)
        path = store.directory / f"root-change-{new.signed.version}.json"
        write_root_change(path, change)
        return _RootOutcome(int(new.signed.version), path, change.change_id())
    # Check both thresholds with python-tuf itself before anything is written (§5.3.4).
    try:
        old.verify_delegate("root", new)
        new.verify_delegate("root", new)
    except Exception as exc:
        revert(False)
        raise KeyStoreError(
            f"the new root is not signed by a threshold of old and new root keys: {exc}",
            where=str(store.directory),
            hint=f"root needs {threshold} of its keys present in the store",
        ) from None
    store_root(store, new)
    return _RootOutcome(int(new.signed.version), None)


def _proposal_note(outcome: _RootOutcome, threshold: int) -> str:
    return (
        f"root {outcome.version} needs the root holders: pass {outcome.proposal} to them and "
        f"read them its change id {outcome.change_id} by another channel (phone, in person); "
        f"each runs 'tamizdat keys sign-root FILE --key THEIR-KEY-FILE' on their own "
        f"computer ({threshold} of the current root keys needed, copies signed separately "
        f"are fine); then 'tamizdat keys apply-root FILE…' here and 'tamizdat sign'"
    )


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
    threshold = latest_root(store).signed.roles["root"].threshold
    outcome: _RootOutcome | None = None
    if role == "root":
        new_keys, outcome = _root_rotation(store, config, moment, old_keys, demo=demo)
    else:
        new_keys = [store.create(role, demo=demo) for _ in old_keys]
        for key in old_keys:
            store.set_state(key, "retired")
        if role in TOP_ROLES:

            def revert(keep: bool) -> None:
                for key in new_keys:
                    if keep:
                        store.set_state(key, "pending")
                    else:
                        store.discard(key)
                for key in old_keys:
                    store.activate(store.in_state(key, "retired"), "retired")

            outcome = _new_root(
                store, config, moment, extra_signers=[], reason=f"rotate {role}", revert=revert
            )
    if outcome is not None and outcome.proposal is not None:
        note = _proposal_note(outcome, threshold)
    elif outcome is not None:
        note = f"root {outcome.version} written; run 'tamizdat sign' to publish it"
    else:
        note = "the next 'tamizdat sign' re-signs this desk's roles with the new key"
    handed = [k.private_path for k in new_keys if k.private_path.parent == store.holders_dir]
    if handed:
        note += (
            f"; the new root holders' key files are in {store.holders_dir}: hand each to its "
            "holder, then delete them here"
        )
    return KeyChange(
        role,
        tuple(k.keyid for k in new_keys),
        tuple(k.keyid for k in old_keys),
        outcome.version if outcome else None,
        note,
        outcome.proposal if outcome else None,
        outcome.change_id if outcome else None,
    )


def _root_rotation(
    store: KeyStore, config: Config, now: datetime, old_keys: list[StoredKey], *, demo: bool
) -> tuple[list[StoredKey], _RootOutcome]:
    # Root holders who keep their own keys get new holder keys, each under the holder's
    # own passphrase; a store that holds its root keys itself gets new ones likewise.
    holders = not demo and not any(k.private_path.exists() for k in old_keys)
    ready: list[CryptoSigner] = []
    new_keys: list[StoredKey] = []
    if holders:
        passphrases = store.holder_passphrases(len(old_keys))
        for index, passphrase in enumerate(passphrases, 1):
            key, signer = store.create_holder(index, len(old_keys), passphrase)
            new_keys.append(key)
            ready.append(signer)
    else:
        new_keys = [store.create("root", demo=demo) for _ in old_keys]
    # Retire the old keys from the active set (so the new root lists only new ones) but keep
    # their signers: the new root must carry a threshold of old signatures (§5.3.4).
    for key in old_keys:
        store.set_state(key, "retired")
    retired = [store.in_state(k, "retired") for k in old_keys]

    def revert(keep: bool) -> None:
        for key in new_keys:
            if keep:
                store.set_state(key, "pending")
            else:
                store.discard(key)
        for key in retired:
            store.activate(key, "retired")

    outcome = _new_root(
        store, config, now, extra_signers=retired, reason="rotate root", revert=revert, ready=ready
    )
    return new_keys, outcome


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
    outcome: _RootOutcome | None = None
    if key.role in TOP_ROLES:
        store.set_state(key, "revoked")
        revoked = store.in_state(key, "revoked")
        outcome = _new_root(
            store,
            config,
            moment,
            extra_signers=[revoked] if key.role == "root" else [],
            reason=f"revoke {key.role} key {key.keyid[:8]}",
            revert=lambda _keep: store.activate(revoked, "revoked"),
        )
    else:
        store.set_state(key, "revoked")
    note = "run 'tamizdat sign' so the delegating role stops listing the key"
    if outcome is not None and outcome.proposal is not None:
        note = _proposal_note(outcome, latest_root(store).signed.roles["root"].threshold)
    return KeyChange(
        key.role,
        (),
        (key.keyid,),
        outcome.version if outcome else None,
        note,
        outcome.proposal if outcome else None,
        outcome.change_id if outcome else None,
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
