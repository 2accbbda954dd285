"""Plant what must never be read through a tree: links, FIFOs, sockets, devices.

Each kind is a named failure mode; ``plant`` makes it at a path and skips the test only when
the system forbids making it (a device file without the right to ``mknod``).
"""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

SECRET = b"-----BEGIN PRIVATE KEY----- planted-secret-9f8e7d6c5b4a -----END-----\n"

# Refused whatever the configuration says.
ALWAYS_REFUSED = (
    "link-to-outside-file",
    "link-to-outside-dir",
    "dangling-link",
    "link-chain-leading-out",
    "link-loop",
    "fifo",
    "socket",
    "char-device",
)
# Refused by default, accepted with ``[build] follow_links_inside_site = true``.
INSIDE_LINKS = ("link-to-inside-file", "link-to-inside-dir")
ALL_KINDS = ALWAYS_REFUSED + INSIDE_LINKS
# Kinds whose bytes, if read, would block or never end: run the command under a deadline.
BLOCKING = ("fifo", "char-device")


def outside_secret(base: Path) -> Path:
    """A folder outside every tree holding a fake signing key; returns the key file."""
    folder = base / "outside-secrets"
    folder.mkdir(parents=True, exist_ok=True)
    key = folder / "root.key"
    key.write_bytes(SECRET)
    return key


def plant(path: Path, kind: str, *, secret: Path, inside: Path | None = None) -> None:
    """Make ``kind`` at ``path`` (parents created). ``inside`` is a regular file in the same
    tree, the target of the ``link-to-inside-*`` kinds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "link-to-outside-file":
        path.symlink_to(secret)
    elif kind == "link-to-outside-dir":
        path.symlink_to(secret.parent, target_is_directory=True)
    elif kind == "dangling-link":
        path.symlink_to(path.parent / "no-such-file")
    elif kind == "link-chain-leading-out":
        hop = path.parent / f".hop-{path.name}"  # hidden: a walk skips the hop itself
        hop.symlink_to(secret)
        path.symlink_to(hop.name)
    elif kind == "link-loop":
        other = path.parent / f".loop-{path.name}"
        other.symlink_to(path.name)
        path.symlink_to(other.name)
    elif kind == "link-to-inside-file":
        assert inside is not None
        assert inside.is_file()
        path.symlink_to(os.path.relpath(inside, path.parent))
    elif kind == "link-to-inside-dir":
        assert inside is not None
        assert inside.is_file()
        path.symlink_to(os.path.relpath(inside.parent, path.parent), target_is_directory=True)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        _make_socket(path)
    elif kind == "char-device":
        try:
            os.mknod(path, stat.S_IFCHR | 0o600, os.makedev(1, 5))  # what /dev/zero is
        except PermissionError:
            pytest.skip("making a device file is not permitted here")
    else:  # pragma: no cover - a typo in a parametrisation
        raise AssertionError(kind)


def _make_socket(path: Path) -> None:
    """Bind a UNIX socket at ``path`` (from its folder: socket paths are short)."""
    here = Path.cwd()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.chdir(path.parent)
        sock.bind(path.name)
    finally:
        os.chdir(here)
        sock.close()  # the socket file stays


def files_holding(folder: Path, needle: bytes) -> list[str]:
    """Regular files under ``folder`` whose bytes contain ``needle`` (never follows links)."""
    found = []
    for dirpath, _dirs, names in os.walk(folder):
        for name in names:
            full = Path(dirpath, name)
            if full.is_symlink() or not full.is_file():
                continue
            if needle in full.read_bytes():
                found.append(str(full.relative_to(folder)))
    return found
