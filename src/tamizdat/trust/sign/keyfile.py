"""One private key in one file, encrypted under a passphrase with a memory-hard derivation.

Format (version 2, JSON)::

    {"type": "tamizdat-private-key", "version": 2, "role": "root", "keyid": "…",
     "label": "root holder 2 of 3",
     "kdf": {"name": "scrypt", "log2_n": 17, "r": 8, "p": 1, "salt": "<hex, 16 bytes>"},
     "cipher": {"name": "aes-256-gcm", "nonce": "<hex, 12 bytes>"},
     "ciphertext": "<hex: the 32-byte Ed25519 seed, sealed>"}

Invariants:
- The key that seals the seed comes from scrypt (RFC 7914) at no less than :data:`MIN_KDF`
  (OWASP's password storage recommendation: N=2^17, r=8, p=1, i.e. 128 MiB per guess); the
  parameters travel in the file, so stronger ones can be chosen later and old files still open.
- Everything but the ciphertext is authenticated data of the AEAD: a file whose role, key id,
  label or parameters were edited does not open, so a key cannot be passed off as another.
- Parameters are bounded before any work (a planted file with N=2^40 must not exhaust memory).
- Keys sealed under one passphrase in one session share a salt (the online keys): a
  guesser pays one derivation per guess either way, and signing pays one derivation for all
  of them instead of one per key. Each passphrase gets its own salt, so derivations are
  never shared across holders.
- Version-1 files (PKCS#8 PEM from ``cryptography``'s BestAvailableEncryption: PBKDF2, cheap
  to guess) still open, and say they should be re-encrypted (``tamizdat keys rekey``).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tamizdat.errors import KeyStoreError

__all__ = [
    "CURRENT_KDF",
    "FILE_TYPE",
    "MIN_KDF",
    "DerivedKeys",
    "KdfParams",
    "KeyFile",
    "read_key_file",
    "seal_private_key",
]

FILE_TYPE = "tamizdat-private-key"
_VERSION = 2
_PEM_ENCRYPTED = b"-----BEGIN ENCRYPTED PRIVATE KEY-----"
_PEM_PLAIN = b"-----BEGIN PRIVATE KEY-----"


@dataclass(frozen=True, slots=True)
class KdfParams:
    """scrypt cost: N = 2**log2_n, block size r, parallelism p (RFC 7914)."""

    log2_n: int
    r: int
    p: int

    @property
    def memory(self) -> int:
        """Bytes one derivation needs (128 · N · r), what a guesser pays per guess too."""
        return int(128 * (2**self.log2_n) * self.r)

    def at_least(self, other: KdfParams) -> bool:
        """Whether each cost is no lower than ``other``'s (memory and time both)."""
        return self.log2_n >= other.log2_n and self.r >= other.r and self.p >= other.p

    def derive(self, passphrase: bytes, salt: bytes) -> bytes:
        return hashlib.scrypt(
            passphrase,
            salt=salt,
            n=2**self.log2_n,
            r=self.r,
            p=self.p,
            maxmem=self.memory * self.p + 16 * 1024 * 1024,
            dklen=32,
        )


class DerivedKeys:
    """Derivations done in one session, by (passphrase, salt, parameters): a key store
    opening several files sealed with one passphrase and salt derives once."""

    def __init__(self) -> None:
        self._done: dict[tuple[bytes, bytes, KdfParams], bytes] = {}

    def get(self, params: KdfParams, passphrase: bytes, salt: bytes) -> bytes:
        key = (passphrase, salt, params)
        if key not in self._done:
            self._done[key] = params.derive(passphrase, salt)
        return self._done[key]


# OWASP Password Storage Cheat Sheet (scrypt): N=2^17, r=8, p=1 as the minimum.
MIN_KDF = KdfParams(log2_n=17, r=8, p=1)
CURRENT_KDF = MIN_KDF
# The most a file may ask for: 2^20 · 8 · 128 = 1 GiB, a few seconds. Anything above is not
# a key tamizdat wrote; refuse it before spending the memory.
_MAX_KDF = KdfParams(log2_n=20, r=16, p=4)


