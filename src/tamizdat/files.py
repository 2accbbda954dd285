"""File helpers shared by every stage: atomic writes and file digests.

Invariant: a reader of ``path`` sees the old bytes or the new ones, never a partial file —
the data goes to a unique temporary name in the same folder (same filesystem) and is then
renamed over ``path`` (``os.replace``, atomic on POSIX). A failure removes the temporary file.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

__all__ = ["sha256_file", "write_atomic"]


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
    with open(path, "rb") as handle:  # noqa: PTH123 - str and Path callers alike
        return hashlib.file_digest(handle, "sha256").hexdigest()
