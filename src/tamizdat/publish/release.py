"""What a signed release directory holds, as the pusher sees it: paths, sizes, hashes, phases.

Invariant: the manifest is read once, before anything is uploaded, and a release without
``timestamp.json`` is refused — pushing it would leave mirrors with nothing a client trusts.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tamizdat.errors import UserError
from tamizdat.files import read_regular, sha256_file, walk_regular
from tamizdat.layout import TARGETS_DIR
from tamizdat.publish.headers import PUBLISH_STATE, TEMP_PREFIX, TIMESTAMP, Phase, classify

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


def _load_hashes(cache: Path | None) -> dict[str, list[Any]]:
    if cache is None or not cache.is_file():
        return {}
    try:
        loaded = json.loads(cache.read_bytes())
    except ValueError:
        return {}  # a damaged cache only costs a re-hash
    return loaded if isinstance(loaded, dict) else {}


def _save_hashes(cache: Path | None, hashes: dict[str, list[Any]]) -> None:
    if cache is None:
        return
    cache.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".hashes-")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(hashes, handle, separators=(",", ":"))
    Path(tmp).replace(cache)


def _own_temp(name: str, is_dir: bool) -> bool:
    return not is_dir and name.startswith(TEMP_PREFIX)


def read_release(release_dir: Path, *, hash_cache: Path | None = None) -> ReleaseManifest:
    """Scan a signed release directory.

    ``hash_cache`` (a local JSON file) remembers each file's sha256 under its size, mtime and
    inode, so a republish re-reads only the files the signer rewrote.

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
    known = _load_hashes(hash_cache)
    hashes: dict[str, list[Any]] = {}
    files: list[ReleaseFile] = []
    hint = "remove it and run 'tamizdat sign' again; only regular files are published"
    for found in walk_regular(root, where=str(root), skip=_own_temp, hint=hint):
        path, local = found.relative, Path(found.path)
        if path == PUBLISH_STATE:
            continue  # never push our own bookkeeping from a local copy
        digest = _by_hash_digest(path) if path.startswith(f"{TARGETS_DIR}/") else None
        if digest is None:
            key = [found.size, found.mtime_ns, found.inode]
            cached = known.get(path)
            digest = str(cached[3]) if cached and cached[:3] == key else sha256_file(local)
            hashes[path] = [*key, digest]
        files.append(ReleaseFile(path, local, found.size, digest, classify(path)))
    if hashes != known:
        _save_hashes(hash_cache, hashes)
    return ReleaseManifest(root=root, files=tuple(files), version=version)