@dataclass(frozen=True, slots=True)
class KeyFile:
    """A parsed private key file; ``try_open`` needs the passphrase."""

    role: str
    keyid: str
    label: str
    kdf: KdfParams | None  # None: a version-1 PEM file
    _header: dict[str, Any]
    _sealed: bytes

    @property
    def legacy(self) -> bool:
        """A version-1 file, or one below today's minimum: re-encrypt it (``keys rekey``)."""
        return self.kdf is None or not self.kdf.at_least(MIN_KDF)

    def try_open(
        self, passphrase: bytes, derived: DerivedKeys | None = None
    ) -> Ed25519PrivateKey | None:
        """The private key, or None when the passphrase is wrong (or the file damaged).

        Raises:
            KeyStoreError: the file decrypts to something that is not an Ed25519 key.
        """
        if self.kdf is None:
            try:
                loaded = serialization.load_pem_private_key(self._sealed, passphrase)
            except (ValueError, TypeError):
                return None
        else:
            salt = bytes.fromhex(self._header["kdf"]["salt"])
            nonce = bytes.fromhex(self._header["cipher"]["nonce"])
            sealing = AESGCM((derived or DerivedKeys()).get(self.kdf, passphrase, salt))
            try:
                seed = sealing.decrypt(nonce, self._sealed, _aad(self._header))
            except InvalidTag:
                return None
            try:
                loaded = Ed25519PrivateKey.from_private_bytes(seed)
            except ValueError:
                loaded = None
        if not isinstance(loaded, Ed25519PrivateKey):
            raise KeyStoreError(f"expected an Ed25519 private key in the {self.label} file")
        return loaded


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def seal_private_key(
    private: Ed25519PrivateKey,
    passphrase: bytes,
    *,
    role: str,
    keyid: str,
    label: str,
    params: KdfParams = CURRENT_KDF,
    salt: bytes | None = None,
    derived: DerivedKeys | None = None,
) -> bytes:
    """The bytes of a version-2 key file holding ``private`` under ``passphrase``; ``salt``
    (16 random bytes by default) may be shared by keys under the same passphrase."""
    salt, nonce = salt or os.urandom(16), os.urandom(12)
    header: dict[str, Any] = {
        "type": FILE_TYPE,
        "version": _VERSION,
        "role": role,
        "keyid": keyid,
        "label": label,
        "kdf": {"name": "scrypt", "log2_n": params.log2_n, "r": params.r, "p": params.p,
                "salt": salt.hex()},
        "cipher": {"name": "aes-256-gcm", "nonce": nonce.hex()},
    }  # fmt: skip
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    sealing = AESGCM((derived or DerivedKeys()).get(params, passphrase, salt))
    sealed = sealing.encrypt(nonce, seed, _aad(header))
    return (json.dumps({**header, "ciphertext": sealed.hex()}, indent=1) + "\n").encode()


def read_key_file(data: bytes, *, where: str, role: str = "", keyid: str = "") -> KeyFile:
    """Parse a key file (version 2, or a version-1 encrypted PEM for ``role``/``keyid``).

    Raises:
        KeyStoreError: not a key file, an unknown format, or parameters out of bounds.
    """
    head = data.lstrip()[:64]
    if head.startswith(_PEM_ENCRYPTED):
        return KeyFile(role, keyid, f"{role} key {keyid[:8]}", None, {}, data)
    if head.startswith(_PEM_PLAIN):
        raise KeyStoreError("expected an encrypted key, found an unencrypted one", where=where)
    try:
        doc = json.loads(data)
        if not isinstance(doc, dict) or doc.get("type") != FILE_TYPE:
            raise ValueError("not a tamizdat key file")
        if doc.get("version") != _VERSION:
            raise ValueError(f"unknown version {doc.get('version')!r}")
        kdf, cipher = doc["kdf"], doc["cipher"]
        if kdf["name"] != "scrypt" or cipher["name"] != "aes-256-gcm":
            raise ValueError(f"unknown algorithms {kdf['name']!r}/{cipher['name']!r}")
        params = KdfParams(int(kdf["log2_n"]), int(kdf["r"]), int(kdf["p"]))
        sealed = bytes.fromhex(doc["ciphertext"])
        bytes.fromhex(kdf["salt"])
        if len(bytes.fromhex(cipher["nonce"])) != 12:
            raise ValueError("expected a 12-byte nonce")
        header = {k: v for k, v in doc.items() if k != "ciphertext"}
        file_role, file_keyid, label = str(doc["role"]), str(doc["keyid"]), str(doc["label"])
    except (ValueError, KeyError, TypeError) as exc:
        raise KeyStoreError(f"expected a tamizdat key file, found: {exc}", where=where) from None
    if params.log2_n < 1 or params.r < 1 or params.p < 1 or not _MAX_KDF.at_least(params):
        raise KeyStoreError(
            f"expected scrypt parameters up to N=2^{_MAX_KDF.log2_n}, r={_MAX_KDF.r}, "
            f"p={_MAX_KDF.p}, found N=2^{params.log2_n}, r={params.r}, p={params.p}",
            where=where,
        )
    if (role and file_role != role) or (keyid and file_keyid != keyid):
        raise KeyStoreError(
            f"expected the {role} key {keyid[:8]}, found the {file_role} key {file_keyid[:8]}",
            where=where,
        )
    return KeyFile(file_role, file_keyid, label, params, header, sealed)
