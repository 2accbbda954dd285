"""Key files: scrypt at today's recommendation, parameters in the file and authenticated,
bounded before any work; old PEM files still open and can be re-encrypted."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from keykit import ONLINE, PASS_ENV
from securesystemslib.signer import SSlibKey

from tamizdat.config import Config
from tamizdat.errors import KeyStoreError
from tamizdat.trust.sign.keyfile import (
    CURRENT_KDF,
    MIN_KDF,
    KdfParams,
    read_key_file,
    seal_private_key,
)
from tamizdat.trust.sign.keys import open_store

# OWASP Password Storage Cheat Sheet, scrypt: N=2^17 (128 MiB with r=8), r=8, p=1.
OWASP = KdfParams(log2_n=17, r=8, p=1)


def test_parameters_meet_the_recommendation() -> None:
    assert MIN_KDF.at_least(OWASP)
    assert CURRENT_KDF.at_least(MIN_KDF)
    assert CURRENT_KDF.memory >= 128 * 1024 * 1024


def test_every_key_file_the_store_writes_carries_strong_parameters(holders_site: Config) -> None:
    keys = holders_site.signing.keys_dir
    files = [*keys.glob("*.key"), *keys.glob("holders/*.key")]
    assert len(files) == 3 + 1 + 3  # online roles, one desk, three holders
    for path in files:
        doc = json.loads(path.read_bytes())
        params = KdfParams(doc["kdf"]["log2_n"], doc["kdf"]["r"], doc["kdf"]["p"])
        assert doc["kdf"]["name"] == "scrypt"
        assert params.at_least(OWASP), path
        assert len(bytes.fromhex(doc["kdf"]["salt"])) == 16
        assert not read_key_file(path.read_bytes(), where=str(path)).legacy


@pytest.fixture(scope="module")
def sealed() -> tuple[bytes, Ed25519PrivateKey]:
    private = Ed25519PrivateKey.generate()
    keyid = SSlibKey.from_crypto(private.public_key()).keyid
    return seal_private_key(
        private, b"right", role="timestamp", keyid=keyid, label="timestamp key"
    ), private


def _raw(private: Ed25519PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def test_round_trip_and_wrong_passphrase(sealed: tuple[bytes, Ed25519PrivateKey]) -> None:
    data, private = sealed
    keyfile = read_key_file(data, where="k")
    opened = keyfile.try_open(b"right")
    assert opened is not None
    assert _raw(opened) == _raw(private)
    assert keyfile.try_open(b"wrong") is None
    assert keyfile.try_open(b"") is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("role", "root"),
        ("keyid", "0" * 64),
        ("label", "root key of holder 1"),
        ("kdf", {"name": "scrypt", "log2_n": 18, "r": 8, "p": 1, "salt": "00" * 16}),
    ],
)
def test_an_edited_header_does_not_open(
    sealed: tuple[bytes, Ed25519PrivateKey], field: str, value: object
) -> None:
    doc = json.loads(sealed[0])
    doc[field] = value
    assert read_key_file(json.dumps(doc).encode(), where="k").try_open(b"right") is None


@pytest.mark.parametrize(
    "change",
    [
        {"kdf": {"name": "scrypt", "log2_n": 40, "r": 8, "p": 1, "salt": "00" * 16}},
        {"kdf": {"name": "scrypt", "log2_n": 17, "r": 4096, "p": 1, "salt": "00" * 16}},
        {"kdf": {"name": "scrypt", "log2_n": 17, "r": 8, "p": 1000, "salt": "00" * 16}},
        {"kdf": {"name": "scrypt", "log2_n": 0, "r": 8, "p": 1, "salt": "00" * 16}},
        {"kdf": {"name": "pbkdf2", "log2_n": 17, "r": 8, "p": 1, "salt": "00" * 16}},
        {"cipher": {"name": "aes-256-gcm", "nonce": "00"}},
        {"cipher": {"name": "des", "nonce": "00" * 12}},
        {"version": 3},
        {"type": "something-else"},
        {"ciphertext": "zz"},
        {"kdf": None},
    ],
)
def test_a_hostile_file_is_refused_before_any_work(
    sealed: tuple[bytes, Ed25519PrivateKey], change: dict[str, object]
) -> None:
    doc = {**json.loads(sealed[0]), **change}
    with pytest.raises(KeyStoreError) as caught:
        read_key_file(json.dumps(doc).encode(), where="the/key/file")
    assert caught.value.where == "the/key/file"


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b"-----BEGIN PRIVATE KEY-----\n"])
def test_garbage_is_not_a_key_file(data: bytes) -> None:
    with pytest.raises(KeyStoreError):
        read_key_file(data, where="k")


def test_old_pem_files_open_warn_and_rekey(
    holders_site: Config, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(holders_site)
    key = store.active_keys("snapshot")[0]
    private = store.signer(key)._private_key
    # What tamizdat wrote before: PKCS#8 PEM, PBKDF2 by 'cryptography'.
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(ONLINE.encode()),
    )
    key.private_path.write_bytes(pem)
    fresh = open_store(holders_site)
    with caplog.at_level(logging.WARNING):
        signer = fresh.signer(fresh.active_keys("snapshot")[0])
    assert signer.public_key.keyid == key.keyid
    assert "tamizdat keys rekey" in caplog.text
    assert f"snapshot key {key.keyid[:8]}" in caplog.text

    assert fresh.rekey_file(key.private_path) is True
    assert json.loads(key.private_path.read_bytes())["kdf"]["log2_n"] >= 17
    assert fresh.rekey_file(key.private_path) is False  # already current
    monkeypatch.setenv(PASS_ENV, ONLINE)
    again = open_store(holders_site)
    assert again.signer(again.active_keys("snapshot")[0]).public_key.keyid == key.keyid


def test_rekey_refuses_a_wrong_passphrase_and_keeps_the_file(
    holders_site: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_store(holders_site)
    key = store.active_keys("targets")[0]
    private = store.signer(key)._private_key
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(ONLINE.encode()),
    )
    key.private_path.write_bytes(pem)
    monkeypatch.setenv(PASS_ENV, "not it")
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        open_store(holders_site).rekey_file(key.private_path)
    assert Path(key.private_path).read_bytes() == pem


def test_one_derivation_opens_every_online_key(
    holders_site: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signing a release opens targets, snapshot, timestamp and each desk key: one scrypt
    run for all of them (they share the online passphrase and salt), not one per key."""
    import hashlib

    runs: list[int] = []
    real = hashlib.scrypt

    def counting(*args: object, **kwargs: object) -> bytes:
        runs.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashlib, "scrypt", counting)
    store = open_store(holders_site)
    for role in ("targets", "snapshot", "timestamp", "desk-news"):
        store.signers(role)
    assert len(runs) == 1


def test_cli_rekey_reencrypts_old_files_only(
    holders_site: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    from tamizdat.cli import main

    store = open_store(holders_site)
    key = store.active_keys("timestamp")[0]
    pem = store.signer(key)._private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(ONLINE.encode()),
    )
    key.private_path.write_bytes(pem)
    site = str(holders_site.root)
    assert main(["-C", site, "--json", "keys", "rekey"]) == 0
    assert json.loads(capsys.readouterr().out)["rekeyed"] == [str(key.private_path)]
    assert main(["-C", site, "keys", "rekey"]) == 0
    assert "already uses today's encryption" in capsys.readouterr().out
    holder = next(holders_site.signing.keys_dir.glob("holders/root-holder-1.*.key"))
    assert main(["keys", "rekey", "--key", str(holder)]) == 0  # a holder's own file
    assert "already uses today's encryption" in capsys.readouterr().out
