"""The key ceremony end to end, through the command line: three root holders, a root change
signed by two of them on separate copies of the file, and a reader on a real HTTP mirror
that follows the new root (and refuses nothing it should accept)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tamizdat.cli import main

# slow: scrypt at full strength costs about a second per key opened, by design
pytestmark = [pytest.mark.integration, pytest.mark.slow]

PASS_ENV = "TAMIZDAT_PASSPHRASE"


def write_site(site: Path) -> Path:
    site.mkdir()
    (site / "tamizdat.toml").write_text(
        '[site]\ntitle = "Exile News"\nbase_url = "https://exile-news.example/"\n'
        '[build]\ndefault_desk = "news"\n[desks.news]\ntitle = "News"\n'
        '[signing]\nkeys_dir = "keys"\nrelease_dir = "release"\n'
        "root_holders = 3\nroot_threshold = 2\n",
        encoding="utf-8",
    )
    return site


def write_pages(site: Path, release: int) -> None:
    pages = {
        "index.html": f"<h1>release {release}</h1>",
        "en/news/2026/12/story/index.html": f"<p>story, release {release}</p>",
    }
    for rel, text in pages.items():
        path = site / "public" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    code = main(["--json", *argv])
    out = capsys.readouterr().out
    assert code == 0, out
    doc: dict[str, object] = json.loads(out)
    return doc


def test_two_of_three_holders_rotate_and_a_reader_follows(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    serve_dir: Callable[[Path], str],
) -> None:
    site = write_site(tmp_path / "site")
    monkeypatch.setenv(PASS_ENV, "the newsroom's online passphrase")
    for index in (1, 2, 3):
        monkeypatch.setenv(f"{PASS_ENV}_HOLDER_{index}", f"only holder {index} knows this")
    assert main(["-C", str(site), "keys", "init", "--holders", "3", "--threshold", "2"]) == 0
    told = capsys.readouterr().out
    assert "hand out the 3 root keys, one per person" in told
    holder_files = sorted((site / "keys" / "holders").glob("root-holder-*.key"))
    assert len(holder_files) == 3
    # the holders take their files away; the newsroom's computer keeps none of them
    usb = {i: tmp_path / f"usb-{i}" for i in (1, 2, 3)}
    for index, path in enumerate(holder_files, 1):
        usb[index].mkdir()
        shutil.move(path, usb[index] / path.name)

    write_pages(site, 1)
    first = run_json(capsys, "-C", str(site), "sign")
    fingerprint = str(first["fingerprint"])
    mirror = serve_dir(site / "release")
    readers = tmp_path / "readers"
    run_json(capsys, "reader", "add", "exile", "--mirror", mirror, "--fingerprint", fingerprint,
             "--store-dir", str(readers))  # fmt: skip
    synced = run_json(capsys, "reader", "sync", "exile", "--store-dir", str(readers))
    assert (synced["outcome"], synced["version"]) == ("current", 1)

    # a root change: the timestamp key is replaced; the holders sign it, apart
    change = run_json(capsys, "-C", str(site), "keys", "rotate", "timestamp")
    proposal = Path(str(change["root_change_file"]))
    copies = {i: usb[i] / "root-change.json" for i in (1, 3)}
    for index, copy in copies.items():
        shutil.copy(proposal, copy)
        (key,) = usb[index].glob("root-holder-*.key")
        signed = run_json(capsys, "keys", "sign-root", str(copy), "--key", str(key))
        assert signed["complete"] is False  # one signature each: not enough alone
    # a second release before the change is applied still signs with the old keys
    write_pages(site, 2)
    run_json(capsys, "-C", str(site), "sign")
    applied = run_json(
        capsys, "-C", str(site), "keys", "apply-root", *(str(c) for c in copies.values())
    )
    assert applied["root_version"] == 2
    write_pages(site, 3)
    run_json(capsys, "-C", str(site), "sign")

    synced = run_json(capsys, "reader", "sync", "exile", "--store-dir", str(readers))
    assert synced["outcome"] == "current"
    assert synced["fingerprint"] == fingerprint  # the same publisher, through root 2
    assert (site / "release" / ".well-known/tamizdat/metadata/2.root.json").is_file()
    assert next(readers.rglob("2.root.json"), None) is not None  # the reader holds root 2

    # the root keys themselves are replaced: three new holders (new passphrases), and two of
    # the old holders vouch for the change, again each on their own copy
    for index in (1, 2, 3):
        monkeypatch.setenv(f"{PASS_ENV}_HOLDER_{index}", f"new holder {index}'s own words")
    change = run_json(capsys, "-C", str(site), "keys", "rotate", "root")
    assert "hand each to its holder" in str(change["note"])
    proposal = Path(str(change["root_change_file"]))
    for index in (2, 3):
        monkeypatch.setenv(f"{PASS_ENV}_HOLDER_{index}", f"only holder {index} knows this")
        copy = usb[index] / "root-change-3.json"
        shutil.copy(proposal, copy)
        (key,) = usb[index].glob("root-holder-*.key")
        run_json(capsys, "keys", "sign-root", str(copy), "--key", str(key))
    applied = run_json(
        capsys,
        "-C",
        str(site),
        "keys",
        "apply-root",
        *(str(usb[i] / "root-change-3.json") for i in (2, 3)),
    )
    assert applied["root_version"] == 3
    write_pages(site, 4)
    run_json(capsys, "-C", str(site), "sign")
    synced = run_json(capsys, "reader", "sync", "exile", "--store-dir", str(readers))
    assert (synced["outcome"], synced["fingerprint"]) == ("current", fingerprint)
    assert next(readers.rglob("3.root.json"), None) is not None  # followed 2 → 3
    run_json(capsys, "reader", "add", "fresh", "--mirror", mirror, "--fingerprint", fingerprint,
             "--store-dir", str(readers))  # fmt: skip
    synced = run_json(capsys, "reader", "sync", "fresh", "--store-dir", str(readers))
    assert (synced["outcome"], synced["version"]) == ("current", 4)  # pinned 1, walked to 3
    root3 = json.loads((site / "keys" / "metadata" / "3.root.json").read_bytes())
    assert set(root3["signed"]["roles"]["root"]["keyids"]) == set(change["added"])  # type: ignore[arg-type]


def test_one_holder_alone_cannot_change_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    monkeypatch.setenv(PASS_ENV, "online")
    for index in (1, 2, 3):
        monkeypatch.setenv(f"{PASS_ENV}_HOLDER_{index}", f"holder {index}")
    assert main(["-C", str(site), "keys", "init"]) == 0
    capsys.readouterr()
    change = run_json(capsys, "-C", str(site), "keys", "rotate", "snapshot")
    proposal = str(change["root_change_file"])
    (key,) = (site / "keys" / "holders").glob("root-holder-2.*.key")
    run_json(capsys, "keys", "sign-root", proposal, "--key", str(key))
    run_json(capsys, "keys", "sign-root", proposal, "--key", str(key))  # twice: still one
    assert main(["-C", str(site), "keys", "apply-root", proposal]) == 2
    err = capsys.readouterr().err
    assert "not signed by enough root keys: 1 of 2" in err
    assert not (site / "keys" / "metadata" / "2.root.json").exists()
