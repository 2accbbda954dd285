"""One small interface over every place a mirror's bytes live.

Invariants:
- Only tamizdat errors leave a store. Each public method wraps a private hook (httpx's
  transport pattern), turning connection failures into
  :class:`~tamizdat.errors.MirrorUnreachableError`, a refused permission (wrong credentials,
  a folder we may not write) into :class:`~tamizdat.errors.ConfigError` — the user must fix
  it, retrying cannot — and every other store failure into
  :class:`~tamizdat.errors.MirrorResponseError`, each naming the mirror and the path.
- A release becomes visible in one step (DESIGN.md invariant 2). Most stores serve each
  file as soon as it is written, so the publisher uploads content objects first, metadata
  after and the timestamp last. A store that serves a release through a root pointer (a
  "current" pointer file or symlink) may instead stage every write and switch the pointer
  in :meth:`Store.commit`, which the publisher calls once, after the timestamp is up and
  before anything old is deleted; for every other store ``commit`` does nothing. A pointer
  store keeps its staged writes across a failed push (the upload journal counts them as
  done), so the next push stages only what is still missing.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from tamizdat.errors import (
    ConfigError,
    MirrorResponseError,
    MirrorUnreachableError,
    TamizdatError,
)
from tamizdat.files import read_regular
from tamizdat.publish.cors import CorsOutcome

__all__ = ["BaseStore", "Store", "StoreLimits"]

T = TypeVar("T")


class Store(Protocol):
    """A mirror's storage. Paths are release-relative POSIX paths ("a/b.html")."""

    name: str

    def put_bytes(
        self, path: str, data: bytes, *, content_type: str, cache_control: str, atomic: bool
    ) -> None: ...

    def put_file(
        self, path: str, local: Path, *, content_type: str, cache_control: str, atomic: bool
    ) -> None: ...

    def list_sizes(self) -> dict[str, int]: ...

    def get(self, path: str) -> bytes | None: ...

    def delete(self, paths: Iterable[str]) -> None: ...

    def exists(self, path: str) -> bool: ...

    def commit(self) -> None:
        """Make everything written so far visible at once (a no-op for most stores)."""
        ...

    def allow_cross_origin(self) -> CorsOutcome:
        """Let browsers on other origins read the mirror, where the store has a setting."""
        ...

    def close(self) -> None: ...


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


_UNREACHABLE: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
    socket.timeout,
    EOFError,
)


class BaseStore:
    """Public methods wrapping ``_hooks``; subclasses implement the hooks only.

    ``atomic=True`` asks that readers never see a partly written file at ``path`` (the
    timestamp, metadata, natural pages); by-hash objects are written with ``atomic=False``
    since nothing points at them until the new timestamp does.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def _call(self, what: str, path: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except TamizdatError:
            raise
        except PermissionError as exc:  # before _UNREACHABLE: both are OSErrors
            raise ConfigError(
                f"{what} {path!r} refused: permission denied ({exc})",
                where=f"mirror {self.name}",
                hint="check this mirror's credentials (AWS_* variables or profile, SSH key, "
                "TAMIZDAT_WEBDAV_*) or the permissions of its folder",
            ) from exc
        except _UNREACHABLE as exc:
            raise MirrorUnreachableError(
                f"{what} {path!r} failed: {type(exc).__name__}: {exc}", where=f"mirror {self.name}"
            ) from exc
        except Exception as exc:  # a store library may raise anything; report it as the mirror's
            raise MirrorResponseError(
                f"{what} {path!r} failed: {type(exc).__name__}: {exc}", where=f"mirror {self.name}"
            ) from exc

    def put_bytes(
        self, path: str, data: bytes, *, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        """Store ``data`` at ``path``. Raises: TransportError naming the mirror."""
        self._call(
            "upload", path, lambda: self._put_bytes(path, data, content_type, cache_control, atomic)
        )

    def put_file(
        self, path: str, local: Path, *, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        """Store the local file ``local`` at ``path``. Raises: TransportError."""
        self._call(
            "upload",
            path,
            lambda: self._put_file(path, local, content_type, cache_control, atomic),
        )

    def list_sizes(self) -> dict[str, int]:
        """Every file on the mirror with its size. Raises: TransportError."""
        return self._call("list", "/", self._list_sizes)

    def get(self, path: str) -> bytes | None:
        """The bytes at ``path``, or None if there is no such file. Raises: TransportError."""
        return self._call("download", path, lambda: self._get(path))

    def delete(self, paths: Iterable[str]) -> None:
        """Delete ``paths`` (missing ones are ignored). Raises: TransportError."""
        todo = list(paths)
        if todo:
            self._call("delete", todo[0], lambda: self._delete(todo))

    def exists(self, path: str) -> bool:
        """Whether ``path`` exists. Raises: TransportError."""
        return self._call("stat", path, lambda: self._exists(path))

    def commit(self) -> None:
        """Switch the mirror to everything written so far, in one step.

        The publisher calls it once per push, after the timestamp is written and before old
        files are deleted; if the push failed earlier it is never called, so a pointer store
        keeps serving the old release. Raises: TransportError naming the mirror.
        """
        self._call("commit", "/", self._commit)

    def allow_cross_origin(self) -> CorsOutcome:
        """Set the store's cross-origin rule (S3 bucket CORS) where it has one, and say what
        happened; a store of plain files leaves it to the web server in front.

        Raises: TransportError naming the mirror (a refusal is an outcome, not an error).
        """
        return self._call("set cross-origin rule", "/", self._allow_cross_origin)

    def close(self) -> None:
        """Release connections; never raises."""
        try:
            self._close()
        except Exception:  # closing a broken connection must not hide the real error
            return

    # -- hooks -------------------------------------------------------------------------
    def _put_bytes(
        self, path: str, data: bytes, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        raise NotImplementedError

    def _put_file(
        self, path: str, local: Path, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        self._put_bytes(path, read_regular(local), content_type, cache_control, atomic)

    def _list_sizes(self) -> dict[str, int]:
        raise NotImplementedError

    def _get(self, path: str) -> bytes | None:
        raise NotImplementedError

    def _delete(self, paths: list[str]) -> None:
        raise NotImplementedError

    def _exists(self, path: str) -> bool:
        raise NotImplementedError

    def _commit(self) -> None:
        return None  # files are served as they are written: the upload order is the commit

    def _allow_cross_origin(self) -> CorsOutcome:
        return CorsOutcome(
            "web-server",
            "the web server serving these files sends the headers; "
            f"'tamizdat mirrors headers --server nginx {self.name}' prints them",
        )

    def _close(self) -> None:
        return None
