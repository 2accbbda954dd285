"""File helpers shared by every stage: atomic writes, file digests, and reading trees safely.

Invariants:

- *Atomic writes*: a reader of ``path`` sees the old bytes or the new ones, never a partial
  file — the data goes to a unique temporary name in the same folder (same filesystem) and is
  then renamed over ``path`` (``os.replace``, atomic on POSIX). A failure removes the
  temporary file.
- *Nothing outside a tree is read through it*: every walk of a tree (site folders, public/,
  release/, a directory mirror, a reader's store) and every read of a file in one goes
  through :func:`walk_regular`, :func:`open_regular` or :func:`open_below`. They accept only
  regular files: a symbolic link, FIFO, socket or device file is refused with
  :class:`~tamizdat.errors.UnsafeFileError` naming the path. The type is checked before the
  file is opened (``lstat``: a device is never opened) and again on the open descriptor
  (``O_NOFOLLOW | O_NONBLOCK``, then ``fstat``), so a FIFO never blocks a command and a link
  swapped in between is still refused. A link is followed only when the caller passes
  ``links_inside`` (the site's ``[build] follow_links_inside_site`` opt-in), and then only
  if it resolves to a regular file or folder inside that folder.
- *Hard links* are regular files and are accepted: a hard link cannot be told from the
  file it shares, and refusing files with more than one link would refuse public/ and
  release/ themselves (the build hard-links unchanged files; in release/ a natural path is
  a hard link to its by-hash copy, never a link into public/). Creating one
  needs a shell on the publisher's machine with access to the target — git, ZIP bundles
  and web uploads cannot carry a hard link to a file outside the tree — so the folder, as
  written on this machine, is the trust boundary for hard links.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import secrets
import shutil
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tamizdat.errors import UnsafeFileError

__all__ = [
    "TreeFile",
    "copy_regular",
    "describe_mode",
    "open_below",
    "open_regular",
    "read_below",
    "read_regular",
    "resolve_inside",
    "sha256_file",
    "walk_regular",
    "write_atomic",
]

# O_NOFOLLOW: a link in the last component fails with ELOOP instead of being followed.
# O_NONBLOCK: opening a FIFO (or a device that waits for a carrier) returns at once.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_LINK_HINT = "replace the link with the file itself; tamizdat reads only regular files"


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` atomically, creating parent folders; new files get ``mode``.

    The temporary name carries the process id and a random token, so concurrent writers
    (threads or processes) never share one.

    Raises:
        OSError: the folder cannot be created or written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Lowercase hex SHA-256 of a file's bytes, read in blocks (never whole into memory).

    Raises:
        OSError: the file cannot be read.
    """
    with open_regular(path) as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


# --- reading only regular files ---------------------------------------------------------------


def describe_mode(mode: int) -> str:
    """What a file of this ``st_mode`` is, for error messages (``a named pipe (FIFO)``)."""
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISREG, "a regular file"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _refused(
    where: str, mode: int, target: str | None = None, hint: str | None = None
) -> UnsafeFileError:
    what = describe_mode(mode)
    if target is not None:
        what += f" to {target!r}"  # repr: a hostile name cannot carry terminal escapes
    return UnsafeFileError(
        f"expected a regular file, found {what}: refused",
        where=where,
        hint=hint
        or (_LINK_HINT if stat.S_ISLNK(mode) else "remove it; only regular files are read"),
    )


def _link_target(path: str) -> str | None:
    try:
        return str(Path(path).readlink())
    except OSError:
        return None


def resolve_inside(path: str, inside: str, *, where: str, hint: str | None = None) -> str:
    """The real path of link ``path`` if it resolves inside the real folder ``inside``.

    Raises:
        UnsafeFileError: the link dangles, loops, or resolves outside ``inside``.
    """
    target = _link_target(path)
    try:
        real = os.path.realpath(path, strict=True)
    except OSError:
        raise UnsafeFileError(
            f"expected a regular file, found a symbolic link to {target!r} that leads nowhere "
            "(dangling or a loop): refused",
            where=where,
            hint=hint or _LINK_HINT,
        ) from None
    if real != inside and not real.startswith(inside.rstrip("/") + "/"):
        raise UnsafeFileError(
            f"expected a regular file, found a symbolic link to {target!r}, outside "
            f"{inside!r}: refused",
            where=where,
            hint=hint or _LINK_HINT,
        )
    return real


