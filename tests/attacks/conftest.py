"""Fixtures for the attack tests: a fake newsroom publisher (support.tuf_release)."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.tuf_release import ReleaseFactory


@pytest.fixture
def publisher() -> ReleaseFactory:
    """A fresh fake publisher (new keys: cheap with Ed25519)."""
    return ReleaseFactory.newsroom()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "seen"
