"""Scanning ``public/`` and hashing its files, incrementally and on every core.

Invariant: only regular files are signed — anything else under ``public/`` is refused with
an error naming it (see :mod:`tamizdat.files`). A file is hashed again unless its (size,
mtime_ns, inode) match the cache entry written by the previous run; the cache lives outside the release (``build.cache_dir``) and
is only an accelerator — a missing or damaged cache means hashing everything again.
The walk runs on the calling thread and hands full chunks of files to a thread pool as it
goes: ``hashlib`` and file reads release the GIL, so hashing overlaps the walk and uses both
cores without the cost of starting processes.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tamizdat.files import sha256_file, walk_regular
from tamizdat.layout import LOG_JSON, METADATA_DIR, TARGETS_DIR
from tamizdat.progress import Progress, report
from tamizdat.trust.keystore import atomic_write

__all__ = ["HashResult", "HashedFile", "hash_tree"]

logger = logging.getLogger(__name__)

_CACHE_FORMAT = 1
_CHUNK = 256
_RESERVED = (f"{METADATA_DIR}/", f"{TARGETS_DIR}/")


@dataclass(frozen=True, slots=True)
class HashedFile:
    """One file of the public tree: where it is, its length, its SHA-256."""

    path: str
    source: str  # a plain string: 100,000 Path objects cost a measurable share of a sign
    length: int
    sha256: str
    stamp: tuple[int, int, int]  # (size, mtime_ns, inode) when hashed


@dataclass(frozen=True, slots=True)
class HashResult:
    files: dict[str, HashedFile]
    hashed: int  # files actually read this run (the rest came from the cache)


_Found = tuple[str, str, tuple[int, int, int]]  # (relative path, full path, stamp)


def _walk(root: Path) -> Iterator[_Found]:
    """Every regular file under ``root`` (:func:`tamizdat.files.walk_regular`: a link, FIFO,
    socket or device file is refused, never skipped: public/ holds only what the build wrote,
    so anything else was planted there)."""
    hint = "remove it and run 'tamizdat build' again; only regular files are signed"
    for found in walk_regular(root, where=root.name, hint=hint):
        yield found.relative, found.path, (found.size, found.mtime_ns, found.inode)


def _hash_chunk(items: list[_Found]) -> list[HashedFile]:
    return [HashedFile(rel, src, stamp[0], sha256_file(src), stamp) for rel, src, stamp in items]


def _load_cache(cache_file: Path, root: Path) -> dict[str, list[object]]:
    try:
        data = json.loads(cache_file.read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _CACHE_FORMAT:
        return {}
    if data.get("root") != str(root):
        return {}
    files = data.get("files")
    return files if isinstance(files, dict) else {}


def save_cache(cache_file: Path, root: Path, files: dict[str, HashedFile]) -> None:
    """Remember each file's stamp and hash for the next run (atomic write)."""
    payload = {
        "format": _CACHE_FORMAT,
        "root": str(root),
        "files": {p: [*f.stamp, f.sha256] for p, f in files.items()},
    }
    atomic_write(cache_file, json.dumps(payload, separators=(",", ":")).encode())


def hash_tree(
    root: Path, cache_file: Path, *, workers: int = 0, progress: Progress | None = None
) -> HashResult:
    """Hash every regular file under ``root`` except tamizdat's own metadata and log.

    Raises:
        UnsafeFileError: a link, FIFO, socket or device file under ``root`` (none is read).
        OSError: a file vanished or could not be read while hashing.
    """
    cache = _load_cache(cache_file, root)
    files: dict[str, HashedFile] = {}
    pending: list[Future[list[HashedFile]]] = []
    batch: list[_Found] = []
    total = 0
    # Hash while walking: chunks go to threads as soon as they are full (file reads and
    # sha256 release the GIL, so hashing overlaps the walk and uses both cores).
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        for rel, src, stamp in _walk(root):
            if rel.startswith(_RESERVED) or rel == LOG_JSON:
                continue
            cached = cache.get(rel)
            if isinstance(cached, list) and len(cached) == 4 and tuple(cached[:3]) == stamp:
                files[rel] = HashedFile(rel, src, stamp[0], str(cached[3]), stamp)
                continue
            batch.append((rel, src, stamp))
            total += 1
            if len(batch) == _CHUNK:
                pending.append(pool.submit(_hash_chunk, batch))
                batch = []
        if batch:
            pending.append(pool.submit(_hash_chunk, batch))
        done = 0
        for future in pending:
            result = future.result()
            for hashed in result:
                files[hashed.path] = hashed
            done += len(result)
            report(progress, "hashing", done, total)
    logger.info("hashed %d of %d files", total, len(files))
    return HashResult(files, total)
