"""Snapshots of an output tree, for "left exactly as it was" assertions."""

from __future__ import annotations

from pathlib import Path


def snapshot(public: Path) -> dict[str, tuple[bytes, int, int]]:
    """Every file's bytes, inode and mtime: 'exactly as it was' means all three."""
    out = {}
    for path in sorted(public.rglob("*")):
        if path.is_file():
            st = path.stat()
            out[path.relative_to(public).as_posix()] = (
                path.read_bytes(),
                st.st_ino,
                st.st_mtime_ns,
            )
    return out


def tree(public: Path) -> dict[str, bytes]:
    """Every file's bytes, by path relative to ``public``."""
    return {name: data for name, (data, _i, _m) in snapshot(public).items()}
