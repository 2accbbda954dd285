"""A store over an fsspec filesystem: what the ``file``, ``s3`` and ``webdav`` kinds share
(``sftp`` goes straight over paramiko: fsspec's SFTP costs a stat per path component on
every upload).

Invariant: a file written with ``atomic=True`` is never seen half-written — it goes to a
temporary name in the same directory and is renamed over the old one (POSIX rename on a
local disk, a WebDAV MOVE); a single S3 PUT is already atomic. No object store request
waits forever: each has a deadline scaled to its size.
"""

from __future__ import annotations

import posixpath
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tamizdat.publish.headers import TEMP_PREFIX
from tamizdat.publish.stores.base import BaseStore, StoreLimits

__all__ = ["FsspecStore"]


class FsspecStore(BaseStore):
    """A store over one fsspec filesystem per thread, rooted at ``root``.

    ``make_fs`` is called once per worker thread: paramiko's SFTP channel is not meant to be
    shared by concurrent uploads, and a connection per worker gives the parallelism.
    """

    def __init__(
        self,
        name: str,
        make_fs: Callable[[], Any],
        root: str,
        *,
        supports_headers: bool = False,
        object_store: bool = False,
        limits: StoreLimits | None = None,
    ) -> None:
        super().__init__(name)
        self._make_fs = make_fs
        self._root = root.rstrip("/")
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        self._supports_headers = supports_headers
        # An object store has no directories and a single PUT is atomic: no temp + rename.
        self._object_store = object_store
        self._limits = limits

    def _fs(self) -> Any:
        fs = getattr(self._local, "fs", None)
        if fs is None:
            fs = self._make_fs()
            self._local.fs = fs
            with self._lock:
                self._all.append(fs)
        return fs

    def _full(self, path: str) -> str:
        return f"{self._root}/{path}" if self._root else path

    def _headers(self, content_type: str, cache_control: str) -> dict[str, str]:
        if not self._supports_headers:
            return {}
        return {"ContentType": content_type, "CacheControl": cache_control}

    def _deadline(self, size: int) -> dict[str, float]:
        """fsspec's async filesystems take ``timeout=`` and cancel the request when it passes."""
        if self._limits is None:
            return {}
        return {"timeout": self._limits.request_deadline + size / self._limits.min_upload_rate}

    def _target(self, path: str, atomic: bool) -> str:
        full = self._full(path)
        if atomic and not self._object_store:
            parent, base = posixpath.split(full)
            return f"{parent}/{TEMP_PREFIX}{uuid.uuid4().hex[:12]}-{base}"
        return full

    def _ensure_parent(self, full: str) -> None:
        fs = self._fs()
        parent = posixpath.dirname(full)
        known: set[str] = getattr(self._local, "dirs", set())
        if parent and parent not in known and not self._object_store:
            fs.makedirs(parent, exist_ok=True)
            known.add(parent)
            self._local.dirs = known

    def _put_bytes(
        self, path: str, data: bytes, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        target = self._target(path, atomic)
        self._ensure_parent(target)
        self._fs().pipe_file(
            target, data, **self._headers(content_type, cache_control), **self._deadline(len(data))
        )
        self._finish(target, path)

    def _put_file(
        self, path: str, local: Path, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        target = self._target(path, atomic)
        self._ensure_parent(target)
        self._fs().put_file(
            str(local),
            target,
            **self._headers(content_type, cache_control),
            **self._deadline(local.stat().st_size),
        )
        self._finish(target, path)

    def _finish(self, target: str, path: str) -> None:
        full = self._full(path)
        if target != full:
            self._rename(target, full)

    def _rename(self, source: str, target: str) -> None:
        """Move ``source`` over ``target`` in one step (a kind may know a better call)."""
        self._fs().mv(source, target)

    def _list_sizes(self) -> dict[str, int]:
        fs = self._fs()
        try:
            found = fs.find(self._root, detail=True, withdirs=False)
        except FileNotFoundError:
            return {}
        prefix = f"{self._root}/" if self._root else ""
        sizes: dict[str, int] = {}
        for full, info in found.items():
            name = full if not prefix else full[len(prefix) :] if full.startswith(prefix) else ""
            if name and info.get("type", "file") == "file":
                sizes[name] = int(info.get("size") or 0)
        return sizes

    def _get(self, path: str) -> bytes | None:
        try:
            data: bytes = self._fs().cat_file(self._full(path))
        except FileNotFoundError:
            return None
        return data

    def _delete(self, paths: list[str]) -> None:
        fs = self._fs()
        if self._object_store:  # S3: one batched request
            fs.rm([self._full(p) for p in paths])
            return
        for path in paths:
            try:
                fs.rm_file(self._full(path))
            except FileNotFoundError:
                continue

    def _exists(self, path: str) -> bool:
        return bool(self._fs().exists(self._full(path)))

    def _close(self) -> None:
        with self._lock:
            for fs in self._all:
                client = getattr(fs, "client", None)
                if client is not None and hasattr(client, "close"):
                    client.close()
            self._all.clear()
