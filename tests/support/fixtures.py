"""Pytest fixtures shared by several test folders; a folder's conftest.py re-exports the ones
it uses (``from support.fixtures import release_factory``), so each name has one definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support import loopback, tuf_release

__all__ = ["dead_url", "release_factory", "sample_site", "serve_dir"]


@pytest.fixture
def release_factory() -> tuf_release.ReleaseFactory:
    """A fresh fake publisher, articles preset (root 1 of 1, desk ``articles``, no log)."""
    return tuf_release.ReleaseFactory.articles()


@pytest.fixture
def sample_site() -> dict[str, bytes]:
    """A home page, five articles under ``articles/`` and a stylesheet."""
    return tuf_release.sample_site()


@pytest.fixture
def serve_dir() -> Iterator[Callable[[Path], str]]:
    """Start a plain HTTP server over a directory on 127.0.0.1; returns its URL."""
    servers = loopback.Servers()
    yield servers.directory
    servers.close()


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens (a blocked mirror)."""
    return loopback.dead_url()
