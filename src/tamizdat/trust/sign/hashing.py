"""Scanning ``public/`` and hashing its files, incrementally and on every core.

Invariant: only regular files are signed — anything else under ``public/`` is refused with
an error naming it (see :mod:`tamizdat.files`). A file is hashed again unless the
:class:`~tamizdat.stat_cache.StatCache` of the previous run vouches for it (same size,
mtime, inode and ctime, recorded before the cache was written); the cache lives outside the
release (``build.cache_dir``) and is only an accelerator — a missing or damaged cache means
hashing everything again. A folder is listed again unless the :class:`FolderIndex` of the
previous run vouches for its entries (same stamp, older than that run); every file is
``lstat``-ed on every run, whatever the index says, because an edit in place changes no
folder. So what is signed is always what ``public/`` holds now, whoever changed it — the
build, a hand edit, a planted link — and a daily release reads only the files that changed.
The walk runs on the calling thread and hands full chunks of files to a thread pool as it
goes: ``hashlib`` and file reads release the GIL, so hashing (and, for a first release,
copying: :class:`~tamizdat.trust.sign.release_dir.ObjectStager`) overlaps the walk and uses
both cores without the cost of starting processes.
"""

# os.stat/lstat/readlink on strings: this module looks at 100,000+ paths per sign.
# ruff: noqa: PTH115, PTH116

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import stat
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tamizdat.errors import UnsafeFileError
from tamizdat.files import describe_mode, sha256_file, write_atomic
from tamizdat.layout import LOG_JSON, METADATA_DIR, TARGETS_DIR
from tamizdat.progress import Progress, report
from tamizdat.stat_cache import Stamp, StatCache, stamp_of

__all__ = ["FolderIndex", "HashResult", "HashedFile", "hash_tree", "load_hash_cache"]

logger = logging.getLogger(__name__)

_CHUNK = 256
_RESERVED = (f"{METADATA_DIR}/", f"{TARGETS_DIR}/")


@dataclass(frozen=True, slots=True)
class HashedFile:
    """One file of the public tree: where it is, its length, its SHA-256."""

    path: str
    source: str  # a plain string: 100,000 Path objects cost a measurable share of a sign
    length: int
    sha256: str
    stamp: Stamp  # (size, mtime_ns, inode, ctime_ns) when walked


@dataclass(frozen=True, slots=True)
class HashResult:
    files: dict[str, HashedFile]
    hashed: int  # files actually read this run (the rest came from the cache)


_Found = tuple[str, str, Stamp]  # (relative path, full path, stamp)
_Listing = tuple[list[str], list[str]]  # (file names, folder names), sorted

_INDEX_FORMAT = "tamizdat-folder-index-1"
# A folder changed less than this before a scan started is listed again by the next scan:
# file times come from the kernel's coarse clock, which lags time.time_ns() by up to a
# tick, and a change made in the same tick as our lstat would keep the folder's stamp.
_SETTLE_NS = 1_000_000_000


class _StaleIndexError(Exception):
    """A listing the folder index vouched for is wrong (a race with a writer): scan again
    without the index."""


