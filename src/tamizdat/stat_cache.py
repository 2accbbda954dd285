"""One persisted cache of file digests, keyed by what ``lstat`` says about each file.

Invariant: a cached digest is returned for a path only while the file's stamp — (size,
mtime_ns, inode, ctime_ns) — equals the stamp recorded with it, and only if that stamp is
older than the cache file itself. Everything else is hashed again. So:

- an edit in place changes mtime and ctime; a replacement (``os.replace``, what the build
  does) changes the inode; a tool that restores the mtime afterwards (``cp -p``,
  ``touch -r``) still changes the ctime, which no user-space call can set;
- *racily clean* files (git's term) are not trusted: a file written in the same clock
  tick as the cache was saved could change again within that tick and keep its stamp, so an
  entry whose mtime or ctime is not older than the cache file's own mtime (the same clock)
  is hashed again on the next run;
- the cache is only an accelerator: a missing, damaged, foreign (another format or scope) or
  hostile file means an empty cache, never an error and never a wrong digest for a file
  whose stamp changed. It is written atomically.

The ctime also changes when a hard link to the file is made or removed: a caller that links
files (the signer links ``public/`` into ``release/``) records the stamp taken after linking
(:func:`file_stamp`). The format is flat JSON arrays — parallel lists of paths, stamps and
digests — because loading and saving 100,000 entries that way is about twice as fast as a
dict of lists, and JSON cannot run code (unlike pickle or marshal).

Used by the signer (:mod:`tamizdat.trust.sign.hashing`); general enough for any stage that hashes
files it walks (the build's output manifest, the publisher's release listing): the scope
string keeps caches of different trees apart, ``tag`` lets a caller tie the cache to the
state it was saved with.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

from tamizdat.files import write_atomic

__all__ = ["Stamp", "StatCache", "file_stamp", "stamp_of"]

_FORMAT = "tamizdat-stat-cache-1"
_HEX = re.compile(r"[0-9a-f]*")

Stamp = tuple[int, int, int, int]  # (size, mtime_ns, inode, ctime_ns)


def stamp_of(st: os.stat_result) -> Stamp:
    """The stamp of a ``stat``/``lstat`` result."""
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_ctime_ns)


def file_stamp(path: str | os.PathLike[str]) -> Stamp:
    """The stamp of ``path`` itself (``lstat``: a link is never followed).

    Raises:
        OSError: the file does not exist or cannot be looked at.
    """
    return stamp_of(os.lstat(path))


class StatCache:
    """Digests of the files of one tree (``scope``), from the previous run and for the next.

    :meth:`digest` answers from what was loaded; :meth:`record` collects what the next run
    may trust; :meth:`save` writes only what was recorded, so files that vanished drop out.
    """

    def __init__(self, scope: str, *, tag: str = "", trusted_before: int = 0) -> None:
        self.scope = scope
        self.tag = tag  # what the loaded cache was saved with ("" when none)
        self._trusted_before = trusted_before  # the loaded cache file's mtime_ns
        self._index: dict[str, int] = {}
        self._stamps: list[int] = []
        self._digests: list[str] = []
        self._new: dict[str, tuple[Stamp, str]] = {}

    @classmethod
    def load(cls, file: Path, scope: str) -> StatCache:
        """The cache saved in ``file`` for ``scope``, or an empty one (see the module doc)."""
        try:
            with file.open("rb") as handle:
                trusted_before = os.fstat(handle.fileno()).st_mtime_ns
                data = json.loads(handle.read())
        except (OSError, ValueError):
            return cls(scope)
        cache = cls(scope)
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return cache
        paths, stamps, digests = data.get("paths"), data.get("stamps"), data.get("digests")
        tag = data.get("tag")
        if (
            data.get("scope") != scope
            or not isinstance(tag, str)
            or not isinstance(paths, list)
            or not isinstance(stamps, list)
            or not isinstance(digests, str)
            or len(stamps) != 4 * len(paths)
            or len(digests) != 64 * len(paths)
            or not _HEX.fullmatch(digests)
            or not all(type(v) is int for v in stamps)
            or not all(type(p) is str for p in paths)
        ):
            return cache
        cache = cls(scope, tag=tag, trusted_before=trusted_before)
        cache._index = dict(zip(paths, range(len(paths)), strict=True))
        cache._stamps = stamps
        cache._digests = [digests[i : i + 64] for i in range(0, len(digests), 64)]
        return cache

    def __len__(self) -> int:
        return len(self._index)

    def digest(self, path: str, stamp: Stamp) -> str | None:
        """The digest recorded for ``path`` if its file still has ``stamp`` (and the stamp
        is older than the cache), else None: the caller hashes the file."""
        i = self._index.get(path)
        if i is None:
            return None
        at = 4 * i
        stamps = self._stamps
        if (stamps[at], stamps[at + 1], stamps[at + 2], stamps[at + 3]) != stamp:
            return None
        if max(stamp[1], stamp[3]) >= self._trusted_before:
            return None  # racily clean: changed in the tick the cache was written
        return self._digests[i]

    def recorded(self, path: str) -> str | None:
        """The digest ``path`` had when the cache was saved, whatever its file is now."""
        i = self._index.get(path)
        return None if i is None else self._digests[i]

    def items(self) -> Iterator[tuple[str, str]]:
        """Every (path, digest) loaded."""
        digests = self._digests
        return ((path, digests[i]) for path, i in self._index.items())

    def record(self, path: str, stamp: Stamp, digest: str) -> None:
        """Remember ``digest`` for ``path`` at ``stamp`` in the cache :meth:`save` writes
        (a second record of the same path replaces the first)."""
        self._new[path] = (stamp, digest)

    def save(self, file: Path, *, tag: str = "") -> None:
        """Write what was recorded (atomically), tied to ``tag``.

        Raises:
            OSError: the cache folder cannot be written.
        """
        new = self._new
        payload = {
            "format": _FORMAT,
            "scope": self.scope,
            "tag": tag,
            "paths": list(new),
            "stamps": [value for stamp, _digest in new.values() for value in stamp],
            "digests": "".join(digest for _stamp, digest in new.values()),
        }
        write_atomic(file, json.dumps(payload, separators=(",", ":")).encode())
