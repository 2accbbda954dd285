"""The in-memory store: the fake behind the :class:`~tamizdat.publish.stores.Store`
interface that unit tests publish to, with fault injection.

Invariant: what :meth:`MemoryStore.get` and :meth:`MemoryStore.list_sizes` return is what a
reader of the mirror would see. With ``staged=True`` the store behaves like a mirror served
through a root pointer: writes go to a staged copy of the live objects that readers do not
see until :meth:`~tamizdat.publish.stores.Store.commit` switches to it in one step.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

from tamizdat.publish.stores.base import BaseStore

__all__ = ["MemoryStore", "StoredObject"]


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
    (a mirror that answers errors). ``commits`` records, for each commit, how many uploads
    had been made before it.
    """

    def __init__(
        self,
        name: str = "memory",
        *,
        fail_after_puts: int | None = None,
        fail_paths: Iterable[str] = (),
        staged: bool = False,
    ) -> None:
        super().__init__(name)
        self.objects: dict[str, StoredObject] = {}
        self.puts: list[str] = []
        self.deletes: list[str] = []
        self.commits: list[int] = []
        self.fail_after_puts = fail_after_puts
        self.fail_paths = set(fail_paths)
        self.staged = staged
        self._pending: dict[str, StoredObject] | None = None
        self._lock = threading.Lock()

    def _writable(self) -> dict[str, StoredObject]:
        """The live objects, or (staged) the copy the next commit switches to."""
        if not self.staged:
            return self.objects
        if self._pending is None:
            self._pending = dict(self.objects)
        return self._pending

    def _put_bytes(
        self, path: str, data: bytes, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        with self._lock:
            if self.fail_after_puts is not None and len(self.puts) >= self.fail_after_puts:
                raise ConnectionError("connection reset by peer")
            if path in self.fail_paths:
                raise OSError("503 Service Unavailable")
            self.puts.append(path)
            self._writable()[path] = StoredObject(bytes(data), content_type, cache_control)

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
            # Into the open stage if there is one, else (after a commit) straight to the live
            # objects: the publisher deletes old files only once the new release is live.
            objects = self._pending if self._pending is not None else self.objects
            for path in paths:
                self.deletes.append(path)
                objects.pop(path, None)

    def _exists(self, path: str) -> bool:
        with self._lock:
            return path in self.objects

    def _commit(self) -> None:
        with self._lock:
            self.commits.append(len(self.puts))
            if self._pending is not None:
                self.objects, self._pending = self._pending, None
