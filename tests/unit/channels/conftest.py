"""Fixtures: signed releases made with python-tuf's metadata API (support.tuf_release)."""

from support.fixtures import release_factory, sample_site

__all__ = ["release_factory", "sample_site"]