class FolderIndex:
    """The listing of every folder of one tree at the folder's stamp, so a scan lists again
    only the folders whose entries changed.

    Invariant: a folder's recorded listing is reused only while its stamp (size, mtime,
    inode, ctime) is the one recorded and older than the scan that recorded it (less
    :data:`_SETTLE_NS`). Adding, removing or renaming an entry changes the folder's mtime and
    ctime (no tool can set a ctime back); editing a file inside does not, which is why every
    file is still ``lstat``-ed (:class:`~tamizdat.stat_cache.StatCache` decides about its
    bytes). Like the hash cache, the index is only an accelerator: a missing, damaged or
    foreign file means listing every folder.
    """

    def __init__(self, scope: str, *, trusted_before: int = 0) -> None:
        self.scope = scope
        self._trusted_before = trusted_before
        # As loaded (parallel lists, checked when used: loading 60,000 folders into
        # tuples cost more than the listing they save).
        self._index: dict[str, int] = {}
        self._stamps: list[int] = []
        self._files: list[object] = []
        self._dirs: list[object] = []
        self._new: dict[str, tuple[Stamp, _Listing]] = {}

    @classmethod
    def load(cls, file: Path, scope: str) -> FolderIndex:
        """The index saved in ``file`` for ``scope``, or an empty one."""
        try:
            data = json.loads(file.read_bytes())
            if data["format"] != _INDEX_FORMAT or data["scope"] != scope:
                return cls(scope)
            scanned, folders, stamps = data["scanned"], data["folders"], data["stamps"]
            files, dirs = data["files"], data["dirs"]
            if not (
                type(scanned) is int
                and type(folders) is list
                and type(stamps) is list
                and type(files) is list
                and type(dirs) is list
                and len(stamps) == 4 * len(folders) == 4 * len(files) == 4 * len(dirs)
                and all(type(v) is int for v in stamps)
                and all(type(f) is str for f in folders)
            ):
                return cls(scope)
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return cls(scope)
        index = cls(scope, trusted_before=scanned - _SETTLE_NS)
        index._index = dict(zip(folders, range(len(folders)), strict=True))
        index._stamps, index._files, index._dirs = stamps, files, dirs
        return index

    def listing(self, folder: str, stamp: Stamp) -> _Listing | None:
        """The names recorded for ``folder`` if it still has ``stamp`` (and had it for long
        enough before the recording scan), else None: the caller lists it."""
        i = self._index.get(folder)
        if i is None or max(stamp[1], stamp[3]) >= self._trusted_before:
            return None
        at, stamps = 4 * i, self._stamps
        if (stamps[at], stamps[at + 1], stamps[at + 2], stamps[at + 3]) != stamp:
            return None
        files, dirs = self._files[i], self._dirs[i]
        if not (_names(files) and _names(dirs)):
            return None  # damaged: list the folder
        return files, dirs  # type: ignore[return-value]

    def record(self, folder: str, stamp: Stamp, listing: _Listing) -> None:
        self._new[folder] = (stamp, listing)

    def save(self, file: Path, scanned: int) -> None:
        """Write what was recorded, as seen by the scan that started at ``scanned``
        (``time.time_ns()``).

        Raises:
            OSError: the cache folder cannot be written.
        """
        new = self._new
        payload = {
            "format": _INDEX_FORMAT,
            "scope": self.scope,
            "scanned": scanned,
            "folders": list(new),
            "stamps": [v for stamp, _listing in new.values() for v in stamp],
            "files": [listing[0] for _stamp, listing in new.values()],
            "dirs": [listing[1] for _stamp, listing in new.values()],
        }
        write_atomic(file, json.dumps(payload, separators=(",", ":")).encode())


@dataclass(frozen=True, slots=True)
class _Scanner:
    """One scan of ``root``: folders whose stamp holds are not listed again, every file is
    ``lstat``-ed; a link, FIFO, socket or device file is refused (as
    :func:`tamizdat.files.walk_regular` does; ``root`` itself may be a link: the caller
    chose it)."""

    root: str
    label: str
    index: FolderIndex

    def scan(self) -> Iterator[_Found]:
        stack = [""]
        while stack:
            rel = stack.pop()
            full = f"{self.root}/{rel}" if rel else self.root
            if not rel:
                st = os.stat(full)  # the root: missing or unreadable is the caller's error
            else:
                try:
                    st = os.lstat(full)
                except FileNotFoundError:
                    raise _StaleIndexError(rel) from None  # listed, gone now
            if not stat.S_ISDIR(st.st_mode):
                if not rel:
                    raise NotADirectoryError(errno.ENOTDIR, "expected a folder", full)
                raise _StaleIndexError(rel)  # a listed folder became something else
            stamp = stamp_of(st)
            prefix = f"{rel}/" if rel else ""
            listing = self.index.listing(rel, stamp)
            found = None if listing is None else self._known(full, prefix, listing[0])
            if found is None or listing is None:
                listing, found = self._list(full, prefix)
            self.index.record(rel, stamp, listing)
            yield from found
            stack.extend(prefix + name for name in reversed(listing[1]))

    def _known(self, full: str, prefix: str, names: list[str]) -> list[_Found] | None:
        """The files of a folder whose listing held, or None if one of them is no longer a
        regular file (then the folder is listed again, which refuses it with its name)."""
        found = []
        lstat = os.lstat
        for name in names:
            path = f"{full}/{name}"
            try:
                st = lstat(path)
            except FileNotFoundError:
                return None
            if not stat.S_ISREG(st.st_mode):
                return None
            found.append(
                (prefix + name, path, (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns))
            )
        return found

    def _list(self, full: str, prefix: str) -> tuple[_Listing, list[_Found]]:
        with os.scandir(full) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        files, dirs, found = [], [], []
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):  # from d_type: no system call
                dirs.append(entry.name)
                continue
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode):
                raise self._refused(prefix + entry.name, entry.path, st.st_mode)
            files.append(entry.name)
            stamp = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
            found.append((prefix + entry.name, entry.path, stamp))
        return (files, dirs), found

    def _refused(self, relative: str, path: str, mode: int) -> UnsafeFileError:
        what = describe_mode(mode)
        if stat.S_ISLNK(mode):
            with contextlib.suppress(OSError):
                what += f" to {os.readlink(path)!r}"  # repr: no terminal escapes
        return UnsafeFileError(
            f"expected a regular file, found {what}: refused",
            where=f"{self.label}/{relative}",
            hint="remove it and run 'tamizdat build' again; only regular files are signed",
        )


