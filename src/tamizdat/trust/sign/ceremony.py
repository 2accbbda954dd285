"""A root change signed holder by holder, offline, by passing one file around.

When the root keys are not on the publishing machine (each holder keeps theirs, see
``keys init --holders``), a key change writes a *root change* file instead of root N+1::

    {"type": "tamizdat-root-change", "reason": "rotate timestamp",
     "previous": <root N, as published>, "proposed": <root N+1, with the signatures so far>}

Each holder runs ``tamizdat keys sign-root FILE --key THEIR.key`` on their own computer: it
shows what changes, adds one signature and writes the file back; copies signed in parallel
are combined by ``keys apply-root FILE…``. Invariants:

- A holder signs only after seeing the change (keys and thresholds added or removed) and its
  *change id* (a digest of root N+1), which ``keys rotate``/``revoke`` printed for the
  newsroom to read out to the holders by another channel: a file swapped on the way has
  another id. Only a key that root N or N+1 lists for ``root`` may sign.
- Nothing in the store changes until python-tuf itself accepts root N+1 as signed by a
  threshold of root N's keys *and* of its own (TUF §5.3.4), and root N is the store's latest
  root (a change written against an older root is refused). Then the store's active keys are
  made to match root N+1 exactly: pending keys it lists become active, keys it dropped are
  retired (or revoked), and ``N.root.json`` is written.
- The file carries no secret: it can travel by USB stick or messenger.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from securesystemslib.signer import CryptoSigner, Signature
from tuf.api.metadata import Metadata, Root

from tamizdat.errors import KeyStoreError, UserError
from tamizdat.files import write_atomic
from tamizdat.trust.sign.keyfile import read_key_file
from tamizdat.trust.sign.keys import TOP_ROLES, latest_root, store_root
from tamizdat.trust.sign.keystore import KeyStore
from tamizdat.trust.sign.metadata import FastCanonicalSerializer, to_wire

__all__ = [
    "RootChange",
    "SignatureCount",
    "apply_root_change",
    "describe_change",
    "read_root_change",
    "sign_root_change",
    "write_root_change",
]

CHANGE_TYPE = "tamizdat-root-change"
_CANONICAL = FastCanonicalSerializer()
_MAX_FILE = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SignatureCount:
    """Valid root signatures on the proposal: by root N's keys and by N+1's."""

    old_signed: int
    old_needed: int
    new_signed: int
    new_needed: int

    @property
    def complete(self) -> bool:
        return self.old_signed >= self.old_needed and self.new_signed >= self.new_needed

    def __str__(self) -> str:
        return (
            f"{self.old_signed} of {self.old_needed} needed from the current root's keys, "
            f"{self.new_signed} of {self.new_needed} from the new root's"
        )


@dataclass(frozen=True, slots=True)
class RootChange:
    """Root N and the proposed root N+1 (with the signatures gathered so far)."""

    reason: str
    previous: Metadata[Root]
    proposed: Metadata[Root]

    def payload(self) -> bytes:
        return _CANONICAL.serialize(self.proposed.signed)

    def change_id(self) -> str:
        """The first 80 bits of SHA-256 over root N+1's signed bytes, in groups of four:
        what holders compare by phone before signing."""
        digest = hashlib.sha256(self.payload()).hexdigest()[:20]
        return " ".join(digest[i : i + 4] for i in range(0, 20, 4))

    def count(self) -> SignatureCount:
        """Valid signatures by each side (python-tuf's threshold check, TUF §5.3.4)."""
        payload, signatures = self.payload(), self.proposed.signatures
        old = self.previous.signed.get_verification_result("root", payload, signatures)
        new = self.proposed.signed.get_verification_result("root", payload, signatures)
        return SignatureCount(len(old.signed), old.threshold, len(new.signed), new.threshold)

    def root_keyids(self) -> set[str]:
        return set(self.previous.signed.roles["root"].keyids) | set(
            self.proposed.signed.roles["root"].keyids
        )


def write_root_change(path: Path, change: RootChange) -> None:
    """Write the change file atomically (0600: it names who holds which key)."""
    doc: dict[str, Any] = {
        "type": CHANGE_TYPE,
        "reason": change.reason,
        "previous": json.loads(to_wire(change.previous)),
        "proposed": json.loads(to_wire(change.proposed)),
    }
    write_atomic(path, (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode(), 0o600)


def read_root_change(path: Path) -> RootChange:
    """Read a change file.

    Raises:
        UserError: not a readable root change, or N+1 does not follow N.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_FILE + 1)
    except OSError as exc:
        raise UserError(f"cannot read the root change: {exc.strerror}", where=str(path)) from None
    try:
        if len(data) > _MAX_FILE:
            raise ValueError(f"larger than {_MAX_FILE} bytes")
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("type") != CHANGE_TYPE:
            raise ValueError("not a root change file")
        previous = Metadata[Root].from_dict(doc["previous"])
        proposed = Metadata[Root].from_dict(doc["proposed"])
        reason = str(doc.get("reason", ""))[:200]
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(
            f"expected a tamizdat root change file, found: {exc}", where=str(path)
        ) from None
    if not isinstance(previous.signed, Root) or not isinstance(proposed.signed, Root):
        raise UserError("expected two root metadata documents", where=str(path))
    if proposed.signed.version != previous.signed.version + 1:
        raise UserError(
            f"expected root {previous.signed.version + 1} after root {previous.signed.version}, "
            f"found root {proposed.signed.version}",
            where=str(path),
        )
    return RootChange(reason, previous, proposed)


def describe_change(change: RootChange) -> list[str]:
    """What N+1 changes against N, one line per role: what a holder reads before signing."""
    old, new = change.previous.signed, change.proposed.signed
    lines = [
        f"root {old.version} → {new.version}: {change.reason}",
        f"change id {change.change_id()}: sign only if the newsroom gave you this same id",
        f"expires {new.expires:%Y-%m-%d}",
    ]
    for role in TOP_ROLES:
        before, after = old.roles[role], new.roles[role]
        added = sorted(set(after.keyids) - set(before.keyids))
        removed = sorted(set(before.keyids) - set(after.keyids))
        parts = [f"+{k[:8]}" for k in added] + [f"-{k[:8]}" for k in removed]
        if before.threshold != after.threshold:
            parts.append(f"threshold {before.threshold} → {after.threshold}")
        lines.append(f"  {role:<10} {' '.join(parts) if parts else 'unchanged'}")
    return lines


def sign_root_change(path: Path, key_file: Path, store: KeyStore, *, env: str) -> SignatureCount:
    """Add the signature of the root key in ``key_file`` to the change at ``path``.

    ``store`` only opens the key file (its passphrase from ``$env`` or the prompt).

    Raises:
        UserError: the file is not a root change. KeyStoreError: the key is not a root key
            of root N or N+1, or its passphrase is wrong.
    """
    change = read_root_change(path)
    try:
        data = key_file.read_bytes()
    except OSError as exc:
        raise KeyStoreError(
            f"cannot read the key file: {exc.strerror}", where=str(key_file)
        ) from None
    keyfile = read_key_file(data, where=str(key_file))
    if keyfile.role != "root" or keyfile.keyid not in change.root_keyids():
        raise KeyStoreError(
            f"the {keyfile.label} is not a root key of root {change.previous.signed.version} "
            f"or {change.proposed.signed.version}",
            where=str(key_file),
            hint="sign with your root holder key file (root-holder-K.….key)",
        )
    private = store.open_file(key_file, role="root", keyid=keyfile.keyid, env=env)
    public = (
        change.previous.signed.keys.get(keyfile.keyid) or change.proposed.signed.keys[keyfile.keyid]
    )
    signer = CryptoSigner(private, public)  # type: ignore[arg-type]
    change.proposed.sign(signer, append=True, signed_serializer=_CANONICAL)
    write_root_change(path, change)
    return change.count()


def _combined(paths: list[Path]) -> RootChange:
    changes = [read_root_change(p) for p in paths]
    first = changes[0]
    signatures: dict[str, Signature] = {}
    for path, change in zip(paths, changes, strict=True):
        if change.payload() != first.payload() or to_wire(change.previous) != to_wire(
            first.previous
        ):
            raise UserError(
                "expected copies of one root change, found a different change", where=str(path)
            )
        signatures.update(change.proposed.signatures)
    merged = Metadata(first.proposed.signed, signatures)
    return RootChange(first.reason, first.previous, merged)


def apply_root_change(store: KeyStore, paths: list[Path]) -> tuple[int, SignatureCount]:
    """Combine the signed copies at ``paths``, check root N+1 with python-tuf, write it and
    make the store's active keys those N+1 lists. Returns (N+1, signature count).

    Raises:
        UserError: the files are not copies of one change, or it was written against
            another root than the store's latest. KeyStoreError: below a threshold (the
            store is unchanged).
    """
    change = _combined(paths)
    latest = latest_root(store)
    if to_wire(latest) != to_wire(change.previous):
        raise UserError(
            f"this change follows root {change.previous.signed.version}, but the latest root "
            f"here is {latest.signed.version} (another change was applied meanwhile?)",
            where=str(paths[0]),
            hint="make the change again with 'tamizdat keys rotate' or 'keys revoke'",
        )
    count = change.count()
    try:
        latest.verify_delegate("root", change.proposed, _CANONICAL)
        change.proposed.verify_delegate("root", change.proposed, _CANONICAL)
    except Exception as exc:  # python-tuf's UnsignedMetadataError and kin: below threshold
        raise KeyStoreError(
            f"root {change.proposed.signed.version} is not signed by enough root keys: {count}",
            where=str(paths[0]),
            hint="pass the file to more holders: 'tamizdat keys sign-root FILE --key KEY'",
        ) from exc
    store_root(store, change.proposed)
    _match_store(store, change)
    return int(change.proposed.signed.version), count


def _match_store(store: KeyStore, change: RootChange) -> None:
    revoking = change.reason.startswith("revoke")
    for role in TOP_ROLES:
        listed = set(change.proposed.signed.roles[role].keyids)
        for key in store.keys_in_state(role, "pending"):
            if key.keyid in listed:
                store.activate(key, "pending")
        for key in store.active_keys(role):
            if key.keyid not in listed:
                store.set_state(key, "revoked" if revoking else "retired")
