"""The ``webdav`` store kind: ``webdav://host[:port]/path`` (a WebDAV share, e.g. a rented
Nextcloud or a web server's DAV module), over webdav4.

Invariants: a file written with ``atomic=True`` is uploaded under a temporary name and
MOVEd over the old one, so the web server never serves it half-written. The password is
never read from tamizdat.toml: the user comes from the URL or ``TAMIZDAT_WEBDAV_USER``, the
password from ``TAMIZDAT_WEBDAV_PASSWORD``. The ``scheme`` option (default ``https``) says
how the share is reached.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote

from webdav4.fsspec import WebdavFileSystem

from tamizdat.publish.stores._fsspec import FsspecStore
from tamizdat.publish.stores.registry import StoreRequest

__all__ = ["open_webdav_store"]


def open_webdav_store(request: StoreRequest) -> FsspecStore:
    """A store under the URL's path on the WebDAV server it names."""
    mirror, parts = request.mirror, request.url
    scheme = mirror.options.get("scheme", "https")
    base = f"{scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    user = parts.username or os.environ.get("TAMIZDAT_WEBDAV_USER")
    password = os.environ.get("TAMIZDAT_WEBDAV_PASSWORD")
    auth = (user, password) if user and password else None
    timeout = request.limits.read_timeout

    def make() -> Any:
        return WebdavFileSystem(base, auth=auth, timeout=timeout)

    return FsspecStore(mirror.name, make, unquote(parts.path).strip("/"))
