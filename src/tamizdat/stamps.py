"""File stamps: is this still the file (or folder) we saw, without reading it?

Invariant: a cached fact about a path is reused only while the path's stamp — size,
modification time in nanoseconds, inode — is what it was when the fact was recorded. A
rewrite changes the mtime (and usually the size), a replacement (``os.replace``, a new
file under the old name) changes the inode. For a folder the stamp covers its *entries*:
adding, removing or renaming anything directly inside it changes its mtime, so a folder's
listing can be reused while its stamp holds.

Digest caches (the signer's, the publisher's, the static files') use
:class:`tamizdat.stat_cache.StatCache`, whose stamp adds the ctime: no tool can set it back.
The build's own output manifest uses this 3-field stamp instead, on purpose: the build
hard-links its outputs between ``public/`` and its staging twin, and every link moves a
file's ctime, so a ctime in the stamp would make every output look changed on every build.

Limits (the same for every mtime cache): a change made within the filesystem's timestamp
granularity of the recorded stamp (a few milliseconds on ext4) that keeps the size and
inode, or a clock set back, can go unnoticed. Callers use stamps for what they produced
themselves, or to skip re-hashing, never as the sole proof of authenticity.
"""

from __future__ import annotations

import os
from typing import NamedTuple

__all__ = ["Stamp", "read_stamp", "stamp_of"]


class Stamp(NamedTuple):
    """``(size, mtime_ns, ino)`` of a file or folder; compares equal field by field."""

    size: int
    mtime_ns: int
    ino: int


def stamp_of(st: os.stat_result) -> Stamp:
    """The stamp of an already taken ``stat`` result."""
    return Stamp(st.st_size, st.st_mtime_ns, st.st_ino)


def read_stamp(path: str | os.PathLike[str]) -> Stamp | None:
    """The stamp of ``path`` (symbolic links not followed), or ``None`` if it cannot be read."""
    try:
        return stamp_of(os.lstat(path))
    except OSError:
        return None
