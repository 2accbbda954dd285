"""The ``sftp`` store kind (``sftp://user@host:port/path``, a rented server), straight over
paramiko: few round trips per file, several channels at once.

Invariants:
- A file written with ``atomic=True`` goes to a temporary name in its own directory and is
  renamed over the target with the OpenSSH ``posix-rename`` extension, so a reader never
  sees it half-written.
- A directory is created at most once per store: the ones known to exist (seen in the
  listing, or made or found by an earlier upload) are cached, so an upload into a known
  directory costs open, pipelined writes and close — no ``stat`` per path component, and no
  confirming ``stat`` after the write (the close status already says the write succeeded).
- Connections come from a small pool: one SFTP session is never used by two threads at
  once, and at most ``channels`` sessions are opened.
- A server is trusted only if a known_hosts file lists its key (see ``_ssh.py``); SSH keys
  come from the agent, ``~/.ssh`` or ``TAMIZDAT_SSH_KEY_FILE``, never from tamizdat.toml.
"""

from __future__ import annotations

import errno
import posixpath
import queue
import shutil
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

import paramiko

from tamizdat.files import open_regular
from tamizdat.publish.headers import TEMP_PREFIX
from tamizdat.publish.stores._ssh import KnownHostsPolicy, ssh_connect_kwargs
from tamizdat.publish.stores.base import BaseStore
from tamizdat.publish.stores.registry import StoreRequest

__all__ = ["SftpStore", "open_sftp_store"]

_CHUNK = 1 << 20
_MISSING = (errno.ENOENT,)  # paramiko maps SFTP "no such file" to ENOENT


def _alive(client: paramiko.SFTPClient) -> bool:
    channel = client.get_channel()
    if channel is None or channel.closed:
        return False
    transport = channel.get_transport()
    return transport is not None and transport.is_active()


