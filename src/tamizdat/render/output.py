"""Atomic, incremental replacement of the output folder.

Invariant: ``public/`` is only ever replaced as a whole. A build assembles the new tree in
a staging folder beside it (same filesystem), hard-linking every file whose bytes did not
change (its inode and mtime survive, so later stages see it untouched) and writing only
the files whose bytes changed; then it swaps the two folders (atomically with
``renameat2(RENAME_EXCHANGE)`` where Linux offers it). Until the swap, no file of the
previous ``public/`` is touched: staging only ever renames and unlinks its *own* directory
entries (a new file is written under a temporary name and renamed into place), so a
failure anywhere leaves ``public/`` exactly as it was (same bytes, same inodes). A crash is
repaired on the next run.

Why the staging folder is kept between builds: creating and removing directories is what
costs (on an ext4 volume mounted with ``discard`` an ``rmdir`` takes ~3 ms, so throwing away
a 10,000-article tree takes half a minute). After a swap the staging folder holds the
previous generation, which the next build *updates* — only the files and folders that
changed are touched — instead of rebuilding a tree from nothing. Its contents are never
trusted: every file is re-checked by inode against what it must be.

The manifest (``cache_dir/manifest.json``) remembers, for every output file, the key of
what produced it, its SHA-256, size, mtime and inode. An entry is trusted only while the
file in ``public/`` still has that size, mtime and inode, so a hand-edited output or a
manifest left stale by a crash is never mistaken for up to date. It keeps, per article
page, the record the corrections check needs (:mod:`tamizdat.render.corrections`), in the
same file so that it always describes the ``public/`` it was written with. It also holds the stamps of
``public/``'s folders; after the swap that tree is the staging tree, and a record of it
(:mod:`tamizdat.render.tree_record`) lets the next build skip listing it while every
folder's stamp holds. The listing only saves work, never decides safety: every new file is
created exclusively (``O_EXCL`` or a hard link), so a wrong listing can never make a build
write into a file shared with ``public/``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import logging
import os
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import cast

from tamizdat.errors import ContentError
from tamizdat.files import copy_regular, write_atomic
from tamizdat.render.corrections import ArticleRecord, read_records, records_to_json
from tamizdat.render.tree_record import stamp_dirs, take_record, write_record
from tamizdat.stamps import Stamp, read_stamp

__all__ = [
    "ManifestEntry",
    "Staging",
    "check_output_path",
    "read_manifest",
    "recover_output",
    "write_manifest",
]

log = logging.getLogger(__name__)
MANIFEST_VERSION = 2


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """What the previous build wrote at one output path."""

    key: str
    sha256: str
    size: int
    mtime_ns: int
    ino: int

    @property
    def stamp(self) -> Stamp:
        return Stamp(self.size, self.mtime_ns, self.ino)


@dataclass(frozen=True, slots=True)
class Manifest:
    """The previous build's outputs, and the stamps of ``public/``'s folders it left.

    Both are written in one file, so the folders always describe the tree the files were
    placed in (see :class:`tamizdat.render.tree_record.TreeRecord`).
    """

    files: dict[str, ManifestEntry]
    dirs: dict[str, Stamp] | None  # None: unknown (no record of the folders)
    articles: dict[str, ArticleRecord] = field(default_factory=dict)  # page → its record


def read_manifest(path: Path) -> Manifest:
    """The previous build's manifest, or an empty one if missing or unreadable."""
    try:
        data = json.loads(path.read_bytes())
        if data.get("version") != MANIFEST_VERSION:
            return Manifest({}, None)
        files = {out: ManifestEntry(*fields) for out, fields in data["files"].items()}
        dirs = data.get("dirs")
        stamps = {d: Stamp(*map(int, v)) for d, v in dirs.items()} if dirs else None
        # Optional (older format-2 manifests lack it); a damaged one only drops the records.
        return Manifest(files, stamps, read_records(data.get("articles")))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return Manifest({}, None)


def write_manifest(
    path: Path,
    entries: Mapping[str, ManifestEntry],
    dirs: Mapping[str, Stamp] | None = None,
    articles: Mapping[str, ArticleRecord] | None = None,
) -> None:
    """Write the manifest atomically (temporary name, then ``os.replace``)."""
    files = {
        out: [e.key, e.sha256, e.size, e.mtime_ns, e.ino] for out, e in sorted(entries.items())
    }
    payload = {
        "version": MANIFEST_VERSION,
        "files": files,
        "dirs": dict(dirs or {}),
        "articles": records_to_json(articles or {}),
    }
    write_atomic(path, json.dumps(payload, separators=(",", ":")).encode())