def _checked_fd(fd: int, where: str) -> io.BufferedReader:
    """Wrap ``fd`` if it is a regular file (closing it otherwise)."""
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _refused(where, mode)
        os.set_blocking(fd, True)  # reads of a regular file never block anyway
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_name(name: str, where: str, dir_fd: int | None) -> io.BufferedReader:
    """lstat, then open without following, then fstat: see the module invariant."""
    mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    if not stat.S_ISREG(mode):
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(21, "Is a directory", where)
        raise _refused(
            where, mode, _link_target(name) if stat.S_ISLNK(mode) and dir_fd is None else None
        )
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENXIO):  # swapped for a link or a socket since
            raise _refused(
                where, stat.S_IFLNK if exc.errno == errno.ELOOP else stat.S_IFSOCK
            ) from None
        raise
    return _checked_fd(fd, where)


def open_regular(
    path: str | os.PathLike[str],
    *,
    where: str | None = None,
    links_inside: str | os.PathLike[str] | None = None,
) -> io.BufferedReader:
    """Open ``path`` for reading if it is a regular file (never blocking, never a device).

    The last component must not be a link, unless ``links_inside`` is given and the link
    resolves to a regular file inside that folder. Folders above ``path`` are trusted: use
    :func:`open_below` when they come from outside, or a path from :func:`walk_regular`.

    Raises:
        UnsafeFileError: ``path`` is a link, FIFO, socket or device file (names ``where``,
            else ``path``).
        FileNotFoundError, IsADirectoryError, OSError: no such file, a folder, unreadable.
    """
    name = os.fspath(path)
    label = where or name
    if links_inside is not None and Path(name).is_symlink():
        name = resolve_inside(name, os.path.realpath(links_inside), where=label)
    return _open_name(name, label, None)


def read_regular(
    path: str | os.PathLike[str],
    *,
    where: str | None = None,
    links_inside: str | os.PathLike[str] | None = None,
) -> bytes:
    """The bytes of regular file ``path`` (see :func:`open_regular`, which lists what it raises)."""
    with open_regular(path, where=where, links_inside=links_inside) as handle:
        return handle.read()


