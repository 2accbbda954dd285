"""Scanning ``public/`` and hashing its files, incrementally and on every core.

Invariant: a file is hashed again unless its (size, mtime_ns, inode) match the cache entry
written by the previous run; the cache lives outside the release (``build.cache_dir``) and
is only an accelerator — a missing or damaged cache means hashing everything again.
Hashing runs in a thread pool: ``hashlib`` and file reads release the GIL, so both cores
work without the cost of starting processes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

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
    source: Path
    length: int
    sha256: str
    stamp: tuple[int, int, int]  # (size, mtime_ns, inode) when hashed


@dataclass(frozen=True, slots=True)
class HashResult:
    files: dict[str, HashedFile]
    hashed: int  # files actually read this run (the rest came from the cache)


def _scan_folder(
    folder: str, prefix: str
) -> tuple[list[tuple[str, Path, tuple[int, int, int]]], list[tuple[str, str]]]:
    files = []
    folders = []
    with os.scandir(folder) as entries:
        for entry in entries:
            rel = f"{prefix}{entry.name}"
            if entry.is_dir(follow_symlinks=False):
                folders.append((entry.path, f"{rel}/"))
            elif entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                files.append((rel, Path(entry.path), (st.st_size, st.st_mtime_ns, st.st_ino)))
            else:
                logger.warning("skipping %s: not a regular file", entry.path)
    return files, folders


def _scan_tree(folder: str, prefix: str) -> list[tuple[str, Path, tuple[int, int, int]]]:
    files, stack = [], [(folder, prefix)]
    while stack:
        found, folders = _scan_folder(*stack.pop())
        files += found
        stack += folders
    return files


def _walk(root: Path, pool: ThreadPoolExecutor) -> Iterator[tuple[str, Path, tuple[int, int, int]]]:
    """Every regular file under ``root``. The first two folder levels are listed here and
    the subtrees below them on the pool's threads (the walk is bound by stat latency)."""
    files, folders = _scan_folder(str(root), "")
    yield from files
    subtrees: list[tuple[str, str]] = []
    for folder, prefix in folders:
        found, deeper = _scan_folder(folder, prefix)
        yield from found
        subtrees += deeper
    for found in pool.map(lambda item: _scan_tree(*item), subtrees):
        yield from found


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _hash_chunk(items: list[tuple[str, Path, tuple[int, int, int]]]) -> list[HashedFile]:
    return [HashedFile(rel, src, stamp[0], _sha256_file(src), stamp) for rel, src, stamp in items]


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
        OSError: a file vanished or could not be read while hashing.
    """
    cache = _load_cache(cache_file, root)
    files: dict[str, HashedFile] = {}
    todo: list[tuple[str, Path, tuple[int, int, int]]] = []
    # Threads, not processes: stat, read and sha256 all release the GIL.
    with ThreadPoolExecutor(max_workers=workers or 2 * (os.cpu_count() or 2)) as pool:
        for rel, src, stamp in _walk(root, pool):
            if rel.startswith(_RESERVED) or rel == LOG_JSON:
                continue
            cached = cache.get(rel)
            if isinstance(cached, list) and len(cached) == 4 and tuple(cached[:3]) == stamp:
                files[rel] = HashedFile(rel, src, stamp[0], str(cached[3]), stamp)
            else:
                todo.append((rel, src, stamp))
        total = len(todo)
        chunks = [todo[i : i + _CHUNK] for i in range(0, total, _CHUNK)]
        done = 0
        for result in pool.map(_hash_chunk, chunks):
            for hashed in result:
                files[hashed.path] = hashed
            done += len(result)
            report(progress, "hashing", done, total)
    logger.info("hashed %d of %d files", total, len(files))
    return HashResult(files, total)
