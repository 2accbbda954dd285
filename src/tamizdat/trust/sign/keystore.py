"""The key store: Ed25519 signing keys, encrypted at rest, outside the site by default.

Layout of ``config.signing.keys_dir`` (mode 0700; every file 0600)::

    <role>.<keyid>.key                     sealed with the passphrase (see ``keyfile``)
    <role>.<keyid>.DEMO-UNENCRYPTED.key    demo/test keys: no passphrase (loudly labelled)
    <role>.<keyid>.pub                     the public key (securesystemslib JSON), no secret
    <role>.<keyid>.<state>.key|pub         ``retired`` (rotated out) or ``revoked``
    <role>.<keyid>.pending.pub             listed by a root change not yet applied
    holders/root-holder-K.<keyid>.key      root holder K's key, under K's own passphrase:
                                           handed out, then deleted from this machine
    metadata/N.root.json                   every root version, ``1.root.json`` = fingerprint

Roles with keys: ``root`` (several holders), ``targets``, ``snapshot``, ``timestamp`` and
``desk-NAME`` per desk. The *active* keys of a role are its ``.pub`` files without a state;
a role's metadata is signed by every active key whose private half is present.

Invariant: a private key is never written unencrypted unless the user asked for demo keys,
and demo keys are never used for signing unless demo use is allowed again at signing time
(``--demo`` or ``TAMIZDAT_DEMO_KEYS=1``). Each root holder's key is sealed under that
holder's own passphrase (``$TAMIZDAT_PASSPHRASE_HOLDER_K`` or the prompt), never the
online keys' one, so neither one passphrase nor one seized folder signs a root change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, SSlibKey

from tamizdat.errors import KeyStoreError
from tamizdat.files import write_atomic as atomic_write
from tamizdat.trust.sign.keyfile import DerivedKeys, KeyFile, read_key_file, seal_private_key
from tamizdat.trust.sign.passphrase import Prompter, ask_new_passphrase, unlock_with

__all__ = [
    "DEMO_ENV",
    "DEMO_LABEL",
    "KeyStore",
    "StoredKey",
    "atomic_write",
    "desk_role",
    "holder_env",
]

logger = logging.getLogger(__name__)

DEMO_ENV = "TAMIZDAT_DEMO_KEYS"
DEMO_LABEL = "DEMO-UNENCRYPTED"
_STATES = ("retired", "revoked", "pending")
HOLDERS_DIR = "holders"


def _name_parts(path: Path) -> tuple[str, str]:
    """(role, keyid) from ``role.keyid.key[.state]``; empty for other names."""
    parts = path.name.split(".")
    if len(parts) >= 3 and parts[2] == "key" and not parts[0].startswith("root-holder-"):
        return parts[0], parts[1]
    return "", ""


def holder_env(passphrase_env: str, index: int) -> str:
    """The variable holding root holder ``index``'s passphrase (when not typed)."""
    return f"{passphrase_env}_HOLDER_{index}"


def desk_role(desk: str) -> str:
    """The delegated role (and key role) name of a desk."""
    return f"desk-{desk}"


@dataclass(frozen=True, slots=True)
class StoredKey:
    """One key in the store: its role, public key, and where its private half lives."""

    role: str
    public: SSlibKey
    private_path: Path
    demo: bool

    @property
    def keyid(self) -> str:
        return str(self.public.keyid)


