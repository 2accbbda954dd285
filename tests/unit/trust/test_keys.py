"""Key store: encryption at rest, modes, passphrases, demo labelling, the first root.

(The key file format, prompts and the holders' ceremony are in ``sign/``.)"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from trustkit import write_config
from tuf.api.metadata import Metadata, Root

from tamizdat.errors import KeyStoreError, UserError
from tamizdat.fingerprint import root_fingerprint
from tamizdat.trust.sign.keys import add_desk, init_keys, open_store, read_fingerprint
from tamizdat.trust.sign.keystore import DEMO_LABEL

PASS_ENV = "TAMIZDAT_PASSPHRASE"


@pytest.fixture(scope="module")
def encrypted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One site with encrypted keys: three root holders, each with their own passphrase."""
    root = tmp_path_factory.mktemp("enc")
    config = write_config(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(PASS_ENV, "correct horse")
        for index in (1, 2, 3):
            mp.setenv(f"{PASS_ENV}_HOLDER_{index}", f"holder {index} battery staple")
        init_keys(config)
    return root


def test_files_are_private_and_encrypted(encrypted: Path) -> None:
    keys = encrypted / "keys"
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert stat.S_IMODE((keys / "metadata").stat().st_mode) == 0o700
    assert stat.S_IMODE((keys / "holders").stat().st_mode) == 0o700
    private = sorted(keys.glob("*.key"))
    holders = sorted(keys.glob("holders/*.key"))
    assert len(private) == 3 + 2  # targets/snapshot/timestamp, two desks
    assert [p.name.split(".")[0] for p in holders] == [f"root-holder-{i}" for i in (1, 2, 3)]
    for path in [*private, *holders, *keys.glob("*.pub"), *keys.glob("metadata/*")]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in [*private, *holders]:
        assert b'"kdf"' in path.read_bytes()
        assert b"PRIVATE KEY" not in path.read_bytes()
        assert DEMO_LABEL not in path.name


def test_keys_live_outside_the_site_by_default(tmp_path: Path) -> None:
    (tmp_path / "tamizdat.toml").write_text('[site]\ntitle = "T"\n', encoding="utf-8")
    from tamizdat.config import load_config

    config = load_config(tmp_path)
    assert not config.signing.keys_dir.is_relative_to(tmp_path)


def test_wrong_passphrase_names_the_key_file(
    encrypted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tamizdat.config import load_config

    monkeypatch.setenv(PASS_ENV, "wrong")
    store = open_store(load_config(encrypted))
    with pytest.raises(KeyStoreError, match="wrong passphrase") as caught:
        store.signers("targets")
    assert f"came from ${PASS_ENV}" in caught.value.message
    assert caught.value.where is not None
    assert caught.value.where.endswith(".key")
    assert "targets." in caught.value.where


def test_missing_passphrase_names_the_variable(
    encrypted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tamizdat.config import load_config

    monkeypatch.delenv(PASS_ENV, raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(KeyStoreError) as caught:
        open_store(load_config(encrypted)).signers("snapshot")
    assert caught.value.where == f"${PASS_ENV}"


def test_right_passphrase_signs(encrypted: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tamizdat.config import load_config

    monkeypatch.setenv(PASS_ENV, "correct horse")
    signer = open_store(load_config(encrypted)).signers("timestamp")[0]
    assert signer.public_key.keytype == "ed25519"


def test_first_root_has_threshold_and_fingerprint(encrypted: Path) -> None:
    from tamizdat.config import load_config

    data = (encrypted / "keys" / "metadata" / "1.root.json").read_bytes()
    root = Metadata[Root].from_bytes(data)
    assert root.signed.roles["root"].threshold == 2
    assert len(root.signed.roles["root"].keyids) == 3
    assert root.signed.consistent_snapshot
    root.verify_delegate("root", root)
    assert read_fingerprint(load_config(encrypted)) == root_fingerprint(data)


def test_init_refuses_to_overwrite(encrypted: Path) -> None:
    from tamizdat.config import load_config

    with pytest.raises(UserError, match="already exist"):
        init_keys(load_config(encrypted), demo=True)


def test_demo_keys_are_labelled_and_fingerprint_absent_before_init(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    assert read_fingerprint(config) is None
    init_keys(config, demo=True, holders=1, threshold=1)
    names = [p.name for p in (tmp_path / "keys").glob("*.key")]
    assert names
    assert all(DEMO_LABEL in n for n in names)


def test_bad_threshold_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="threshold 4 of 3"):
        init_keys(write_config(tmp_path), demo=True, holders=3, threshold=4)


def test_add_desk_creates_one_key_and_refuses_duplicates(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    init_keys(config, demo=True, holders=1, threshold=1)
    report = add_desk(config, "sport")
    assert report.created[0][0] == "desk-sport"
    assert report.demo
    with pytest.raises(UserError, match="already has a key"):
        add_desk(config, "sport")
