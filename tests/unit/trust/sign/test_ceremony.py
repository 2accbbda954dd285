"""The key ceremony: holders' keys apart, a root change signed holder by holder from one
file, python-tuf deciding when it is enough, the store untouched until then."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from keykit import PASS_ENV, holder_pass, set_passphrases
from trustkit import write_config
from tuf.api.metadata import Metadata, Root

from tamizdat.cli import main
from tamizdat.config import Config
from tamizdat.errors import KeyStoreError, UserError
from tamizdat.trust.sign.ceremony import (
    apply_root_change,
    describe_change,
    read_root_change,
    sign_root_change,
)
from tamizdat.trust.sign.keys import init_keys, latest_root, open_store
from tamizdat.trust.sign.keystore import KeyStore
from tamizdat.trust.sign.rotate import revoke_key, rotate_key


def holder_file(config: Config, index: int) -> Path:
    (found,) = config.signing.keys_dir.glob(f"holders/root-holder-{index}.*.key")
    return found


def sign_as(change: Path, config: Config, index: int) -> str:
    key = holder_file(config, index)
    count = sign_root_change(change, key, KeyStore(key.parent), env=f"{PASS_ENV}_HOLDER_{index}")
    return str(count)


def snapshot_of(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() and not p.name.startswith("root-change-")
    }


def test_init_gives_each_holder_a_file_only_their_passphrase_opens(holders_site: Config) -> None:
    store = open_store(holders_site)
    root = latest_root(store).signed
    assert root.roles["root"].threshold == 2
    assert len(root.roles["root"].keyids) == 3
    for key in store.active_keys("root"):
        assert not key.private_path.exists()  # this computer keeps only the public halves
    for index in (1, 2, 3):
        path = holder_file(holders_site, index)
        assert path.name.split(".")[1] in root.roles["root"].keyids
        other = holder_pass(index % 3 + 1).encode()
        from tamizdat.trust.sign.keyfile import read_key_file

        keyfile = read_key_file(path.read_bytes(), where=str(path))
        assert f"holder {index} of 3" in keyfile.label
        assert keyfile.try_open(holder_pass(index).encode()) is not None
        assert keyfile.try_open(other) is None


@pytest.mark.parametrize(
    ("env", "value", "clash"),
    [
        (f"{PASS_ENV}_HOLDER_2", holder_pass(1), "root holder 1"),
        (f"{PASS_ENV}_HOLDER_3", "online keys passphrase", "the online keys"),
    ],
)
def test_shared_passphrases_are_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str, value: str, clash: str
) -> None:
    config = write_config(tmp_path / "site")
    set_passphrases(monkeypatch)
    monkeypatch.setenv(env, value)
    with pytest.raises(KeyStoreError) as caught:
        init_keys(config)
    assert clash in caught.value.message
    assert caught.value.where == f"${env}"
    assert not config.signing.keys_dir.exists()


def test_a_holder_passphrase_missing_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clear_passphrases: Callable[[], None]
) -> None:
    config = write_config(tmp_path / "site")
    set_passphrases(monkeypatch)
    monkeypatch.delenv(f"{PASS_ENV}_HOLDER_2")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(KeyStoreError) as caught:
        init_keys(config)
    assert caught.value.where == f"${PASS_ENV}_HOLDER_2"
    assert not config.signing.keys_dir.exists()


def test_a_rotation_waits_for_two_holders_signing_separately(holders_site: Config) -> None:
    keys = holders_site.signing.keys_dir
    store = open_store(holders_site)
    old_timestamp = store.active_keys("timestamp")[0].keyid
    before = snapshot_of(keys)

    change = rotate_key(holders_site, "timestamp")
    assert change.proposal is not None
    assert change.root_version == 2
    assert "sign-root" in change.note
    # nothing changed yet: root 1 is latest, the old timestamp key still signs
    store = open_store(holders_site)
    assert latest_root(store).signed.version == 1
    assert [k.keyid for k in store.active_keys("timestamp")] == [old_timestamp]
    assert [k.keyid for k in store.keys_in_state("timestamp", "pending")] == list(change.added)
    assert set(before) <= set(snapshot_of(keys))

    lines = describe_change(read_root_change(change.proposal))
    assert f"+{change.added[0][:8]}" in "\n".join(lines)
    assert f"-{old_timestamp[:8]}" in "\n".join(lines)

    copy = change.proposal.with_name("copy-for-holder-3.json")
    shutil.copy(change.proposal, copy)
    assert sign_as(change.proposal, holders_site, 1).startswith("1 of 2")
    with pytest.raises(KeyStoreError, match="not signed by enough root keys"):
        apply_root_change(open_store(holders_site), [change.proposal])
    assert latest_root(open_store(holders_site)).signed.version == 1

    assert sign_as(copy, holders_site, 3).startswith("1 of 2")
    version, count = apply_root_change(open_store(holders_site), [change.proposal, copy])
    assert version == 2
    assert count.complete
    store = open_store(holders_site)
    root2 = latest_root(store)
    Metadata[Root].from_bytes((keys / "metadata" / "1.root.json").read_bytes()).verify_delegate(
        "root", root2
    )
    assert [k.keyid for k in store.active_keys("timestamp")] == list(change.added)
    assert store.keys_in_state("timestamp", "pending") == []
    assert [k.keyid for k in store.keys_in_state("timestamp", "retired")] == [old_timestamp]
    with pytest.raises(UserError, match="latest root here is 2"):
        apply_root_change(store, [change.proposal, copy])


def test_rotating_root_makes_new_holder_keys_and_needs_the_old_holders(
    holders_site: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = {holder_file(holders_site, i).name.split(".")[1] for i in (1, 2, 3)}
    old_files = {i: holder_file(holders_site, i) for i in (1, 2, 3)}
    set_passphrases(monkeypatch, generation=2)
    change = rotate_key(holders_site, "root")
    assert change.proposal is not None
    assert set(change.removed) == old
    for index in (1, 2):
        monkeypatch.setenv(f"{PASS_ENV}_HOLDER_{index}", holder_pass(index, 1))
        key = old_files[index]
        sign_root_change(
            change.proposal, key, KeyStore(key.parent), env=f"{PASS_ENV}_HOLDER_{index}"
        )
    version, _ = apply_root_change(open_store(holders_site), [change.proposal])
    root = latest_root(open_store(holders_site)).signed
    assert version == 2
    assert set(root.roles["root"].keyids) == set(change.added)
    assert len(list(holders_site.signing.keys_dir.glob("holders/root-holder-1.*.key"))) == 2


def test_revoking_a_lost_holder_key(holders_site: Config) -> None:
    lost = holder_file(holders_site, 2).name.split(".")[1]
    change = revoke_key(holders_site, lost[:12])
    assert change.proposal is not None
    assert open_store(holders_site).find(lost[:12]).keyid == lost  # still active until applied
    sign_as(change.proposal, holders_site, 1)
    sign_as(change.proposal, holders_site, 3)
    apply_root_change(open_store(holders_site), [change.proposal])
    store = open_store(holders_site)
    assert lost not in latest_root(store).signed.roles["root"].keyids
    assert [k.keyid for k in store.keys_in_state("root", "revoked")] == [lost]


def test_only_a_root_key_of_either_root_may_sign(holders_site: Config, tmp_path: Path) -> None:
    change = rotate_key(holders_site, "snapshot")
    assert change.proposal is not None
    online = open_store(holders_site).active_keys("targets")[0].private_path
    with pytest.raises(KeyStoreError, match="not a root key"):
        sign_root_change(change.proposal, online, KeyStore(online.parent), env=PASS_ENV)
    before = change.proposal.read_bytes()
    stranger = tmp_path / "stranger"
    with pytest.MonkeyPatch.context() as mp:
        set_passphrases(mp)
        init_keys(write_config(stranger, desks=("news",)))
    (key,) = (stranger / "keys" / "holders").glob("root-holder-1.*.key")
    with pytest.raises(KeyStoreError, match="not a root key"):
        sign_root_change(change.proposal, key, KeyStore(key.parent), env=f"{PASS_ENV}_HOLDER_1")
    assert change.proposal.read_bytes() == before


def test_copies_of_different_changes_do_not_combine(holders_site: Config) -> None:
    first = rotate_key(holders_site, "snapshot")
    assert first.proposal is not None
    other = first.proposal.with_name("other.json")
    doc = json.loads(first.proposal.read_bytes())
    doc["proposed"]["signed"]["expires"] = "2099-01-01T00:00:00Z"
    other.write_text(json.dumps(doc))
    with pytest.raises(UserError, match="different change"):
        apply_root_change(open_store(holders_site), [first.proposal, other])


@pytest.mark.parametrize(
    "content",
    [b"", b"{}", b'{"type": "tamizdat-root-change"}', b"x" * 5_000_000],
)
def test_a_malformed_change_file_is_named(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "change.json"
    path.write_bytes(content)
    with pytest.raises(UserError) as caught:
        read_root_change(path)
    assert caught.value.where == str(path)


def test_cli_ceremony(holders_site: Config, capsys: pytest.CaptureFixture[str]) -> None:
    site = str(holders_site.root)
    assert main(["-C", site, "--json", "keys", "rotate", "timestamp"]) == 0
    change = json.loads(capsys.readouterr().out)
    proposal = change["root_change_file"]
    assert main(["-C", site, "--json", "keys", "list"]) == 0
    listed = json.loads(capsys.readouterr().out)["keys"]
    assert [k["keyid"] for k in listed if k["pending"]] == change["added"]
    for index in (2, 3):
        key = str(holder_file(holders_site, index))
        assert main(["keys", "sign-root", proposal, "--key", key]) == 0
    captured = capsys.readouterr()
    assert "root 1 → 2: rotate timestamp" in captured.err
    assert f"change id {change['change_id']}" in captured.err  # what the holders compare
    assert "ready for 'tamizdat keys apply-root'" in captured.out
    assert main(["-C", site, "keys", "apply-root", proposal]) == 0
    assert "root 2 accepted" in capsys.readouterr().out


def test_a_mistyped_online_passphrase_makes_no_key(
    holders_site: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new key is sealed only under the passphrase the online keys already have: a typo
    would otherwise split them under two passphrases."""
    keys = holders_site.signing.keys_dir
    before = snapshot_of(keys)
    monkeypatch.setenv(PASS_ENV, "online keys passphrase with a typo")
    with pytest.raises(KeyStoreError, match="wrong passphrase") as caught:
        rotate_key(holders_site, "timestamp")
    assert f"${PASS_ENV}" in caught.value.message
    assert snapshot_of(keys) == before
    assert not list(keys.glob("root-change-*"))


def test_an_interrupted_rotation_leaves_the_store_as_it_was(
    holders_site: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = holders_site.signing.keys_dir
    before = snapshot_of(keys)

    def interrupted(*_args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("tamizdat.trust.sign.rotate.sign_metadata", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rotate_key(holders_site, "snapshot")
    assert snapshot_of(keys) == before


def test_a_swapped_change_file_shows_another_change_id(holders_site: Config) -> None:
    change = rotate_key(holders_site, "timestamp")
    assert change.proposal is not None
    assert change.change_id is not None
    assert change.change_id in change.note
    honest = read_root_change(change.proposal)
    assert honest.change_id() == change.change_id
    doc = json.loads(change.proposal.read_bytes())
    doc["proposed"]["signed"]["roles"]["root"]["threshold"] = 1  # one holder alone, later
    change.proposal.write_text(json.dumps(doc))
    assert read_root_change(change.proposal).change_id() != change.change_id
