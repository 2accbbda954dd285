"""Unsigned files: a copy must not carry a page that no role of the publisher signed.

A release directory, a reader's store or a bundle can hold a forged page at a natural path
(``en/news/…/index.html``) beside the authentic ones; checking every signed file does not
notice it. For a source that can list its files (:class:`~tamizdat.transport.sources.
ListableSource`), :func:`audit_listing` classifies every listed file.

Invariant: a listed file is accepted only if it is

1. a signed target (its bytes are checked by the file checks, not here);
2. under ``.well-known/tamizdat/metadata/``, named like metadata (``root.json``,
   ``timestamp.json``, ``N.<role>.json``): other versions stay there for clients that are
   mid-update (TUF consistent snapshots, §5.7.3); they are never trusted unless signed;
3. under ``.well-known/tamizdat/targets/``, a by-hash object ``<dir>/<sha256>.<name>``
   whose bytes hash to the hex digits in its name: either this release references it
   (checked by the file checks), or it is *tolerated* as an object of another release
   (``release/`` keeps the previous release's objects, mirrors keep several releases for
   readers mid-update). A content-addressed name cannot pass for a signed page: verifying
   clients fetch only the hashes the signed metadata names, and a browser reaches it only
   through a 64-hex-digit URL inside ``.well-known/``. Tolerated objects are counted in the
   report. An object whose bytes do not match its name is tampered;
4. directly in ``.well-known/tamizdat/``, a ``*.json`` file: unsigned bookkeeping
   (``bundle.json``, ``publish-state.json``) that nothing displays;
5. named ``.DS_Store``, ``Thumbs.db`` or ``desktop.ini``: litter that desktop systems write
   onto USB sticks, which no browser shows as a page.

Anything else is refused as tampered, naming the file.
"""

from __future__ import annotations

import logging
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from tuf.api.metadata import TargetFile

from tamizdat.errors import OversizeError, TamperedError
from tamizdat.layout import METADATA_DIR, TARGETS_DIR, WELL_KNOWN, by_hash_path
from tamizdat.transport.sources import ListableSource
from tamizdat.trust.verify.checks import sha256_hex

__all__ = ["OS_LITTER", "ListingAudit", "audit_listing"]

logger = logging.getLogger(__name__)

OS_LITTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_METADATA_NAME = re.compile(
    r"^(?:[1-9][0-9]{0,9}\.[A-Za-z0-9][A-Za-z0-9._-]*|root|timestamp)\.json$"
)
_OBJECT_NAME = re.compile(r"^([0-9a-f]{64})\.(.+)$")
_SHOWN = 3  # unsigned files named in the message besides the first


@dataclass(frozen=True, slots=True)
class ListingAudit:
    """What the listing held besides signed targets (all of it tolerated)."""

    files_listed: int
    unreferenced_objects: tuple[str, ...]


def _is_metadata_name(path: str) -> bool:
    name = path[len(METADATA_DIR) + 1 :]
    return "/" not in name and bool(_METADATA_NAME.match(name))


def _is_bookkeeping(path: str) -> bool:
    name = path[len(WELL_KNOWN) + 1 :]
    return "/" not in name and name.endswith(".json")


def _object_digest(path: str) -> str | None:
    """The sha256 a by-hash object's name claims, or None if it is not named like one."""
    match = _OBJECT_NAME.match(posixpath.basename(path))
    return match.group(1) if match else None


def _check_object(source: ListableSource, path: str, digest: str, max_bytes: int) -> None:
    where = f"{source.name}: {path}"
    try:
        data = source.fetch(path, max_bytes)
    except OversizeError:
        raise OversizeError(
            f"expected a by-hash object of at most {max_bytes} bytes, found more", where=where
        ) from None
    found = sha256_hex(data)
    if found != digest:
        raise TamperedError(
            f"by-hash object {path} does not match the hash in its name: found sha256 {found}",
            where=where,
            hint="this copy was altered; get another one",
        )


def _classify(
    path: str, targets: Mapping[str, TargetFile], referenced: set[str]
) -> Literal["signed", "tolerated", "object", "unsigned"]:
    """``signed``, ``tolerated``, ``object`` (check its bytes) or ``unsigned``."""
    if path in targets or path in referenced:
        return "signed"
    if posixpath.basename(path) in OS_LITTER:
        return "tolerated"
    if path.startswith(METADATA_DIR + "/"):
        return "tolerated" if _is_metadata_name(path) else "unsigned"
    if path.startswith(TARGETS_DIR + "/"):
        return "object" if _object_digest(path) else "unsigned"
    if path.startswith(WELL_KNOWN + "/") and _is_bookkeeping(path):
        return "tolerated"
    return "unsigned"


def _unsigned_error(source: ListableSource, unsigned: list[str]) -> TamperedError:
    first, rest = unsigned[0], unsigned[1:]
    more = ""
    if rest:
        shown = ", ".join(rest[:_SHOWN]) + (", …" if len(rest) > _SHOWN else "")
        more = f" (and {len(rest)} more: {shown})"
    return TamperedError(
        f"unsigned file {first}: not published by this publisher{more}",
        where=f"{source.name}: {first}",
        hint="someone added files to this copy; read only what verifies, or get another copy",
    )


def audit_listing(
    source: ListableSource, targets: Mapping[str, TargetFile], *, object_max_bytes: int
) -> ListingAudit:
    """Classify every file ``source`` lists against the signed ``targets`` (module docstring).

    Raises:
        TamperedError: a file that is not signed and not tolerated (the first one, sorted,
            with a count of the others), or a by-hash object whose bytes differ from its name.
        OversizeError: an unreferenced by-hash object larger than ``object_max_bytes``.
        TransportError: the source failed to list or to read.
    """
    referenced = {
        by_hash_path(path, info.hashes["sha256"])
        for path, info in targets.items()
        if "sha256" in info.hashes
    }
    listed = sorted(set(source.list_files()))
    unsigned: list[str] = []
    objects: dict[str, str] = {}
    for path in listed:
        kind = _classify(path, targets, referenced)
        if kind == "unsigned":
            unsigned.append(path)
        elif kind == "object":
            objects[path] = _object_digest(path) or ""
    if unsigned:
        raise _unsigned_error(source, unsigned)
    for path, digest in objects.items():
        _check_object(source, path, digest, object_max_bytes)
    if objects:
        logger.info("%s: %d by-hash objects of other releases tolerated", source.name, len(objects))
    return ListingAudit(files_listed=len(listed), unreferenced_objects=tuple(objects))