@dataclass
class KeyStore:
    """Reads and writes keys in one folder. ``allow_demo`` permits unencrypted demo keys."""

    directory: Path
    passphrase_env: str = "TAMIZDAT_PASSPHRASE"  # noqa: S105 (a variable name)
    allow_demo: bool = False
    prompter: Prompter = field(default_factory=Prompter, repr=False)
    _signers: dict[str, CryptoSigner] = field(default_factory=dict, repr=False)
    _passphrase: bytes | None = field(default=None, repr=False)
    _active: dict[str, list[StoredKey]] = field(default_factory=dict, repr=False)
    # One salt for the online keys made in this session, and the derivations done so far
    # (see tamizdat.trust.sign.keyfile): one scrypt run opens all the online keys.
    _online_salt: bytes = field(default_factory=lambda: os.urandom(16), repr=False)
    _derived: DerivedKeys = field(default_factory=DerivedKeys, repr=False)

    @property
    def metadata_dir(self) -> Path:
        return self.directory / "metadata"

    @property
    def holders_dir(self) -> Path:
        return self.directory / HOLDERS_DIR

    def exists(self) -> bool:
        """True if the store holds any key."""
        return self.directory.is_dir() and any(self.directory.glob("*.pub"))

    def active_keys(self, role: str) -> list[StoredKey]:
        """The role's active keys, sorted by key id (no private key is read)."""
        cached = self._active.get(role)
        if cached is not None:
            return list(cached)
        keys = []
        for pub in sorted(self.directory.glob(f"{role}.*.pub")):
            parts = pub.name.split(".")
            if len(parts) != 3 or parts[0] != role:
                continue  # retired/revoked (4 parts) or another role with a dotted prefix
            keys.append(self._stored(pub))
        keys.sort(key=lambda k: k.keyid)
        self._active[role] = keys
        return list(keys)

    def find(self, keyid: str) -> StoredKey:
        """The active key with this id (a unique prefix of at least 8 digits is enough).

        Raises:
            KeyStoreError: no active key, or several, match.
        """
        matches = [
            self._stored(pub)
            for pub in sorted(self.directory.glob("*.pub"))
            if len(pub.name.split(".")) == 3
            and pub.name.split(".")[1].startswith(keyid)
            and len(keyid) >= 8
        ]
        if len(matches) != 1:
            raise KeyStoreError(
                f"expected one active key with id {keyid!r}, found {len(matches)}",
                where=str(self.directory),
                hint="'tamizdat keys list' shows the key ids (at least 8 digits)",
            )
        return matches[0]

    def create(self, role: str, *, demo: bool, state: str | None = None) -> StoredKey:
        """Generate an Ed25519 key for ``role`` and store it (encrypted unless ``demo``);
        ``state="pending"`` keeps it out of the active keys until a root change lists it.

        Raises:
            KeyStoreError: no passphrase is available for an encrypted key.
        """
        self._ensure_dir()
        private = Ed25519PrivateKey.generate()
        public = SSlibKey.from_crypto(private.public_key())
        if demo:
            pem = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            name = f"{role}.{public.keyid}.{DEMO_LABEL}.key"
        else:
            label = f"{role} key {public.keyid[:8]}"
            pem = seal_private_key(
                private,
                self._new_passphrase(),
                role=role,
                keyid=public.keyid,
                label=label,
                salt=self._online_salt,
                derived=self._derived,
            )
            name = f"{role}.{public.keyid}.key"
        atomic_write(self.directory / name, pem, 0o600)
        self._write_public(role, public, state)
        logger.info("created %s key %s (%s)", role, public.keyid, "demo" if demo else "encrypted")
        stored = StoredKey(role, public, self.directory / name, demo)
        if state is not None:
            stored = self.in_state(stored, state)
            (self.directory / name).rename(stored.private_path)
        return stored

    def holder_passphrases(self, total: int) -> list[bytes]:
        """Ask each of ``total`` root holders for their own passphrase (``$…_HOLDER_K`` or
        the prompt), before any key is made.

        Raises:
            KeyStoreError: a passphrase is missing, or two holders (or a holder and the
                online keys) share one: one passphrase would then open two root keys, and
                separating the holders would be for show.
        """
        seen: dict[bytes, str] = {}
        if self._passphrase is not None:
            seen[hashlib.sha256(self._passphrase).digest()] = "the online keys"
        chosen: list[bytes] = []
        for index in range(1, total + 1):
            env = holder_env(self.passphrase_env, index)
            value = ask_new_passphrase(
                describe=f"root key of holder {index} of {total}", env=env, prompter=self.prompter
            )
            digest = hashlib.sha256(value).digest()
            if digest in seen:
                raise KeyStoreError(
                    f"root holder {index} has the same passphrase as {seen[digest]}",
                    where=f"${env}",
                    hint="each holder chooses their own passphrase and tells it to no one",
                )
            seen[digest] = f"root holder {index}"
            chosen.append(value)
        return chosen

    def create_holder(
        self, index: int, total: int, passphrase: bytes, *, state: str | None = None
    ) -> tuple[StoredKey, CryptoSigner]:
        """Generate root holder ``index``'s key sealed under ``passphrase`` (theirs, from
        :meth:`holder_passphrases`) into ``holders/`` for handing out; return it with its
        signer (for the root it must sign now)."""
        self._ensure_dir()
        self.holders_dir.mkdir(exist_ok=True, mode=0o700)
        self.holders_dir.chmod(0o700)
        private = Ed25519PrivateKey.generate()
        public = SSlibKey.from_crypto(private.public_key())
        label = f"root key {public.keyid[:8]} of holder {index} of {total}"
        sealed = seal_private_key(private, passphrase, role="root", keyid=public.keyid, label=label)
        path = self.holders_dir / f"root-holder-{index}.{public.keyid}.key"
        atomic_write(path, sealed, 0o600)
        self._write_public("root", public, state)
        return StoredKey("root", public, path, False), CryptoSigner(private, public)

    def _write_public(self, role: str, public: SSlibKey, state: str | None) -> None:
        middle = f".{state}" if state else ""
        pub_path = self.directory / f"{role}.{public.keyid}{middle}.pub"
        atomic_write(pub_path, json.dumps(public.to_dict(), sort_keys=True).encode(), 0o600)
        self._active.clear()

    def in_state(self, key: StoredKey, state: str) -> StoredKey:
        """Where ``key`` lives once in ``state`` (a key in holders/ never moves)."""
        path = key.private_path
        if path.parent == self.directory:
            path = path.with_name(f"{path.name}.{state}")
        return StoredKey(key.role, key.public, path, key.demo)

    def set_state(self, key: StoredKey, state: str) -> None:
        """Mark a key ``retired``, ``revoked`` or ``pending``: no longer active for its role."""
        if state not in _STATES:
            raise ValueError(state)
        pub = self.directory / f"{key.role}.{key.keyid}.pub"
        pub.rename(self.directory / f"{key.role}.{key.keyid}.{state}.pub")
        if key.private_path.exists() and key.private_path.parent == self.directory:
            key.private_path.rename(key.private_path.with_name(f"{key.private_path.name}.{state}"))
        self._signers.pop(key.keyid, None)
        self._active.clear()

    def keys_in_state(self, role: str, state: str) -> list[StoredKey]:
        """The role's keys in ``state`` (``pending``, ``retired``, ``revoked``)."""
        found = []
        for pub in sorted(self.directory.glob(f"{role}.*.{state}.pub")):
            parts = pub.name.split(".")
            if len(parts) == 4 and parts[0] == role:
                found.append(self.in_state(self._stored(pub), state))
        return found

    def activate(self, key: StoredKey, state: str) -> None:
        """Make a key in ``state`` active again (a pending key its root now lists)."""
        (self.directory / f"{key.role}.{key.keyid}.{state}.pub").rename(
            self.directory / f"{key.role}.{key.keyid}.pub"
        )
        suffix = f".{state}"
        if key.private_path.name.endswith(suffix) and key.private_path.exists():
            key.private_path.rename(
                key.private_path.with_name(key.private_path.name[: -len(suffix)])
            )
        self._active.clear()

    def discard(self, key: StoredKey) -> None:
        """Delete a key made moments ago for a change that failed (never an old key)."""
        for pub in self.directory.glob(f"{key.role}.{key.keyid}*.pub"):
            pub.unlink()
        key.private_path.unlink(missing_ok=True)
        self._signers.pop(key.keyid, None)
        self._active.clear()

    def signer(self, key: StoredKey) -> CryptoSigner:
        """The signer of a stored key, decrypting it on first use.

        Raises:
            KeyStoreError: the private key file is missing, the passphrase is wrong or
                missing, or it is a demo key and demo keys are not allowed.
        """
        cached = self._signers.get(key.keyid)
        if cached is not None:
            return cached
        if key.demo and not (self.allow_demo or os.environ.get(DEMO_ENV) == "1"):
            raise KeyStoreError(
                "refusing to sign with an unencrypted demo key",
                where=str(key.private_path),
                hint=f"pass --demo or set {DEMO_ENV}=1 to use demo keys; real sites need "
                "'tamizdat keys init' without --demo",
            )
        try:
            data = key.private_path.read_bytes()
        except FileNotFoundError:
            raise KeyStoreError(
                f"expected the private key of {key.role} key {key.keyid[:8]}, found no file",
                where=str(key.private_path),
            ) from None
        if key.demo:
            try:
                private = serialization.load_pem_private_key(data, None)
            except (ValueError, TypeError) as exc:
                raise KeyStoreError(
                    f"cannot read the demo {key.role} key: {exc}", where=str(key.private_path)
                ) from None
            if not isinstance(private, Ed25519PrivateKey):
                raise KeyStoreError("expected an Ed25519 private key", where=str(key.private_path))
        else:
            private = self.open_file(key.private_path, role=key.role, keyid=key.keyid)
        signer = CryptoSigner(private, key.public)
        self._signers[key.keyid] = signer
        return signer

    def signers(self, role: str) -> list[CryptoSigner]:
        """Signers of every active key of ``role`` whose private half is present.

        Raises:
            KeyStoreError: the role has no usable key.
        """
        keys = [k for k in self.active_keys(role) if k.private_path.exists()]
        if not keys:
            raise KeyStoreError(
                f"expected a private key for role {role!r}, found none",
                where=str(self.directory),
                hint="run 'tamizdat keys init' (or 'keys add-desk NAME' for a desk)",
            )
        return [self.signer(k) for k in keys]

    def open_file(
        self, path: Path, *, role: str = "", keyid: str = "", env: str | None = None
    ) -> Ed25519PrivateKey:
        """Decrypt the key file at ``path`` with the passphrase of ``$env`` (default: the
        store's variable), the one that opened the last key, or the prompt.

        Raises:
            KeyStoreError: not a key file, or no right passphrase (names key and source).
        """
        return self._unlock(path, role=role, keyid=keyid, env=env)[0]

    def _read(self, path: Path, *, role: str, keyid: str) -> KeyFile:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise KeyStoreError("expected a key file, found none", where=str(path)) from None
        return read_key_file(data, where=str(path), role=role, keyid=keyid)

    def _unlock(
        self, path: Path, *, role: str, keyid: str, env: str | None, rekeying: bool = False
    ) -> tuple[Ed25519PrivateKey, bytes]:
        keyfile = self._read(path, role=role, keyid=keyid)
        private, passphrase = unlock_with(
            lambda phrase: keyfile.try_open(phrase, self._derived),
            describe=keyfile.label,
            env=env or self.passphrase_env,
            path=path,
            prompter=self.prompter,
            cached=self._passphrase if env is None else None,
        )
        if env is None:
            self._passphrase = passphrase
        if keyfile.legacy and not rekeying:
            logger.warning(
                "%s: the %s uses a weak, quick-to-guess encryption; "
                "re-encrypt it with 'tamizdat keys rekey'",
                path,
                keyfile.label,
            )
        return private, passphrase

    def rekey_file(self, path: Path, *, env: str | None = None) -> bool:
        """Re-encrypt a version-1 or weak key file at today's parameters, under the same
        passphrase; False (and nothing written) when it is already current.

        Raises:
            KeyStoreError: not a key file, or no right passphrase.
        """
        role, keyid = _name_parts(path)
        keyfile = self._read(path, role=role, keyid=keyid)
        if not keyfile.legacy:
            return False
        private, passphrase = self._unlock(path, role=role, keyid=keyid, env=env, rekeying=True)
        sealed = seal_private_key(
            private,
            passphrase,
            role=keyfile.role,
            keyid=keyfile.keyid,
            label=keyfile.label,
            salt=self._online_salt if env is None else None,
            derived=self._derived,
        )
        atomic_write(path, sealed, 0o600)
        return True

    def _sealed_online_key(self) -> StoredKey | None:
        for pub in sorted(self.directory.glob("*.pub")):
            parts = pub.name.split(".")
            if len(parts) == 3 and parts[0] != "root":
                key = self._stored(pub)
                if not key.demo and key.private_path.exists():
                    return key
        return None

    def online_passphrase(self) -> bytes:
        """The online keys' passphrase (asked for once, then kept for this store).

        Raises:
            KeyStoreError: neither the variable nor a terminal gives one.
        """
        return self._new_passphrase()

    def _new_passphrase(self) -> bytes:
        if self._passphrase is None:
            # Keys added later (a rotation, a new desk) must be sealed under the passphrase
            # the online keys already have: prove it by opening one of them first, so a
            # mistyped one is refused (and asked again) instead of splitting the keys.
            sealed = self._sealed_online_key()
            if sealed is not None:
                path, role, keyid = sealed.private_path, sealed.role, sealed.keyid
                return self._unlock(path, role=role, keyid=keyid, env=None)[1]
            self._passphrase = ask_new_passphrase(
                describe="online keys (targets, snapshot, timestamp, desks)",
                env=self.passphrase_env,
                prompter=self.prompter,
            )
        return self._passphrase

    def _stored(self, pub: Path) -> StoredKey:
        role, keyid = pub.name.split(".")[:2]
        try:
            public = SSlibKey.from_dict(keyid, json.loads(pub.read_bytes()))
        except (ValueError, KeyError, TypeError) as exc:
            raise KeyStoreError(
                f"expected a public key file, found: {exc}", where=str(pub)
            ) from None
        demo = self.directory / f"{role}.{keyid}.{DEMO_LABEL}.key"
        if demo.exists():
            return StoredKey(role, public, demo, True)
        return StoredKey(role, public, self.directory / f"{role}.{keyid}.key", False)

    def _ensure_dir(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.directory.chmod(0o700)
        self.metadata_dir.mkdir(exist_ok=True, mode=0o700)
        self.metadata_dir.chmod(0o700)
