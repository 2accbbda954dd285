"""The ``file`` store kind: a mirror that is a folder on this machine (``file:///srv/www``,
or a path relative to the site folder), e.g. the document root of a local web server.

Invariant: a file written with ``atomic=True`` goes to a temporary name beside it and is
renamed over the old one (POSIX rename), so a web server never serves it half-written.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from fsspec.implementations.local import LocalFileSystem

from tamizdat.publish.stores._fsspec import FsspecStore
from tamizdat.publish.stores.registry import StoreRequest

__all__ = ["open_file_store"]


def open_file_store(request: StoreRequest) -> FsspecStore:
    """A store rooted at the URL's folder; a relative one resolves against the site folder."""
    root = Path(unquote(request.url.netloc + request.url.path))
    if not root.is_absolute():
        root = request.base_dir / root
    return FsspecStore(
        request.mirror.name,
        lambda: LocalFileSystem(auto_mkdir=True, skip_instance_cache=True),
        root.resolve().as_posix(),
    )
