"""The one place store kinds are declared: which URL schemes open which kind of store.

A kind names its factory as ``"module:function"`` and is imported only when a mirror of that
kind is opened, so ``import tamizdat`` never pulls in s3fs, paramiko or webdav4, and a
missing backend is one clear error naming the extra to install. The built-in kinds are
declared in :data:`tamizdat.registry.BUILTINS` (beside the channels) and turned into the
same :class:`StoreKind` a new kind would use:
``BUILTIN_STORES.register(StoreKind("ipfs", ("ipfs",), "mypkg.ipfs:open_ipfs_store"))``
returns a new registry (registries are immutable: there is no global plugin manager, and
importing this module changes nothing).

The in-memory store (:mod:`tamizdat.publish.stores.memory`) is the unit tests' fake and has
no scheme: a mirror that forgets everything when the process ends is never a real mirror.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import cast
from urllib.parse import SplitResult, urlsplit

from tamizdat.config.mirrors import MirrorSettings
from tamizdat.errors import ConfigError
from tamizdat.publish.stores.base import Store, StoreLimits
from tamizdat.registry import BUILTINS, Extension, Registry

__all__ = [
    "BUILTIN_STORES",
    "StoreFactory",
    "StoreKind",
    "StoreRegistry",
    "StoreRequest",
    "open_store",
]


@dataclass(frozen=True, slots=True)
class StoreRequest:
    """What a store kind's factory is given to open one mirror's store.

    ``base_dir`` is where relative paths in the URL resolve (the site folder).
    """

    mirror: MirrorSettings
    url: SplitResult
    base_dir: Path
    limits: StoreLimits

    def config_error(self, message: str) -> ConfigError:
        """A ConfigError about this mirror's ``url`` key."""
        return ConfigError(message, where=f"mirror {self.mirror.name}: url")


StoreFactory = Callable[[StoreRequest], Store]


@dataclass(frozen=True, slots=True)
class StoreKind:
    """One kind of store: its name, the URL schemes that select it, and its factory.

    ``name`` is what ``mirrors.json`` and ``mirrors list`` call the mirror's type;
    ``factory`` is ``"module:function"``, a :data:`StoreFactory` imported on first use;
    ``extra`` is the optional-dependency group that brings the backend, named in the error
    when it is missing; ``example`` shows the URL form in error messages.
    """

    name: str
    schemes: tuple[str, ...]
    factory: str
    extra: str | None = None
    example: str = ""

    def __post_init__(self) -> None:
        self.declaration()  # checked as every declared extension is (ValueError)

    def declaration(self) -> Extension:
        """This kind as a :class:`tamizdat.registry.Extension` (validated, loadable).

        Raises:
            ValueError: no scheme, or ``factory`` is not ``"module:function"``.
        """
        return Extension("store", self.name, self.factory, self.extra, self.schemes)

    def load(self) -> StoreFactory:
        """Import this kind's factory (:meth:`tamizdat.registry.Extension.load`).

        Raises:
            UserError: a library the backend needs is not installed (names the extra).
        """
        return cast(StoreFactory, self.declaration().load())


@dataclass(frozen=True, slots=True)
class StoreRegistry:
    """An immutable table from URL scheme to :class:`StoreKind`."""

    kinds: tuple[StoreKind, ...] = ()

    def __post_init__(self) -> None:
        # Names and schemes are checked where every extension's are: one scheme, one kind.
        Registry(tuple(kind.declaration() for kind in self.kinds))

    def register(self, kind: StoreKind) -> StoreRegistry:
        """A new registry with ``kind`` added. Raises ValueError if a scheme is taken."""
        return StoreRegistry((*self.kinds, kind))

    def find(self, scheme: str) -> StoreKind | None:
        """The kind that ``scheme`` selects, or None."""
        return next((k for k in self.kinds if scheme in k.schemes), None)

    def kind_for(self, mirror: MirrorSettings) -> StoreKind:
        """The kind of store behind ``mirror``.

        Raises:
            ConfigError: no kind handles the URL's scheme (names the mirror's url key).
        """
        kind = self.find(urlsplit(mirror.url).scheme)
        if kind is None:
            expected = ", ".join(k.example or f"{k.schemes[0]}://" for k in self.kinds)
            raise ConfigError(
                f"expected a URL such as {expected}; found {mirror.url!r}",
                where=f"mirror {mirror.name}: url",
            )
        return kind

    def open(
        self, mirror: MirrorSettings, *, base_dir: Path | None = None, limits: StoreLimits
    ) -> Store:
        """Open ``mirror``'s store through the kind its URL scheme selects.

        Raises:
            ConfigError: an unknown scheme or a malformed URL (names the mirror's url key).
            UserError: the backend's optional dependency is missing (names the extra).
        """
        factory = self.kind_for(mirror).load()
        request = StoreRequest(mirror, urlsplit(mirror.url), base_dir or Path.cwd(), limits)
        return factory(request)


BUILTIN_STORES = StoreRegistry(
    tuple(
        StoreKind(e.name, e.schemes, e.target, e.extra, e.example)
        for e in BUILTINS.of_kind("store")
    )
)
"""The store kinds declared in :data:`tamizdat.registry.BUILTINS` (the one table of store
kinds and channels), as this package opens them."""


def open_store(
    mirror: MirrorSettings,
    *,
    base_dir: Path | None = None,
    limits: StoreLimits | None = None,
    registry: StoreRegistry = BUILTIN_STORES,
) -> Store:
    """A store for ``mirror.url``; relative ``file://`` paths resolve against ``base_dir``.

    Raises:
        ConfigError: an unsupported URL scheme or a malformed URL (names the mirror's url key).
        UserError: the backend's optional dependency is missing (names the extra).
    """
    return registry.open(mirror, base_dir=base_dir, limits=limits or StoreLimits())
