"""The ``webdav`` store kind: ``webdav://host[:port]/path`` (a WebDAV share, e.g. a rented
Nextcloud or a web server's DAV module), over webdav4.

Invariants:
- A file written with ``atomic=True`` is uploaded under a temporary name and put in place by
  one ``MOVE`` with ``Overwrite: T``, so the web server never serves it half-written.
  (fsspec's generic move is a COPY then a DELETE, which refuses to replace an existing file:
  every re-publish failed.) Where the server renames in place the MOVE is one step; golang's
  x/net/webdav, behind ``rclone serve webdav``, removes the old file first, so there a
  reader can meet a brief 404 — never a partial file, never a mix of releases.
- The password is never read from tamizdat.toml: the user comes from the URL or
  ``TAMIZDAT_WEBDAV_USER``, the password from ``TAMIZDAT_WEBDAV_PASSWORD``. The ``scheme``
  option (default ``https``) says how the share is reached.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote

from webdav4.fsspec import WebdavFileSystem

from tamizdat.publish.stores._fsspec import FsspecStore
from tamizdat.publish.stores.registry import StoreRequest

__all__ = ["WebdavStore", "open_webdav_store"]


class WebdavStore(FsspecStore):
    """An fsspec store over webdav4 that puts a file in place with one overwriting MOVE."""

    def _rename(self, source: str, target: str) -> None:
        self._fs().client.move(source, target, overwrite=True)


def open_webdav_store(request: StoreRequest) -> WebdavStore:
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

    return WebdavStore(mirror.name, make, unquote(parts.path).strip("/"))
