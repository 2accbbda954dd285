"""Opening a mirror's store: ``file://``, ``s3://`` (s3fs) and ``webdav://`` over fsspec;
``sftp://`` straight over paramiko (``_sftp.py``: fsspec's SFTP costs a stat per path
component on every upload).

Invariant: a file written with ``atomic=True`` is never seen half-written — it goes to a
temporary name in the same directory and is renamed over the old one (POSIX rename on a
local disk, the OpenSSH ``posix-rename`` extension over SFTP); a single S3 PUT is already
atomic. No object store request waits forever: each has a deadline scaled to its size. Credentials are never read from tamizdat.toml: S3 keys come from the AWS
environment or profiles, SSH keys from the agent, ``~/.ssh`` or ``TAMIZDAT_SSH_KEY_FILE``.
"""

from __future__ import annotations

import os
import posixpath
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tamizdat.config.mirrors import MirrorSettings
from tamizdat.errors import ConfigError, UserError
from tamizdat.publish.headers import TEMP_PREFIX
from tamizdat.publish.stores import BaseStore

__all__ = ["FsspecStore", "StoreLimits", "open_store"]


@dataclass(frozen=True, slots=True)
class StoreLimits:
    """Network limits for every store connection (seconds, bytes per second, counts)."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    # Whole-request deadline for one object store upload: ``request_deadline`` plus the time
    # the body takes at ``min_upload_rate`` bytes/s. A request the server never answers (seen
    # with rclone serve s3 under load: one stuck PUT held a whole phase for good) is cancelled
    # and retried instead of waited on forever; aiohttp's read timeout never fires there.
    request_deadline: float = 30.0
    min_upload_rate: float = 128_000.0
    # SFTP sessions opened per mirror (each its own SSH connection, so the server can use
    # several cores); uploads beyond this wait for a free session.
    sftp_channels: int = 8


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
            self._fs().mv(target, full)

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


def _missing_extra(scheme: str, extra: str, exc: ImportError) -> UserError:
    return UserError(
        f"mirrors with {scheme}:// URLs need the {extra!r} extra ({exc.name} is not installed)",
        hint=f"pip install 'tamizdat[{extra}]'",
    )


def _local_store(mirror: MirrorSettings, path: str, base_dir: Path | None) -> FsspecStore:
    from fsspec.implementations.local import LocalFileSystem

    root = Path(unquote(path))
    if not root.is_absolute():
        root = (base_dir or Path.cwd()) / root
    root_text = root.resolve().as_posix()
    return FsspecStore(
        mirror.name, lambda: LocalFileSystem(auto_mkdir=True, skip_instance_cache=True), root_text
    )


def _s3_store(mirror: MirrorSettings, bucket: str, path: str, limits: StoreLimits) -> FsspecStore:
    try:
        import s3fs
    except ImportError as exc:
        raise _missing_extra("s3", "s3", exc) from None
    opts = mirror.options
    endpoint = opts.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL")
    client_kwargs: dict[str, Any] = {}
    if endpoint:
        client_kwargs["endpoint_url"] = endpoint
    if opts.get("region"):
        client_kwargs["region_name"] = opts["region"]
    config = {
        "connect_timeout": limits.connect_timeout,
        "read_timeout": limits.read_timeout,
        "retries": {"max_attempts": 2},
        # botocore otherwise adds a CRC32 trailer to every PUT: CPU per object, and a header
        # many S3-compatible servers do not understand; TLS and the by-hash names already
        # guard integrity, and readers verify every byte against signed metadata.
        "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
    }

    def make() -> Any:
        return s3fs.S3FileSystem(
            client_kwargs=client_kwargs,
            config_kwargs=config,
            profile=opts.get("profile") or None,
            skip_instance_cache=True,
            use_listings_cache=False,
        )

    root = f"{bucket}/{path.strip('/')}".rstrip("/")
    shared = make()  # s3fs runs its own event loop thread: one instance serves all workers
    return FsspecStore(
        mirror.name,
        lambda: shared,
        root,
        supports_headers=True,
        object_store=True,
        limits=limits,
    )


def _sftp_store(mirror: MirrorSettings, limits: StoreLimits) -> BaseStore:
    try:
        import paramiko

        from tamizdat.publish._sftp import SftpStore
        from tamizdat.publish._ssh import KnownHostsPolicy, ssh_connect_kwargs
    except ImportError as exc:
        raise _missing_extra("sftp", "sftp", exc) from None
    parts = urlsplit(mirror.url)
    host, kwargs = ssh_connect_kwargs(parts, mirror.options, limits.connect_timeout)
    policy = KnownHostsPolicy(mirror.options.get("known_hosts"), mirror.name)
    root = unquote(parts.path) or "."

    def connect() -> paramiko.SFTPClient:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(policy)
        client.connect(host, **kwargs)
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(limits.read_timeout)  # type: ignore[union-attr]
        return sftp

    return SftpStore(mirror.name, connect, root, channels=limits.sftp_channels)


def _webdav_store(mirror: MirrorSettings, limits: StoreLimits) -> FsspecStore:
    try:
        from webdav4.fsspec import WebdavFileSystem
    except ImportError as exc:
        raise _missing_extra("webdav", "webdav", exc) from None
    parts = urlsplit(mirror.url)
    scheme = mirror.options.get("scheme", "https")
    base = f"{scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    user = parts.username or os.environ.get("TAMIZDAT_WEBDAV_USER")
    password = os.environ.get("TAMIZDAT_WEBDAV_PASSWORD")
    auth = (user, password) if user and password else None

    def make() -> Any:
        return WebdavFileSystem(base, auth=auth, timeout=limits.read_timeout)

    return FsspecStore(mirror.name, make, unquote(parts.path).strip("/"))


def open_store(
    mirror: MirrorSettings, *, base_dir: Path | None = None, limits: StoreLimits | None = None
) -> BaseStore:
    """A store for ``mirror.url``; relative ``file://`` paths resolve against ``base_dir``.

    Raises:
        ConfigError: an unsupported URL scheme (names the mirror's url key).
        UserError: the backend's optional dependency is missing (names the extra).
    """
    limits = limits or StoreLimits()
    parts = urlsplit(mirror.url)
    scheme = parts.scheme
    if scheme in ("file", "local"):
        return _local_store(mirror, parts.netloc + parts.path, base_dir)
    if scheme == "s3":
        if not parts.netloc:
            raise ConfigError(
                f"expected s3://bucket/prefix, found {mirror.url!r}",
                where=f"mirror {mirror.name}: url",
            )
        return _s3_store(mirror, parts.netloc, parts.path, limits)
    if scheme in ("sftp", "ssh"):
        return _sftp_store(mirror, limits)
    if scheme in ("webdav", "webdavs"):
        return _webdav_store(mirror, limits)
    raise ConfigError(
        f"expected a file://, s3://, sftp:// or webdav:// URL, found {mirror.url!r}",
        where=f"mirror {mirror.name}: url",
    )
