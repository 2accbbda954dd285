"""Sites whose keys were made as a newsroom makes them: three root holders, each with their
own passphrase, and the online keys under another. Made once per module (scrypt at full
strength costs a second per key) and copied for each test that changes them."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # trustkit
sys.path.insert(0, str(Path(__file__).parent))  # keykit

from keykit import PASS_ENV, set_passphrases
from trustkit import write_config

from tamizdat.config import Config, load_config
from tamizdat.trust.sign.keys import init_keys


@pytest.fixture(scope="module")
def holders_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("holders")
    with pytest.MonkeyPatch.context() as mp:
        set_passphrases(mp)
        init_keys(write_config(root, desks=("news",)))
    return root


@pytest.fixture
def holders_site(holders_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Config:
    """A copy of the template site; passphrases of generation 1 in the environment."""
    site = tmp_path / "site"
    shutil.copytree(holders_template, site)
    set_passphrases(monkeypatch)
    return load_config(site)


@pytest.fixture
def clear_passphrases(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    def clear() -> None:
        for name in [PASS_ENV, *(f"{PASS_ENV}_HOLDER_{i}" for i in (1, 2, 3))]:
            monkeypatch.delenv(name, raising=False)

    return clear