def check_output_path(output: str, source: str) -> str:
    """Refuse output paths that could escape the output folder.

    Raises:
        ContentError: absolute, empty, or containing ``..`` (names what produced it).
    """
    if output and output[0] != "/" and "\\" not in output and ".." not in output:
        return output  # the common case, decided without building a path object
    parts = PurePosixPath(output).parts
    if not output or output.startswith("/") or "\\" in output or ".." in parts or "." in parts:
        raise ContentError(f"unsafe output path {output!r}", where=source)
    return output


_STAGING_RECORD = "staging-tree.json"


def _twin_name(output_dir: Path) -> Path:
    return output_dir.parent / f".{output_dir.name}-staging"


def _old_prefix(output_dir: Path) -> str:
    return f".{output_dir.name}-old-"


def recover_output(output_dir: Path) -> None:
    """Repair what a crash left: restore the old tree if it is the only one.

    Without atomic exchange the swap is three renames (public → old, staging → public,
    old → staging); a crash in between can leave ``.public-old-*`` and no ``public/``, in
    which case that old tree is moved back. Any other ``.public-old-*`` becomes the staging
    tree if there is none, or is removed.
    """
    parent = output_dir.parent
    if not parent.is_dir():
        return
    olds = sorted(p for p in parent.iterdir() if p.name.startswith(_old_prefix(output_dir)))
    if olds and not output_dir.exists():
        log.warning("restoring %s from %s left by an interrupted build", output_dir, olds[-1])
        olds.pop().rename(output_dir)
    twin = _twin_name(output_dir)
    for leftover in olds:
        if not twin.exists():
            leftover.rename(twin)
        else:
            shutil.rmtree(leftover, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically with renameat2(RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(a))


def _scan(root: Path) -> tuple[dict[str, int], set[str]]:
    """Files (relative path → inode) and folders under ``root``; inodes come from dirents."""
    files: dict[str, int] = {}
    dirs: set[str] = set()
    stack = [("", str(root))]
    while stack:
        prefix, directory = stack.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                relative = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    dirs.add(relative)
                    stack.append((relative + "/", entry.path))
                else:
                    files[relative] = entry.inode()
    return files, dirs


def _parents(outputs: Iterable[str]) -> set[str]:
    dirs: set[str] = set()
    for output in outputs:
        parent = output.rpartition("/")[0]
        while parent and parent not in dirs:
            dirs.add(parent)
            parent = parent.rpartition("/")[0]
    return dirs


def _write_new(path: Path, data: bytes) -> None:
    """Write a new file; ``FileExistsError`` if ``path`` exists (never writes into it)."""
    with open(path, "xb") as handle:  # noqa: PTH123 - exclusive creation
        handle.write(data)


def _copy_new(src: Path, path: Path, *, keep_times: bool = False) -> None:
    """Copy ``src`` into a new file at ``path``; ``FileExistsError`` if ``path`` exists."""
    with open(src, "rb") as source, open(path, "xb") as target:  # noqa: PTH123
        shutil.copyfileobj(source, target, 1 << 20)
    if keep_times:
        shutil.copystat(src, path)


class Staging:
    """The next output tree, updated in place from the previous generation; see above."""

    def __init__(
        self,
        output_dir: Path,
        previous: Manifest,
        records_dir: Path | None = None,
    ) -> None:
        """Prepare the staging tree beside ``output_dir``.

        ``records_dir`` (the build cache) keeps a record of the staging tree between
        builds, so that it is listed from that record when every folder's stamp still
        matches, and from disk otherwise.
        """
        recover_output(output_dir)
        output_dir.parent.mkdir(parents=True, exist_ok=True)
        self.output_dir = output_dir
        self._public = f"{output_dir}{os.sep}"
        self.previous = previous.files
        self._public_dirs = previous.dirs
        self.dir = _twin_name(output_dir)
        self._records = records_dir
        # Taken (read and removed) now: from here on either tree may change.
        twin = take_record(records_dir / _STAGING_RECORD) if records_dir else None
        # Stamps of the staging tree's folders, known when its record held (none changed).
        self._dir_stamps: dict[str, Stamp] | None = None
        if self.dir.is_dir():
            if twin is not None and twin.holds_for(self.dir):
                self.present, self.present_dirs = dict(twin.files), set(twin.dirs) - {""}
                self._dir_stamps = twin.dirs
            else:
                self.present, self.present_dirs = _scan(self.dir)
        else:
            if self.dir.exists():
                self.dir.unlink()
            self.dir.mkdir()
            self.present, self.present_dirs = {}, set()
        self._listed = dict(self.present)  # as found, to tell later which folders changed
        self._touched: set[str] = set()  # folders whose entries this build changed
        self.wanted: set[str] = set()
        self._can_link = True

    # -- deciding what can be reused -------------------------------------------------------

    def reusable(self, output: str) -> ManifestEntry | None:
        """The previous entry for ``output`` if the file in ``public/`` is still that file."""
        entry = self.previous.get(output)
        if entry is None:
            return None
        # A string join, not a Path: this runs for every output of every build.
        if read_stamp(self._public + output) != entry.stamp:
            return None
        return entry

    # -- placing files -----------------------------------------------------------------------

    def make_dirs(self, outputs: Iterable[str]) -> None:
        """Create the parent folders the outputs need (once, parents first); note them all."""
        outputs = list(outputs)
        self.wanted = set(outputs)
        needed = _parents(outputs)
        for directory in sorted(needed - self.present_dirs, key=lambda d: (d.count("/"), d)):
            target = self.dir / directory
            if directory in self.present:  # a file where a folder must go
                target.unlink()
                del self.present[directory]
            target.mkdir(exist_ok=True)
            self._touched.update((directory, directory.rpartition("/")[0]))
        self.present_dirs |= needed

    def _install(self, output: str, fill: Callable[[Path], object]) -> Path:
        """Create the file under a temporary name beside ``output``, then rename it there.

        Never writes into an existing file: it may share its inode with ``public/``. Every
        ``fill`` creates its file exclusively (``O_EXCL``, or a hard link), so that holds
        even if the listing of the staging tree were wrong.
        """
        dst = self.dir / output
        if output in self.present_dirs:  # a folder where a file must go
            shutil.rmtree(dst)
            self.present_dirs.discard(output)
            self._touched.add(output.rpartition("/")[0])
        elif output not in self.present:
            # Nothing should be there (the listing saw nothing, and each output is placed
            # once per build): create it in place, saving two metadata operations per file on
            # a first build. A crash leaves a file whose inode no manifest names, which the
            # next build replaces like any stale one.
            try:
                fill(dst)
                return dst
            except FileExistsError:
                pass  # the listing was out of date: replace it by rename, below
        tmp = dst.with_name(f".{dst.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        fill(tmp)
        tmp.replace(dst)
        return dst

    def link_previous(self, output: str, entry: ManifestEntry, key: str) -> ManifestEntry:
        """Carry the unchanged file over from ``public/`` (hard link; copy if impossible)."""
        updated = ManifestEntry(key, entry.sha256, entry.size, entry.mtime_ns, entry.ino)
        if self.present.get(output) == entry.ino:
            return updated  # the staging tree already holds that very file
        src = self.output_dir / output
        if self._can_link:
            try:
                self._install(output, lambda tmp: os.link(src, tmp))
                return updated
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                self._can_link = False
        dst = self._install(output, lambda tmp: _copy_new(src, tmp, keep_times=True))
        return self._entry(dst, key, entry.sha256)

    def write_bytes(self, output: str, data: bytes, key: str) -> tuple[ManifestEntry, bool]:
        """Place ``data`` at ``output``; reuse the old file if its bytes are equal.

        Returns the new manifest entry and whether a new file was written.
        """
        digest = hashlib.sha256(data).hexdigest()
        previous = self.reusable(output)
        if previous is not None and previous.sha256 == digest:
            return self.link_previous(output, previous, key), False
        dst = self._install(output, lambda tmp: _write_new(tmp, data))
        return self._entry(dst, key, digest), True

    def copy_file(
        self, output: str, src: Path, sha256: str, key: str
    ) -> tuple[ManifestEntry, bool]:
        """Place a copy of ``src`` (whose SHA-256 is known) at ``output``."""
        previous = self.reusable(output)
        if previous is not None and previous.sha256 == sha256:
            return self.link_previous(output, previous, key), False
        # A copy, not a link: editing a source file later must not change the output.
        # never a link or FIFO, and never into an existing file
        dst = self._install(output, lambda tmp: copy_regular(src, tmp))
        return self._entry(dst, key, sha256), True

    @staticmethod
    def _entry(path: Path, key: str, sha256: str) -> ManifestEntry:
        st = path.stat()
        return ManifestEntry(key, sha256, st.st_size, st.st_mtime_ns, st.st_ino)

    # -- finishing -----------------------------------------------------------------------------

    def _prune(self) -> None:
        """Remove what the new generation no longer has: files, then empty folders."""
        for output in self.present.keys() - self.wanted:
            (self.dir / output).unlink(missing_ok=True)
            self._touched.add(output.rpartition("/")[0])
        keep = _parents(self.wanted)
        for directory in sorted(self.present_dirs - keep, key=lambda d: -d.count("/")):
            with contextlib.suppress(FileNotFoundError):
                (self.dir / directory).rmdir()
            self._touched.add(directory.rpartition("/")[0])

    def commit(self, placed: Mapping[str, ManifestEntry] | None = None) -> dict[str, Stamp] | None:
        """Make the staging tree the output folder; keep the previous one as the next base.

        ``placed`` (every output of this build with its entry) lets the next build find the
        staging tree from a record instead of listing it: the record is written here, and
        the stamps of the new ``public/``'s folders are returned for the manifest (``None``
        without ``placed`` or when they cannot be read).
        """
        self._prune()
        if not self.output_dir.exists():
            self.dir.rename(self.output_dir)
            primed = self._prime()
            return self._record_trees(placed, self.dir if primed else None)
        if not _exchange(self.dir, self.output_dir):
            old = self.output_dir.parent / f"{_old_prefix(self.output_dir)}{secrets.token_hex(6)}"
            self.output_dir.rename(old)
            self.dir.rename(self.output_dir)
            old.rename(self.dir)
        return self._record_trees(placed, None)

    def _record_trees(
        self, placed: Mapping[str, ManifestEntry] | None, twin: Path | None
    ) -> dict[str, Stamp] | None:
        """Record the staging tree for the next build; return the stamps of ``public/``."""
        if self._records is None or placed is None:
            return None
        parents = _parents(self.wanted)
        try:
            if twin is not None:  # a fresh hard-linked twin: the same files, its own folders
                files = {output: entry.ino for output, entry in placed.items()}
                twin_dirs = stamp_dirs(twin, parents)
                if twin_dirs is not None:
                    write_record(self._records / _STAGING_RECORD, files, twin_dirs)
            elif self._public_dirs is not None:  # the old public/ is now the staging tree
                old_files = {output: entry.ino for output, entry in self.previous.items()}
                write_record(self._records / _STAGING_RECORD, old_files, self._public_dirs)
        except OSError as exc:
            # Only an optimisation: without a record the next build lists the tree.
            log.info("could not record the staging tree: %s", exc)
        return self._stamp_public(placed, parents)

    def _stamp_public(
        self, placed: Mapping[str, ManifestEntry], parents: set[str]
    ) -> dict[str, Stamp] | None:
        """Stamps of the new ``public/``'s folders: re-read only those this build changed."""
        if self._dir_stamps is None:
            return stamp_dirs(self.output_dir, parents)
        touched = set(self._touched)
        for output, entry in placed.items():
            if self._listed.get(output) != entry.ino:
                touched.add(output.rpartition("/")[0])
        fresh = stamp_dirs(self.output_dir, touched & parents)
        if fresh is None:
            return None
        kept = {d: self._dir_stamps.get(d) for d in parents - touched}
        if None in kept.values():
            return stamp_dirs(self.output_dir, parents)  # a folder the record did not know
        return {**cast("dict[str, Stamp]", kept), **fresh}

    def _prime(self) -> bool:
        """After a first build, give the next one a base: a hard-linked twin of ``public/``.

        Paid once, here, so that the first incremental rebuild is as cheap as the later ones.
        Returns whether the twin is complete.
        """
        try:
            self.dir.mkdir()
            for directory in sorted(_parents(self.wanted), key=lambda d: (d.count("/"), d)):
                (self.dir / directory).mkdir()
            for output in self.wanted:
                os.link(self.output_dir / output, self.dir / output)
        except OSError as exc:
            # Only an optimisation: the next build starts from an empty staging tree instead.
            log.info("could not prepare the staging tree: %s", exc)
            shutil.rmtree(self.dir, ignore_errors=True)
            return False
        return True

    def abort(self) -> None:
        """Leave ``public/`` untouched; the half-updated staging tree stays as the next base.

        (Its files are re-checked by inode on the next build, so nothing stale survives.)
        """
