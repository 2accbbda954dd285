"""Building a censorship lab with something to serve: signed releases, certificates, readers.

Used by the lab's pytest fixtures (``conftest.py``) and by ``bench/reach.py``. Releases are
signed by the real publisher (``tamizdat build`` and ``sign`` on a copy of the sample site);
the forger signs the same site with keys of its own.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import trustme
from labnet import (
    FORGER_IP,
    MIRROR_COUNT,
    SRC,
    Lab,
    LabError,
    Reader,
    Releases,
    mirror_ip,
    mirror_name,
)

from tamizdat.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample"
UPDATE = """---
title: Ferry back in service
date: 2026-10-20
desk: news
summary: The northern ferry runs again after two weeks.
---
The ferry to the northern shore runs again on its usual timetable.
"""
FORGED_LINE = "\nThe council has resolved every complaint. Nothing to report.\n"


def _cli(*argv: str) -> None:
    code = main(["-q", *argv])
    if code != 0:
        raise LabError(f"tamizdat {' '.join(argv)} failed with {code}")


def _sign_in_past(site: Path, days: int) -> None:
    # The publisher's clock set back: the release's timestamp (1 day) expired since.
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "TAMIZDAT_DEMO_KEYS": "1"}
    command = ["faketime", "-f", f"-{days}d", sys.executable, "-m", "tamizdat", "-q", "-C", str(site),
               "sign", "--demo"]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=120, check=False
    )
    if done.returncode != 0:
        raise LabError(f"signing in the past failed: {done.stderr}")


def _site(root: Path, name: str) -> Path:
    site = root / name
    shutil.copytree(SAMPLE, site)
    toml = site / "tamizdat.toml"
    text = toml.read_text(encoding="utf-8")
    lines = [
        'base_url = "http://m1.lab.test/"' if line.startswith("base_url") else line
        for line in text.splitlines()
    ]
    toml.write_text(
        "\n".join(lines) + '\n\n[signing]\nkeys_dir = "keys"\n\n[signing.expiry_days]\n'
        "timestamp = 1\n",
        encoding="utf-8",
    )
    _cli("-C", str(site), "keys", "init", "--demo")
    return site


def make_releases(root: Path) -> Releases:
    """v1 (expired), v2 (one article more), a forgery and a tampered copy of v2, in ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    site = _site(root, "site")
    _cli("-C", str(site), "build")
    _sign_in_past(site, 3)
    v1 = root / "v1"
    shutil.copytree(site / "release", v1)
    (site / "content" / "news" / "ferry-back.md").write_text(UPDATE, encoding="utf-8")
    _cli("-C", str(site), "build")
    _cli("-C", str(site), "sign", "--demo")
    v2 = root / "v2"
    shutil.copytree(site / "release", v2)
    bundle = root / "friend.tamizdat"
    _cli("-C", str(site), "bundle", "-o", str(bundle))
    fingerprint = hashlib.sha256(
        (v2 / ".well-known/tamizdat/metadata/1.root.json").read_bytes()
    ).hexdigest()

    forger = _site(root, "forger")
    article = next((forger / "content" / "news").glob("*.md"))
    article.write_text(article.read_text(encoding="utf-8") + FORGED_LINE, encoding="utf-8")
    _cli("-C", str(forger), "build")
    _cli("-C", str(forger), "sign", "--demo")

    tampered = root / "tampered"
    shutil.copytree(v2, tampered)
    page = max(
        (tampered / ".well-known/tamizdat/targets").rglob("*index.html"),
        key=lambda p: p.stat().st_size,
    )
    data = bytearray(page.read_bytes())
    data[len(data) // 2] ^= 0x20
    page.write_bytes(bytes(data))
    return Releases(
        v1=v1, v2=v2, forged=forger / "release", tampered=tampered, bundle=bundle,
        fingerprint=fingerprint, ca=root / "ca.pem",
    )  # fmt: skip


def start_lab(root: Path, releases: Releases, missing: dict[str, str]) -> Lab:
    """Certificates (the mirrors' CA is written to ``releases.ca``), then the running lab."""
    root.mkdir(parents=True, exist_ok=True)
    names = [mirror_name(n) for n in range(1, MIRROR_COUNT + 1)]
    addresses = [mirror_ip(n) for n in range(1, MIRROR_COUNT + 1)]
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(releases.ca))
    leaf = root / "leaf.pem"
    ca.issue_cert(*names, *addresses).private_key_and_cert_chain_pem.write_to_path(str(leaf))
    foreign = root / "forger.pem"
    trustme.CA().issue_cert(*names, FORGER_IP).private_key_and_cert_chain_pem.write_to_path(
        str(foreign)
    )
    lab = Lab(root, missing)
    try:
        lab.start(releases.ca, leaf, foreign)
    except BaseException:
        lab.stop()
        raise
    return lab


def reader_homes(lab: Lab, releases: Releases, root: Path) -> dict[str, Path]:
    """Reader homes to copy: subscribed over http and https, and synced to v1 (http)."""
    homes: dict[str, Path] = {}
    for scheme in ("http", "https"):
        home = root / scheme
        mirrors = [f"--mirror={scheme}://{mirror_name(n)}/" for n in range(1, MIRROR_COUNT + 1)]
        reader = Reader(lab, home, releases.ca)
        done = reader.run("reader", "add", "news", *mirrors, "--fingerprint", releases.fingerprint)
        if done.code != 0:
            raise LabError(f"reader add failed: {done.stderr}")
        homes[scheme] = home
    synced = root / "synced"
    shutil.copytree(homes["http"], synced, symlinks=True)
    for index in range(1, MIRROR_COUNT + 1):
        lab.serve(index, releases.v1)
    done = Reader(lab, synced, releases.ca).run("--json", "reader", "sync", "news")
    for index in range(1, MIRROR_COUNT + 1):
        lab.serve(index, releases.v2)
    if done.code not in (0, 3):  # v1 is stale: its timestamp expired
        raise LabError(f"the first sync failed: {done.stdout}")
    homes["synced"] = synced
    return homes
