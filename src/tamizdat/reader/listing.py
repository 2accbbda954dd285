"""Which files a release consists of, read from its metadata (no signature checks here).

Invariant: a listing is derived only from the metadata chain ``timestamp → N.snapshot →
N.<role>`` of one release (TUF §5.7 consistent snapshots), so two callers asking for the same
release get the same set of files. Callers that read untrusted bytes verify the metadata with
the trust policy first; the publisher's own release dir is read as is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tuf.api.exceptions import RepositoryError
from tuf.api.metadata import Metadata, Snapshot, Targets, Timestamp

from tamizdat.errors import UserError
from tamizdat.files import read_below
from tamizdat.layout import TARGETS_DIR, by_hash_path, metadata_path

__all__ = [
    "DirLayout",
    "Layout",
    "ReleaseListing",
    "TargetEntry",
    "natural_path_of",
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


def _parse(layout: Layout, path: str) -> Metadata:  # type: ignore[type-arg]
    try:
        return Metadata.from_bytes(layout.read(path))
    except FileNotFoundError:
        raise UserError(
            "expected this metadata file of the release, found none", where=path
        ) from None
    except (RepositoryError, ValueError, KeyError, TypeError) as exc:
        raise UserError(
            f"expected TUF metadata, found unparsable bytes ({exc})", where=path
        ) from None


def read_listing(layout: Layout, *, snapshot_version: int | None = None) -> ReleaseListing:
    """List the release named by ``timestamp.json`` (or by ``N.snapshot.json`` if given).

    Raises:
        UserError: a metadata file the chain names is missing or unparsable.
    """
    stamp = _parse(layout, metadata_path("timestamp", None))
    if not isinstance(stamp.signed, Timestamp):
        raise UserError("expected timestamp metadata", where=metadata_path("timestamp", None))
    version = snapshot_version or stamp.signed.snapshot_meta.version
    snap_path = metadata_path("snapshot", version)
    snap = _parse(layout, snap_path)
    if not isinstance(snap.signed, Snapshot):
        raise UserError("expected snapshot metadata", where=snap_path)
    files = [*root_chain(layout), snap_path]
    if snapshot_version is None:
        files.append(metadata_path("timestamp", None))
    targets: dict[str, TargetEntry] = {}
    for name, meta in sorted(snap.signed.meta.items()):
        role_path = metadata_path(name.removesuffix(".json"), meta.version)
        files.append(role_path)
        role = _parse(layout, role_path)
        if not isinstance(role.signed, Targets):
            raise UserError("expected targets metadata", where=role_path)
        for path, target in role.signed.targets.items():
            # A path delegated twice is resolved by the trust policy; the listing keeps the
            # first by sorted role name, which only matters for malformed releases.
            if "sha256" not in target.hashes:
                raise UserError(f"expected a sha256 hash for target {path!r}", where=role_path)
            targets.setdefault(path, TargetEntry(path, target.hashes["sha256"], target.length))
    return ReleaseListing(
        version=version,
        timestamp_version=stamp.signed.version,
        metadata_files=tuple(sorted(files)),
        targets=tuple(sorted(targets.values(), key=lambda t: t.path)),
    )
