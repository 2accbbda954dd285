"""One small interface over every place a mirror's bytes live.

Invariant: only tamizdat errors leave a store. Each public method wraps a private hook
(httpx's transport pattern), turning connection failures into
:class:`~tamizdat.errors.MirrorUnreachableError` and every other store failure into
:class:`~tamizdat.errors.MirrorResponseError`, both naming the mirror and the path.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from tamizdat.errors import (
    MirrorResponseError,
    MirrorUnreachableError,
    TamizdatError,
    TransportError,
)

__all__ = ["BaseStore", "MemoryStore", "Store", "StoredObject"]

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

    def close(self) -> None: ...


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
        self._put_bytes(path, local.read_bytes(), content_type, cache_control, atomic)

    def _list_sizes(self) -> dict[str, int]:
        raise NotImplementedError

    def _get(self, path: str) -> bytes | None:
        raise NotImplementedError

    def _delete(self, paths: list[str]) -> None:
        raise NotImplementedError

    def _exists(self, path: str) -> bool:
        raise NotImplementedError

    def _close(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What the in-memory store keeps per path."""

    data: bytes
    content_type: str
    cache_control: str


class MemoryStore(BaseStore):
    """An in-memory store for tests, with fault injection.

    ``fail_after_puts=n`` makes every upload after the n-th raise ``ConnectionError`` (a
    mirror that goes away); ``fail_paths`` makes uploads of those paths raise ``OSError``
    (a mirror that answers errors).
    """

    def __init__(
        self,
        name: str = "memory",
        *,
        fail_after_puts: int | None = None,
        fail_paths: Iterable[str] = (),
    ) -> None:
        super().__init__(name)
        self.objects: dict[str, StoredObject] = {}
        self.puts: list[str] = []
        self.deletes: list[str] = []
        self.fail_after_puts = fail_after_puts
        self.fail_paths = set(fail_paths)
        self._lock = threading.Lock()

    def _put_bytes(
        self, path: str, data: bytes, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        with self._lock:
            if self.fail_after_puts is not None and len(self.puts) >= self.fail_after_puts:
                raise ConnectionError("connection reset by peer")
            if path in self.fail_paths:
                raise OSError("503 Service Unavailable")
            self.puts.append(path)
            self.objects[path] = StoredObject(bytes(data), content_type, cache_control)

    def _list_sizes(self) -> dict[str, int]:
        with self._lock:
            if self.fail_after_puts is not None and len(self.puts) >= self.fail_after_puts:
                raise ConnectionError("connection refused")
            return {path: len(obj.data) for path, obj in self.objects.items()}

    def _get(self, path: str) -> bytes | None:
        with self._lock:
            obj = self.objects.get(path)
            return obj.data if obj else None

    def _delete(self, paths: list[str]) -> None:
        with self._lock:
            for path in paths:
                self.deletes.append(path)
                self.objects.pop(path, None)

    def _exists(self, path: str) -> bool:
        with self._lock:
            return path in self.objects


def is_transport_error(exc: BaseException) -> bool:
    """Whether a failure is worth retrying (transport, not a bug)."""
    return isinstance(exc, TransportError)