def open_below(
    root: str | os.PathLike[str], relative: str, *, where: str | None = None
) -> io.BufferedReader:
    """Open ``root/relative`` following no link below ``root`` (``root`` itself may be one).

    Each folder is opened relative to the one before (``O_NOFOLLOW``), so no component of
    ``relative`` can lead out of ``root``, and the file itself is checked as in
    :func:`open_regular`. ``relative`` is POSIX; empty, ``.`` and ``..`` parts are refused.

    Raises:
        UnsafeFileError: a component is a link, or the file a FIFO, socket or device
            (``where`` defaults to ``root/relative``).
        FileNotFoundError, NotADirectoryError, IsADirectoryError: nothing regular there.
        OSError: the file cannot be read.
    """
    label = where or f"{os.fspath(root)}/{relative}"
    parts = relative.split("/")
    if any(part in ("", ".", "..") for part in parts) or "\0" in relative:
        raise UnsafeFileError(f"expected a path inside the folder, found {relative!r}", where=label)
    dir_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                fd = os.open(part, _DIR_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                # O_DIRECTORY | O_NOFOLLOW on a link fails with ENOTDIR (Linux) or ELOOP.
                mode = os.stat(part, dir_fd=dir_fd, follow_symlinks=False).st_mode
                if exc.errno not in (errno.ENOTDIR, errno.ELOOP) or not stat.S_ISLNK(mode):
                    raise
                raise _refused(label, mode, hint="a folder in the path is a link") from None
            os.close(dir_fd)
            dir_fd = fd
        return _open_name(parts[-1], label, dir_fd)
    finally:
        os.close(dir_fd)


def read_below(
    root: str | os.PathLike[str], relative: str, *, where: str | None = None, max_length: int = -1
) -> bytes:
    """At most ``max_length`` bytes (all if negative) of ``root/relative``, as
    :func:`open_below` opens it (and raises)."""
    with open_below(root, relative, where=where) as handle:
        return handle.read(max_length)


def copy_regular(
    source: str | os.PathLike[str], dest: str | os.PathLike[str], *, where: str | None = None
) -> None:
    """Copy regular file ``source`` to a new ``dest`` (see :func:`open_regular` for what
    ``source`` may be and what it raises). ``dest`` is created exclusively
    (``FileExistsError`` if it exists), so a copy never writes into a file another tree
    shares through a hard link."""
    with open_regular(source, where=where) as src, open(dest, "xb") as dst:  # noqa: PTH123
        shutil.copyfileobj(src, dst, 1024 * 1024)


# --- walking a tree ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TreeFile:
    """A regular file found by :func:`walk_regular`.

    ``relative`` is POSIX, relative to the walked root; ``path`` is what to open (the real
    path when it was reached through an allowed link); size, mtime, inode and ctime come
    from the same ``lstat`` that checked the type.
    """

    relative: str
    path: str
    size: int
    mtime_ns: int
    inode: int
    ctime_ns: int = 0  # for caches keyed on stat (tamizdat.stat_cache)


SkipRule = Callable[[str, bool], bool]  # (name, is a folder) → leave it out unread


def walk_regular(
    root: str | os.PathLike[str],
    *,
    where: str | None = None,
    links_inside: str | os.PathLike[str] | None = None,
    skip: SkipRule | None = None,
    hint: str | None = None,
) -> Iterator[TreeFile]:
    """Every regular file under ``root``, depth first, names sorted (deterministic).

    ``where`` names ``root`` in errors (default: its path); ``skip(name, is_folder)`` leaves
    entries out before they are looked at (hidden files); ``links_inside`` allows links that
    resolve inside that folder (followed; a folder reached twice on one branch is a loop).
    ``root`` itself may be a link: the caller chose it.

    Raises:
        UnsafeFileError: a link (unless allowed), FIFO, socket or device file under ``root``;
            ``where`` names it relative to ``root`` (after ``where``).
        OSError: a folder cannot be listed.
    """
    top = os.fspath(root)
    label = top if where is None else where
    inside = None if links_inside is None else os.path.realpath(links_inside)
    rules = _WalkRules(label, inside, skip, hint)
    yield from rules.walk(top, "", (os.path.realpath(top),) if inside else ())


@dataclass(frozen=True, slots=True)
class _WalkRules:
    label: str
    inside: str | None
    skip: SkipRule | None
    hint: str | None

    def name(self, relative: str) -> str:
        return f"{self.label}/{relative}" if self.label else relative

    def walk(self, folder: str, prefix: str, real: tuple[str, ...]) -> Iterator[TreeFile]:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            relative = prefix + entry.name
            is_dir = entry.is_dir(follow_symlinks=False)  # from d_type: no system call
            if self.skip is not None and self.skip(entry.name, is_dir):
                continue
            if is_dir:
                nested = (*real, f"{real[-1]}/{entry.name}") if real else ()
                yield from self.walk(entry.path, relative + "/", nested)
                continue
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode):
                yield TreeFile(
                    relative, entry.path, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns
                )
            elif stat.S_ISLNK(st.st_mode) and self.inside is not None:
                yield from self.follow(entry.path, relative, real)
            else:
                target = _link_target(entry.path) if stat.S_ISLNK(st.st_mode) else None
                raise _refused(self.name(relative), st.st_mode, target, self.hint)

    def follow(self, path: str, relative: str, real: tuple[str, ...]) -> Iterator[TreeFile]:
        assert self.inside is not None
        where = self.name(relative)
        target = resolve_inside(path, self.inside, where=where, hint=self.hint)
        st = Path(target).stat()
        if stat.S_ISREG(st.st_mode):
            yield TreeFile(relative, target, st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)
        elif stat.S_ISDIR(st.st_mode):
            if any(a == target or a.startswith(target + "/") for a in real):
                raise UnsafeFileError(
                    f"expected a folder, found a symbolic link back to {target!r} (a loop): refused",
                    where=where,
                    hint=self.hint or _LINK_HINT,
                )
            yield from self.walk(target, relative + "/", (*real, target))
        else:
            raise _refused(where, st.st_mode, hint=self.hint)
