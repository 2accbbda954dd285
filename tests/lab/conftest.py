"""Fixtures of the censorship lab: one lab and one set of signed releases per session.

The lab (``labnet.Lab``, built by ``labsetup``) is built once; every test starts from "nothing censored, every
mirror serving the newest release" (the autouse ``clean_lab``) and switches the censor's
policy itself. Releases are signed by the real publisher (``tamizdat build`` and ``sign``
on a copy of the sample site); the forger signs the same site with keys of its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from labnet import (
    FORGER_IP,
    MIRROR_COUNT,
    Lab,
    Policy,
    Reader,
    Releases,
    cleanup_stale,
    probe,
)
from labsetup import make_releases, reader_homes, start_lab


@pytest.fixture(scope="session")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Releases:
    """v1 (expired), v2 (one article more), a forgery and a tampered copy of v2."""
    return make_releases(tmp_path_factory.mktemp("releases"))


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, releases: Releases) -> Iterator[Lab]:
    """The running lab; skips (with the reason) only where the kernel or privileges lack
    network namespaces, veth or nftables with conntrack."""
    cleanup_stale()
    missing = probe()
    if "core" in missing:
        pytest.skip(f"censorship lab unavailable: {missing['core']}")
    the_lab = start_lab(tmp_path_factory.mktemp("lab"), releases, missing)
    try:
        yield the_lab
    finally:
        the_lab.stop()


@pytest.fixture(autouse=True)
def clean_lab(lab: Lab, releases: Releases) -> None:
    """Every test starts uncensored, every mirror serving v2, the forger its forgery."""
    for index in range(1, MIRROR_COUNT + 1):
        lab.serve(index, releases.v2)
    lab.serve(FORGER_IP, releases.forged)
    lab.set_policy(Policy())


@pytest.fixture(scope="session")
def reader_templates(
    lab: Lab, releases: Releases, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Reader homes to copy: subscribed (http, https) and synced to v1 (http)."""
    return reader_homes(lab, releases, tmp_path_factory.mktemp("readers"))


@pytest.fixture
def new_reader(
    lab: Lab, releases: Releases, reader_templates: dict[str, Path], tmp_path: Path
) -> Callable[[str], Reader]:
    """Make a reader from a template: ``new_reader("http" | "https" | "synced")``."""

    made: list[Path] = []

    def make(kind: str = "http") -> Reader:
        home = tmp_path / f"reader-{kind}-{len(made)}"
        made.append(home)
        shutil.copytree(reader_templates[kind], home, symlinks=True)
        return Reader(lab, home, releases.ca)

    return make
