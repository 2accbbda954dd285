"""Which files a release consists of, read from its metadata (no signature checks here).

Invariant: there is one reader of a release's metadata chain, :func:`read_chain`
(``timestamp → N.snapshot → N.<role>``, TUF §5.7 consistent snapshots); the listing of its
files (:func:`read_listing`: bundles, ZIM export, the reader's store) and the signer's view
of the previous release (``tamizdat.trust.sign.release_dir``) are both derived from it, so
every caller asking about one release gets the same files. The chain is read as plain JSON
(fast for 100,000 targets) and its shape checked; callers that read untrusted bytes verify
the metadata with the trust policy first; the publisher's own release dir is read as is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from tamizdat.errors import UserError
from tamizdat.files import read_below
from tamizdat.layout import TARGETS_DIR, by_hash_path, metadata_path

__all__ = [
    "ChainRole",
    "DirLayout",
    "Layout",
    "ReleaseChain",
    "ReleaseListing",
    "TargetEntry",
    "natural_path_of",
    "read_chain",
    "read_listing",
    "root_chain",
]

_BY_HASH = re.compile(r"^([0-9a-f]{64})\.(.+)$")
_TARGETS_PREFIX = TARGETS_DIR + "/"


class Layout(Protocol):
    """Read access to files in the mirror layout (a release dir, a store, a bundle)."""

    def read(self, path: str) -> bytes:
        """The bytes at layout path ``path``; raises FileNotFoundError if absent."""
        ...

    def exists(self, path: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class DirLayout:
    """The layout as a plain directory (a publisher's release dir, a mirror checkout)."""

    root: Path

    def locate(self, path: str) -> Path:
        return self.root.joinpath(*path.split("/"))

    def read(self, path: str) -> bytes:
        """The bytes of regular file ``path`` below the root, through no link.

        Raises:
            FileNotFoundError: nothing regular there.
            UnsafeFileError: a link, FIFO, socket or device file (never read).
        """
        try:
            return read_below(self.root, path, where=path)
        except (NotADirectoryError, IsADirectoryError):
            raise FileNotFoundError(2, "no such file", path) from None

    def exists(self, path: str) -> bool:
        """Whether anything is at ``path``: a link counts, so reading it is refused."""
        located = self.locate(path)
        return located.is_file() or located.is_symlink()


@dataclass(frozen=True, slots=True)
class TargetEntry:
    """One signed file of a release: natural path, sha256 and length."""

    path: str
    sha256: str
    length: int

    @property
    def by_hash(self) -> str:
        return by_hash_path(self.path, self.sha256)


@dataclass(frozen=True, slots=True)
class ReleaseListing:
    """The metadata files and targets of one release (``version`` = snapshot version)."""

    version: int
    timestamp_version: int
    metadata_files: tuple[str, ...]
    targets: tuple[TargetEntry, ...]

    def target(self, path: str) -> TargetEntry | None:
        for entry in self.targets:
            if entry.path == path:
                return entry
        return None


def natural_path_of(by_hash: str) -> str | None:
    """``TARGETS_DIR/dir/<sha>.name`` → ``dir/name``; None for anything else."""
    if not by_hash.startswith(_TARGETS_PREFIX):
        return None
    directory, slash, base = by_hash[len(_TARGETS_PREFIX) :].rpartition("/")
    match = _BY_HASH.match(base)
    if not match:
        return None
    return f"{directory}{slash}{match.group(2)}"


def root_chain(layout: Layout) -> list[str]:
    """Layout paths of ``1.root.json``, ``2.root.json``, … up to the last one present."""
    chain: list[str] = []
    while layout.exists(metadata_path("root", len(chain) + 1)):
        chain.append(metadata_path("root", len(chain) + 1))
    return chain


@dataclass(frozen=True, slots=True)
class ChainRole:
    """One targets role of a release: its metadata file and that file's document."""

    path: str
    document: Mapping[str, Any]

    @property
    def signed(self) -> Mapping[str, Any]:
        return self.document["signed"]  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class ReleaseChain:
    """The metadata chain of one release, as plain (shape-checked) JSON documents."""

    snapshot_version: int
    timestamp_version: int
    timestamp_path: str | None  # None when the chain was read from a given snapshot
    snapshot_path: str
    roles: Mapping[str, ChainRole]  # role name → its file, in the snapshot's order


def _document(layout: Layout, path: str, kind: str) -> Mapping[str, Any]:
    """The JSON document at ``path``, a TUF metadata file whose ``signed._type`` is ``kind``.

    Raises:
        UserError: missing, unparsable, or not ``kind`` metadata.
    """
    try:
        document = json.loads(layout.read(path))
    except FileNotFoundError:
        raise UserError(
            "expected this metadata file of the release, found none", where=path
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise UserError(
            f"expected TUF metadata, found unparsable bytes ({exc})", where=path
        ) from None
    signed = document.get("signed") if isinstance(document, dict) else None
    if not isinstance(signed, dict) or signed.get("_type") != kind:
        raise UserError(f"expected {kind} metadata", where=path)
    return document  # type: ignore[no-any-return]


def _version(value: object, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise UserError(f"expected an integer version, found {value!r}", where=where)
    return value


def read_chain(layout: Layout, *, snapshot_version: int | None = None) -> ReleaseChain:
    """The chain of the release ``timestamp.json`` names (or of ``N.snapshot.json``).

    Raises:
        UserError: a metadata file the chain names is missing, unparsable or of another type.
    """
    stamp_path = metadata_path("timestamp", None)
    stamp = _document(layout, stamp_path, "timestamp")["signed"]
    try:
        named = stamp["meta"]["snapshot.json"]["version"]
    except (KeyError, TypeError):
        raise UserError("expected the timestamp to name a snapshot", where=stamp_path) from None
    version = snapshot_version or _version(named, stamp_path)
    snap_path = metadata_path("snapshot", version)
    meta = _document(layout, snap_path, "snapshot")["signed"].get("meta")
    if not isinstance(meta, dict):
        raise UserError("expected the snapshot to list its roles", where=snap_path)
    roles: dict[str, ChainRole] = {}
    for name, info in meta.items():
        role = str(name).removesuffix(".json")
        role_version = _version(info.get("version") if isinstance(info, dict) else None, snap_path)
        role_path = metadata_path(role, role_version)
        roles[role] = ChainRole(role_path, _document(layout, role_path, "targets"))
    return ReleaseChain(
        snapshot_version=version,
        timestamp_version=_version(stamp.get("version"), stamp_path),
        timestamp_path=stamp_path if snapshot_version is None else None,
        snapshot_path=snap_path,
        roles=roles,
    )


def read_listing(layout: Layout, *, snapshot_version: int | None = None) -> ReleaseListing:
    """List the release named by ``timestamp.json`` (or by ``N.snapshot.json`` if given).

    Raises:
        UserError: a metadata file the chain names is missing or unparsable, or a target
            has no sha256 hash.
    """
    chain = read_chain(layout, snapshot_version=snapshot_version)
    files = [*root_chain(layout), chain.snapshot_path]
    if chain.timestamp_path is not None:
        files.append(chain.timestamp_path)
    targets: dict[str, TargetEntry] = {}
    for name in sorted(chain.roles):
        role = chain.roles[name]
        files.append(role.path)
        listed = role.signed.get("targets") or {}
        for path, target in listed.items():
            # A path delegated twice is resolved by the trust policy; the listing keeps the
            # first by sorted role name, which only matters for malformed releases.
            try:
                entry = TargetEntry(path, str(target["hashes"]["sha256"]), int(target["length"]))
            except (KeyError, TypeError, ValueError):
                raise UserError(
                    f"expected a length and a sha256 hash for target {path!r}", where=role.path
                ) from None
            targets.setdefault(path, entry)
    return ReleaseListing(
        version=chain.snapshot_version,
        timestamp_version=chain.timestamp_version,
        metadata_files=tuple(sorted(files)),
        targets=tuple(sorted(targets.values(), key=lambda t: t.path)),
    )
