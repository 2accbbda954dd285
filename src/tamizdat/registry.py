"""The one place where store kinds and channels are declared.

Each extension is data: a kind (``store`` or ``channel``), a name, where its code lives as
``"module:attribute"`` (imported only when used, so ``import tamizdat`` never pulls in s3fs,
paramiko or libzim), the optional-dependency extra that brings its backend, and for stores the
URL schemes that select it. The built-ins are declared in :data:`BUILTINS` exactly the way a new
one would be: ``BUILTINS.register(Extension("channel", "email", "mypkg.email:EmailChannel"))``
returns a new registry. Registries are immutable; importing this module changes nothing and
there is no global plugin manager (STYLE.md, point 6). The packages that use an extension
(:mod:`tamizdat.publish.stores`, :mod:`tamizdat.channels`) read their part of this table.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Literal

from tamizdat.errors import UserError

__all__ = ["BUILTINS", "Extension", "ExtensionKind", "Registry"]

ExtensionKind = Literal["store", "channel"]


@dataclass(frozen=True, slots=True)
class Extension:
    """One declared store kind or channel (see the module docstring)."""

    kind: ExtensionKind
    name: str
    target: str
    extra: str | None = None
    schemes: tuple[str, ...] = ()
    summary: str = ""
    example: str = ""  # how to write one (a URL form for stores), for messages and help

    def __post_init__(self) -> None:
        module, _, attribute = self.target.partition(":")
        if not module or not attribute:
            raise ValueError(f"{self.kind} {self.name!r}: expected 'module:attribute'")
        if self.kind == "store" and not self.schemes:
            raise ValueError(f"store {self.name!r}: expected at least one URL scheme")

    def load(self) -> object:
        """Import the extension's code.

        Raises:
            UserError: a library its backend needs is not installed (names the extra).
        """
        module_name, _, attribute = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            missing = exc.name or ""
            if self.extra is None or missing == module_name or missing.startswith("tamizdat"):
                raise  # our own module is broken or misnamed: a bug, not a missing extra
            raise UserError(
                f"the {self.name} {self.kind} needs the {self.extra!r} extra "
                f"({missing.partition('.')[0]} is not installed)",
                hint=f"pip install 'tamizdat[{self.extra}]'",
            ) from None
        return getattr(module, attribute)


@dataclass(frozen=True, slots=True)
class Registry:
    """An immutable table of extensions; names are unique per kind, schemes across stores."""

    extensions: tuple[Extension, ...] = ()

    def __post_init__(self) -> None:
        names: set[tuple[str, str]] = set()
        schemes: dict[str, str] = {}
        for ext in self.extensions:
            if (ext.kind, ext.name) in names:
                raise ValueError(f"{ext.kind} {ext.name!r} is declared twice")
            names.add((ext.kind, ext.name))
            for scheme in ext.schemes:
                if scheme in schemes:
                    raise ValueError(
                        f"scheme {scheme!r} is claimed by stores {schemes[scheme]!r} and "
                        f"{ext.name!r}"
                    )
                schemes[scheme] = ext.name

    def register(self, extension: Extension) -> Registry:
        """A new registry with ``extension`` added. Raises ValueError on a clash."""
        return Registry((*self.extensions, extension))

    def of_kind(self, kind: ExtensionKind) -> tuple[Extension, ...]:
        """The declared extensions of ``kind``, in declaration order."""
        return tuple(e for e in self.extensions if e.kind == kind)

    def find(self, kind: ExtensionKind, name: str) -> Extension:
        """The extension ``name`` of ``kind``.

        Raises:
            UserError: none is declared (says which are).
        """
        for ext in self.of_kind(kind):
            if ext.name == name:
                return ext
        known = ", ".join(e.name for e in self.of_kind(kind)) or "none"
        raise UserError(f"no {kind} named {name!r} (declared: {known})")


BUILTINS = Registry(
    (
        Extension("store", "file", "tamizdat.publish.stores.file:open_file_store",
                  schemes=("file", "local"), example="file:///srv/www",
                  summary="a folder (a mounted disk, a web server's root)"),
        Extension("store", "s3", "tamizdat.publish.stores.s3:open_s3_store", extra="s3",
                  schemes=("s3",), example="s3://bucket/prefix",
                  summary="any S3-compatible object store or CDN origin"),
        Extension("store", "sftp", "tamizdat.publish.stores.sftp:open_sftp_store",
                  extra="sftp", schemes=("sftp", "ssh"), example="sftp://host/path",
                  summary="a rented server over SSH"),
        Extension("store", "webdav", "tamizdat.publish.stores.webdav:open_webdav_store",
                  extra="webdav", schemes=("webdav", "webdavs"),
                  example="webdav://host/path", summary="a WebDAV share"),
        Extension("channel", "bundle", "tamizdat.channels.bundle:BundleChannel",
                  example="tamizdat bundle -o news.zip",
                  summary="the signed release as one file, for USB sticks and messengers"),
        Extension("channel", "zim", "tamizdat.channels.zim:ZimChannel", extra="zim",
                  example="tamizdat zim -o news.zim",
                  summary="the site as a ZIM file for Kiwix, with a detached signature"),
        Extension("channel", "telegram", "tamizdat.channels.telegram:TelegramSender",
                  example='[[channels]] kind = "telegram" (then: tamizdat announce)',
                  summary="announces new and corrected articles in a Telegram channel"),
        Extension("channel", "email", "tamizdat.channels.email.sender:EmailSender",
                  example="tamizdat announce --channel newsletter-ru",
                  summary="a newsletter to confirmed subscribers over SMTP (DKIM-signed)"),
    )
)  # fmt: skip
