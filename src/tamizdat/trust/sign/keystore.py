"""The key store: Ed25519 signing keys, encrypted at rest, outside the site by default.

Layout of ``config.signing.keys_dir`` (mode 0700; every file 0600)::

    <role>.<keyid>.key                     PKCS#8 PEM, encrypted with the passphrase
    <role>.<keyid>.DEMO-UNENCRYPTED.key    demo/test keys: no passphrase (loudly labelled)
    <role>.<keyid>.pub                     the public key (securesystemslib JSON), no secret
    <role>.<keyid>.<state>.key|pub         ``retired`` (rotated out) or ``revoked``
    metadata/N.root.json                   every root version, ``1.root.json`` = fingerprint

Roles with keys: ``root`` (several holders), ``targets``, ``snapshot``, ``timestamp`` and
``desk-NAME`` per desk. The *active* keys of a role are its ``.pub`` files without a state;
a role's metadata is signed by every active key whose private half is present.

Invariant: a private key is never written unencrypted unless the user asked for demo keys,
and demo keys are never used for signing unless demo use is allowed again at signing time
(``--demo`` or ``TAMIZDAT_DEMO_KEYS=1``).
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, SSlibKey

from tamizdat.errors import KeyStoreError
from tamizdat.files import write_atomic as atomic_write

__all__ = [
    "DEMO_ENV",
    "DEMO_LABEL",
    "KeyStore",
    "StoredKey",
    "atomic_write",
    "desk_role",
]

logger = logging.getLogger(__name__)

DEMO_ENV = "TAMIZDAT_DEMO_KEYS"
DEMO_LABEL = "DEMO-UNENCRYPTED"
_STATES = ("retired", "revoked")


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
    _signers: dict[str, CryptoSigner] = field(default_factory=dict, repr=False)
    _passphrase: bytes | None = field(default=None, repr=False)
    _active: dict[str, list[StoredKey]] = field(default_factory=dict, repr=False)

    @property
    def metadata_dir(self) -> Path:
        return self.directory / "metadata"

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

    def create(self, role: str, *, demo: bool) -> StoredKey:
        """Generate an Ed25519 key for ``role`` and store it (encrypted unless ``demo``).

        Raises:
            KeyStoreError: no passphrase is available for an encrypted key.
        """
        self._ensure_dir()
        private = Ed25519PrivateKey.generate()
        public = SSlibKey.from_crypto(private.public_key())
        if demo:
            encryption: serialization.KeySerializationEncryption = serialization.NoEncryption()
            name = f"{role}.{public.keyid}.{DEMO_LABEL}.key"
        else:
            encryption = serialization.BestAvailableEncryption(self.passphrase(confirm=True))
            name = f"{role}.{public.keyid}.key"
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        atomic_write(self.directory / name, pem, 0o600)
        pub_path = self.directory / f"{role}.{public.keyid}.pub"
        atomic_write(pub_path, json.dumps(public.to_dict(), sort_keys=True).encode(), 0o600)
        self._active.clear()
        logger.info("created %s key %s (%s)", role, public.keyid, "demo" if demo else "encrypted")
        return StoredKey(role, public, self.directory / name, demo)

    def set_state(self, key: StoredKey, state: str) -> None:
        """Mark a key ``retired`` or ``revoked``: it is no longer active for its role."""
        if state not in _STATES:
            raise ValueError(state)
        pub = self.directory / f"{key.role}.{key.keyid}.pub"
        pub.rename(self.directory / f"{key.role}.{key.keyid}.{state}.pub")
        if key.private_path.exists():
            key.private_path.rename(key.private_path.with_name(f"{key.private_path.name}.{state}"))
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
            pem = key.private_path.read_bytes()
        except FileNotFoundError:
            raise KeyStoreError(
                f"expected the private key of {key.role} key {key.keyid[:8]}, found no file",
                where=str(key.private_path),
            ) from None
        password = None if key.demo else self.passphrase()
        try:
            private = serialization.load_pem_private_key(pem, password)
        except (ValueError, TypeError) as exc:
            raise KeyStoreError(
                f"cannot decrypt the {key.role} key: wrong passphrase or damaged file ({exc})",
                where=str(key.private_path),
                hint=f"check the passphrase in ${self.passphrase_env}",
            ) from None
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyStoreError("expected an Ed25519 private key", where=str(key.private_path))
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

    def passphrase(self, *, confirm: bool = False) -> bytes:
        """The passphrase: from ``$passphrase_env``, else a terminal prompt.

        Raises:
            KeyStoreError: the variable is unset and stdin is not a terminal.
        """
        if self._passphrase is not None:
            return self._passphrase
        value = os.environ.get(self.passphrase_env)
        if value is None:
            if not sys.stdin.isatty():
                raise KeyStoreError(
                    "no passphrase for the signing keys",
                    where=f"${self.passphrase_env}",
                    hint=f"set {self.passphrase_env} (the [signing] passphrase_env setting) "
                    "or run in a terminal to be prompted",
                )
            value = getpass.getpass("key passphrase: ")
            if confirm and getpass.getpass("repeat passphrase: ") != value:
                raise KeyStoreError("the two passphrases differ", where="prompt")
        if not value:
            raise KeyStoreError("the passphrase is empty", where=f"${self.passphrase_env}")
        self._passphrase = value.encode()
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