def _names(value: object) -> bool:
    """Whether a loaded listing is a list of names (plain strings naming an entry of the
    folder itself: no slash, not empty, not ``.`` or ``..``)."""
    return type(value) is list and all(
        type(n) is str and "/" not in n and n not in ("", ".", "..") for n in value
    )


def _scan(root: Path, index: FolderIndex) -> Iterator[_Found]:
    """Every regular file under ``root`` (see :class:`_Scanner`: public/ holds only what
    the build wrote, so anything else was planted there)."""
    return _Scanner(str(root), root.name, index).scan()


# Reads, hashes and (for a release being assembled) writes one file: rel, full path →
# (sha256, length, stamp of what was read). See release_dir.ObjectStager.
Hasher = Callable[[str, str], tuple[str, int, Stamp]]


def _hash_chunk(items: list[_Found], hasher: Hasher | None) -> list[HashedFile]:
    if hasher is None:
        return [HashedFile(r, src, stamp[0], sha256_file(src), stamp) for r, src, stamp in items]
    done = []
    for rel, src, _walked in items:
        sha256, length, stamp = hasher(rel, src)
        done.append(HashedFile(rel, src, length, sha256, stamp))
    return done


def load_hash_cache(cache_file: Path, root: Path) -> StatCache:
    """The hashes the previous run recorded for the files under ``root`` (maybe none)."""
    return StatCache.load(cache_file, str(root))


def hash_tree(
    root: Path,
    cache: StatCache,
    *,
    index: FolderIndex | None = None,
    hasher: Hasher | None = None,
    workers: int = 0,
    progress: Progress | None = None,
) -> HashResult:
    """Hash every regular file under ``root`` except tamizdat's own metadata and log, taking
    the hash of each file ``cache`` vouches for instead of reading it, and listing only the
    folders ``index`` does not vouch for (it records what this scan saw, for the next one).
    ``hasher`` reads each file that must be hashed (default: hash it in place); it runs on
    worker threads.

    Raises:
        UnsafeFileError: a link, FIFO, socket or device file under ``root`` (none is read).
        OSError: a file vanished or could not be read while hashing.
    """
    scope = str(root)
    try:
        return _hash_tree(root, cache, index or FolderIndex(scope), hasher, workers, progress)
    except _StaleIndexError:
        # A folder changed while we looked (or in the tick before the last scan): the
        # index cannot be trusted this time; list everything.
        fresh = FolderIndex(scope)
        try:
            result = _hash_tree(root, cache, fresh, hasher, workers, progress)
        except _StaleIndexError as exc:
            raise FileNotFoundError(
                errno.ENOENT, "a folder vanished while signing", f"{root}/{exc}"
            ) from None
        if index is not None:
            index._new = fresh._new
        return result


def _hash_tree(
    root: Path,
    cache: StatCache,
    index: FolderIndex,
    hasher: Hasher | None,
    workers: int,
    progress: Progress | None,
) -> HashResult:
    files: dict[str, HashedFile] = {}
    pending: list[Future[list[HashedFile]]] = []
    batch: list[_Found] = []
    total = 0
    # Hash while walking: chunks go to threads as soon as they are full (file reads and
    # sha256 release the GIL, so hashing overlaps the walk and uses both cores).
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
        for rel, src, stamp in _scan(root, index):
            if rel.startswith(_RESERVED) or rel == LOG_JSON:
                continue
            cached = cache.digest(rel, stamp)
            if cached is not None:
                files[rel] = HashedFile(rel, src, stamp[0], cached, stamp)
                continue
            batch.append((rel, src, stamp))
            total += 1
            if len(batch) == _CHUNK:
                pending.append(pool.submit(_hash_chunk, batch, hasher))
                batch = []
        if batch:
            pending.append(pool.submit(_hash_chunk, batch, hasher))
        done = 0
        for future in pending:
            result = future.result()
            for hashed in result:
                files[hashed.path] = hashed
            done += len(result)
            report(progress, "hashing", done, total)
    logger.info("hashed %d of %d files", total, len(files))
    return HashResult(files, total)
