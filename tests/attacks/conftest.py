"""Fixtures for the attack tests: a fake publisher built on python-tuf (release_builder.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_builder() -> ModuleType:
    name = "tamizdat_test_release_builder"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parent / "release_builder.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


builder = _load_builder()


@pytest.fixture
def publisher() -> object:
    """A fresh fake publisher (new keys: cheap with Ed25519)."""
    return builder.Publisher()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "seen"
