"""What a signed release directory holds, as the pusher sees it: paths, sizes, hashes, phases.

Invariant: the manifest is read once, before anything is uploaded, and a release without
``timestamp.json`` is refused — pushing it would leave mirrors with nothing a client trusts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tamizdat.errors import UserError
from tamizdat.files import read_regular, sha256_file, walk_regular
from tamizdat.layout import TARGETS_DIR
from tamizdat.publish.headers import PUBLISH_STATE, TEMP_PREFIX, TIMESTAMP, Phase, classify
from tamizdat.stat_cache import StatCache

__all__ = ["ReleaseFile", "ReleaseManifest", "read_release"]


@dataclass(frozen=True, slots=True)
class ReleaseFile:
    """One file of the release."""

    path: str
    local: Path
    size: int
    sha256: str
    phase: Phase


@dataclass(frozen=True, slots=True)
class ReleaseManifest:
    """Every file of one release, and the version its timestamp carries."""

    root: Path
    files: tuple[ReleaseFile, ...]
    version: int

    @property
    def by_hash(self) -> frozenset[str]:
        return frozenset(f.path for f in self.files if f.phase is Phase.BY_HASH)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def _by_hash_digest(path: str) -> str | None:
    """The hash a by-hash name carries (``<sha256>.<name>``), so it need not be re-read."""
    name = path.rsplit("/", 1)[-1]
    head = name.split(".", 1)[0]
    if len(head) == 64 and all(c in "0123456789abcdef" for c in head):
        return head
    return None


def timestamp_version(data: bytes, where: str) -> int:
    """``signed.version`` of a timestamp.json. Raises: UserError if it is not one."""
    try:
        version = json.loads(data)["signed"]["version"]
    except (ValueError, KeyError, TypeError):
        raise UserError("expected TUF timestamp metadata", where=where) from None
    if not isinstance(version, int) or isinstance(version, bool):
        raise UserError(f"expected an integer version, found {version!r}", where=where)
    return version


def _own_temp(name: str, is_dir: bool) -> bool:
    return not is_dir and name.startswith(TEMP_PREFIX)


def read_release(release_dir: Path, *, hash_cache: Path | None = None) -> ReleaseManifest:
    """Scan a signed release directory.

    ``hash_cache`` (a local file, :class:`~tamizdat.stat_cache.StatCache`) remembers each
    file's sha256 under its size, mtime, inode and ctime, so a republish re-reads only the
    files the signer rewrote.

    Raises:
        UserError: the folder is missing, or holds no valid ``timestamp.json``
            (hint: run ``tamizdat sign``).
        UnsafeFileError: a link, FIFO, socket or device file in it (nothing is read
            through it, nothing is pushed).
    """
    root = Path(release_dir)
    stamp = root / TIMESTAMP
    if not stamp.is_file():
        raise UserError(
            "no signed release here (timestamp.json is missing)",
            where=str(stamp),
            hint="run 'tamizdat sign' first",
        )
    version = timestamp_version(read_regular(stamp), str(stamp))
    known = StatCache.load(hash_cache, str(root)) if hash_cache else StatCache(str(root))
    hashes = StatCache(str(root))
    files: list[ReleaseFile] = []
    hint = "remove it and run 'tamizdat sign' again; only regular files are published"
    for found in walk_regular(root, where=str(root), skip=_own_temp, hint=hint):
        path, local = found.relative, Path(found.path)
        if path == PUBLISH_STATE:
            continue  # never push our own bookkeeping from a local copy
        digest = _by_hash_digest(path) if path.startswith(f"{TARGETS_DIR}/") else None
        if digest is None:
            seen = (found.size, found.mtime_ns, found.inode, found.ctime_ns)
            digest = known.digest(path, seen) or sha256_file(local)
            hashes.record(path, seen, digest)
        files.append(ReleaseFile(path, local, found.size, digest, classify(path)))
    if hash_cache is not None:
        hashes.save(hash_cache)
    return ReleaseManifest(root=root, files=tuple(files), version=version)
