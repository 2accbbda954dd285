"""Fixtures for trust tests (and for anyone who needs a release signed by tamizdat).

``signed_site`` gives a fresh site with demo keys and release 1 of ``trustkit.SAMPLE_FILES``;
``tuf_updater`` refreshes python-tuf's own ngclient from a release directory in-process, as a
cross-check that our output is standard TUF.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from tuf.ngclient import Updater

sys.path.insert(0, str(Path(__file__).parent))

from trustkit import BASE, DirectoryFetcher, SignedSite, make_signed_site

from tamizdat.errors import TamizdatError


@pytest.fixture
def signed_site(tmp_path: Path) -> SignedSite:
    return make_signed_site(tmp_path / "site")


@pytest.fixture
def tuf_updater(tmp_path: Path) -> Callable[[Path, bytes], Updater]:
    """``make(release_dir, trusted_root_bytes)`` → a refreshed-ready ngclient Updater."""
    counter = iter(range(1000))

    def make(release: Path, root: bytes) -> Updater:
        local = tmp_path / f"client{next(counter)}"
        (local / "meta").mkdir(parents=True)
        (local / "targets").mkdir()
        return Updater(
            str(local / "meta"),
            f"{BASE}.well-known/tamizdat/metadata/",
            str(local / "targets"),
            f"{BASE}.well-known/tamizdat/targets/",
            fetcher=DirectoryFetcher(release),
            bootstrap=root,
        )

    return make


__all__ = ["DirectoryFetcher", "SignedSite", "TamizdatError"]
