"""Where a mirror's bytes live: one small :class:`Store` interface, one module per kind
(``file``, ``s3``, ``sftp``, ``webdav``, and the in-memory fake ``memory``), and the
registry that maps a mirror URL's scheme to its kind.

Invariant: only tamizdat errors leave a store, and a release becomes visible on a mirror in
one step (see :mod:`tamizdat.publish.stores.base`). Importing this package loads no storage
backend: a kind's module is imported when a mirror of that kind is opened.
"""

from tamizdat.publish.stores.base import BaseStore, Store, StoreLimits
from tamizdat.publish.stores.memory import MemoryStore, StoredObject
from tamizdat.publish.stores.registry import (
    BUILTIN_STORES,
    StoreFactory,
    StoreKind,
    StoreRegistry,
    StoreRequest,
    open_store,
)

__all__ = [
    "BUILTIN_STORES",
    "BaseStore",
    "MemoryStore",
    "Store",
    "StoreFactory",
    "StoreKind",
    "StoreLimits",
    "StoreRegistry",
    "StoreRequest",
    "StoredObject",
    "open_store",
]
