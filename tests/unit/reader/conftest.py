"""Fixtures: signed releases made with python-tuf's metadata API (see release_factory.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_factory() -> ModuleType:
    name = "tamizdat_test_release_factory"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[2] / "unit" / "reader" / "release_factory.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


factory_module = _load_factory()


@pytest.fixture
def release_factory() -> object:
    return factory_module.ReleaseFactory()


@pytest.fixture
def sample_site() -> dict[str, bytes]:
    return factory_module.sample_site()