class SftpStore(BaseStore):
    """A store rooted at ``root`` on an SFTP server; ``connect`` opens one session."""

    def __init__(
        self, name: str, connect: Callable[[], paramiko.SFTPClient], root: str, *, channels: int
    ) -> None:
        super().__init__(name)
        self._connect = connect
        self._root = root.rstrip("/") or "/"
        self._channels = max(1, channels)
        self._idle: queue.LifoQueue[paramiko.SFTPClient] = queue.LifoQueue()
        self._opened: list[paramiko.SFTPClient] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self._channels)
        self._dirs: set[str] = set()

    # -- connections -------------------------------------------------------------------
    @contextmanager
    def _session(self) -> Iterator[paramiko.SFTPClient]:
        """Borrow a session; a session that failed mid-call is dropped, not reused."""
        with self._slots:
            try:
                client = self._idle.get_nowait()
            except queue.Empty:
                client = self._connect()
                with self._lock:
                    self._opened.append(client)
            try:
                yield client
            except BaseException:
                if _alive(client):
                    self._idle.put(client)  # an SFTP status (no such file, …): still usable
                else:
                    self._discard(client)  # the connection itself broke: never reuse it
                raise
            self._idle.put(client)

    def _discard(self, client: paramiko.SFTPClient) -> None:
        with self._lock:
            if client in self._opened:
                self._opened.remove(client)
        try:
            client.close()
        except Exception:  # closing a broken channel: nothing left to save
            return

    # -- paths and directories ---------------------------------------------------------
    def _full(self, path: str) -> str:
        return posixpath.join(self._root, path)

    def _ensure_dir(self, sftp: paramiko.SFTPClient, directory: str) -> None:
        """Make ``directory`` (and missing parents) unless it is known to exist."""
        if directory in ("", "/") or directory in self._dirs:
            return
        try:
            sftp.mkdir(directory)
        except OSError:
            try:
                mode = sftp.stat(directory).st_mode
            except OSError as exc:
                if exc.errno not in _MISSING:
                    raise
                # the parent is missing: make it, then retry this one once
                self._ensure_dir(sftp, posixpath.dirname(directory))
                try:
                    sftp.mkdir(directory)
                except OSError:
                    mode = sftp.stat(directory).st_mode  # made meanwhile by another upload
                    if not stat.S_ISDIR(mode or 0):
                        raise
            else:
                if not stat.S_ISDIR(mode or 0):
                    raise NotADirectoryError(f"{directory} exists and is not a directory")
        with self._lock:
            self._dirs.add(directory)

    # -- hooks -------------------------------------------------------------------------
    def _write(self, path: str, source: bytes | Path, atomic: bool) -> None:
        full = self._full(path)
        parent, base = posixpath.split(full)
        target = f"{parent}/{TEMP_PREFIX}{uuid.uuid4().hex[:12]}-{base}" if atomic else full
        with self._session() as sftp:
            self._ensure_dir(sftp, parent)
            with sftp.open(target, "wb") as handle:
                handle.set_pipelined(True)  # no round trip per 32 KB write request
                if isinstance(source, bytes):
                    handle.write(source)
                else:
                    with open_regular(source) as local:  # stream: a bundle may be large
                        shutil.copyfileobj(local, handle, _CHUNK)
            if target != full:
                sftp.posix_rename(target, full)

    def _put_bytes(
        self, path: str, data: bytes, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        self._write(path, data, atomic)

    def _put_file(
        self, path: str, local: Path, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        self._write(path, local, atomic)

    def _listdir(self, directory: str) -> tuple[dict[str, int], list[str]]:
        files: dict[str, int] = {}
        subdirs: list[str] = []
        with self._session() as sftp:
            entries = sftp.listdir_attr(directory)
        for entry in entries:
            full = posixpath.join(directory, entry.filename)
            if stat.S_ISDIR(entry.st_mode or 0):
                subdirs.append(full)
            elif stat.S_ISREG(entry.st_mode or 0):
                files[full] = int(entry.st_size or 0)
        return files, subdirs

    def _list_sizes(self) -> dict[str, int]:
        """One recursive listing, each depth's folders read in parallel over the pool.

        Level by level (not a future per folder waited on as a set, which costs time
        quadratic in the folders in flight): a 10,000-article mirror is ~20,000 folders.
        """
        prefix = self._root.rstrip("/") + "/"
        sizes: dict[str, int] = {}
        with ThreadPoolExecutor(self._channels, thread_name_prefix=f"{self.name}-ls") as pool:
            try:
                level = [self._listdir(self._root)]
            except FileNotFoundError:
                return {}  # a new mirror: nothing there yet
            while level:
                below: list[str] = []
                for files, subdirs in level:
                    sizes.update((full[len(prefix) :], size) for full, size in files.items())
                    below.extend(subdirs)
                with self._lock:
                    self._dirs.update(below)
                level = list(pool.map(self._listdir_or_gone, below))
        with self._lock:
            self._dirs.add(self._root)
        return sizes

    def _listdir_or_gone(self, directory: str) -> tuple[dict[str, int], list[str]]:
        try:
            return self._listdir(directory)
        except FileNotFoundError:
            return {}, []  # removed while we listed its parent

    def _get(self, path: str) -> bytes | None:
        try:
            with self._session() as sftp, sftp.open(self._full(path), "rb") as handle:
                handle.prefetch()
                return bytes(handle.read())
        except FileNotFoundError:
            return None

    def _delete(self, paths: list[str]) -> None:
        with self._session() as sftp:
            for path in paths:
                try:
                    sftp.remove(self._full(path))
                except FileNotFoundError:
                    continue

    def _exists(self, path: str) -> bool:
        try:
            with self._session() as sftp:
                sftp.stat(self._full(path))
        except FileNotFoundError:
            return False
        return True

    def _close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for client in opened:
            channel = client.get_channel()
            transport = channel.get_transport() if channel is not None else None
            try:
                client.close()
            finally:
                if transport is not None:
                    transport.close()


def open_sftp_store(request: StoreRequest) -> SftpStore:
    """A store under the URL's path; ``~/.ssh/config`` fills in what the URL leaves out."""
    mirror, limits = request.mirror, request.limits
    host, kwargs = ssh_connect_kwargs(request.url, mirror.options, limits.connect_timeout)
    policy = KnownHostsPolicy(mirror.options.get("known_hosts"), mirror.name)

    def connect() -> paramiko.SFTPClient:
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(policy)
        client.connect(host, **kwargs)
        sftp = client.open_sftp()
        sftp.get_channel().settimeout(limits.read_timeout)  # type: ignore[union-attr]
        return sftp

    root = unquote(request.url.path) or "."
    return SftpStore(mirror.name, connect, root, channels=limits.sftp_channels)
