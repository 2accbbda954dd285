"""Fixtures: plain HTTP mirrors on 127.0.0.1 and a URL where nothing listens (support)."""

from support.fixtures import dead_url, serve_dir

__all__ = ["dead_url", "serve_dir"]
