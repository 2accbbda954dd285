"""Reading a ZIP file from a stranger: validate the whole directory first, then read entries.

Invariant: :func:`validate_entries` returns only for a central directory whose every entry
is a plain file with a safe relative name, inside the size, count and ratio limits, lying
inside the file without overlapping another; :func:`read_entry` returns only bytes whose
length and CRC-32 are the ones the directory declares (a corrupt or truncated entry, a local
header that disagrees with the directory, or a deflate stream longer than declared is a
:class:`~tamizdat.errors.BundleError`). Decompression never produces more than the declared
size plus one byte, so no entry can exhaust memory. Nothing here writes anywhere.

Entries are read with ``zlib`` directly rather than ``zipfile.ZipFile.open``: the directory
is already validated, and the per-entry overhead of ``ZipExtFile`` was a large part of
verifying a 10,000-file bundle.
"""

from __future__ import annotations

import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tamizdat.errors import BundleError
from tamizdat.layout import METADATA_DIR, TARGETS_DIR, WELL_KNOWN
from tamizdat.reader.listing import natural_path_of

__all__ = ["BundleLimits", "read_entry", "refuse", "validate_entries"]

_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # the fixed 30 bytes of a local file header
_LOCAL_MAGIC = b"PK\x03\x04"
_UTF8_FLAG = 0x800
_METADATA_NAME = re.compile(r"^(?:[1-9][0-9]{0,9}\.[A-Za-z0-9][A-Za-z0-9._-]*|timestamp)\.json$")
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True, slots=True)
class BundleLimits:
    """Hard limits for reading a bundle from a stranger (all enforced before extraction)."""

    max_bundle_bytes: int = 8 << 30
    max_entries: int = 200_000
    max_entry_bytes: int = 512 << 20
    max_total_bytes: int = 16 << 30
    max_ratio: int = 200
    ratio_floor_bytes: int = 1 << 20
    max_name_length: int = 1024
    max_metadata_bytes: int = 64 << 20


def refuse(bundle: Path, entry: str, why: str) -> BundleError:
    """The error for a hostile or malformed bundle, naming the bundle and the entry."""
    return BundleError(
        f"refused hostile or malformed bundle: {why}",
        where=f"{bundle}: {entry}",
        hint="get the bundle again from someone you trust, or sync from a mirror",
    )


def _check_name(bundle: Path, name: str, limits: BundleLimits) -> None:
    """A relative POSIX name without traversal; strict shapes inside ``.well-known``."""
    if len(name) > limits.max_name_length:
        raise refuse(bundle, name[:80] + "…", f"name longer than {limits.max_name_length}")
    if "\\" in name or "\x00" in name or _DRIVE.match(name):
        raise refuse(bundle, name, "backslash, NUL or drive letter in the name")
    if name.startswith("/"):
        raise refuse(bundle, name, "absolute path")
    parts = name.split("/")
    if ".." in parts:
        raise refuse(bundle, name, "path traversal ('..')")
    if any(part in ("", ".") for part in parts):
        raise refuse(bundle, name, "empty or '.' path component (or a directory entry)")
    if name.startswith(METADATA_DIR + "/"):
        if not _METADATA_NAME.match(name[len(METADATA_DIR) + 1 :]):
            raise refuse(bundle, name, "not a metadata file name (N.role.json)")
    elif name.startswith(TARGETS_DIR + "/") and natural_path_of(name) is None:
        raise refuse(bundle, name, f"not a by-hash object name under {TARGETS_DIR}/")
    elif name == WELL_KNOWN:
        raise refuse(bundle, name, f"{WELL_KNOWN} must be a folder")


def _check_entry(bundle: Path, entry: zipfile.ZipInfo, limits: BundleLimits) -> None:
    mode = entry.external_attr >> 16
    # Type bits 0 mean "a file" to most ZIP writers; any other type (link, device, fifo,
    # directory) could escape or hang an extractor.
    if entry.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        raise refuse(bundle, entry.filename, f"not a regular file (mode {oct(mode)})")
    if entry.flag_bits & 0x1:
        raise refuse(bundle, entry.filename, "encrypted entry")
    if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise refuse(bundle, entry.filename, f"compression method {entry.compress_type}")
    if entry.file_size > limits.max_entry_bytes:
        raise refuse(bundle, entry.filename, f"{entry.file_size} bytes unpacked")
    if entry.file_size > limits.ratio_floor_bytes and entry.file_size > limits.max_ratio * max(
        entry.compress_size, 1
    ):
        raise refuse(
            bundle,
            entry.filename,
            f"decompression bomb (ratio {entry.file_size // max(entry.compress_size, 1)}:1)",
        )
    if entry.compress_type == zipfile.ZIP_STORED and entry.compress_size != entry.file_size:
        raise refuse(bundle, entry.filename, "stored entry whose sizes differ")


def _check_layout_of_bytes(bundle: Path, infos: list[zipfile.ZipInfo], size: int) -> None:
    """Entries must lie inside the file and must not overlap (overlap is a bomb technique)."""
    end_previous, previous = 0, ""
    for entry in sorted(infos, key=lambda e: e.header_offset):
        if entry.header_offset < end_previous:
            raise refuse(bundle, entry.filename, f"overlaps entry {previous!r}")
        end = (
            entry.header_offset
            + _LOCAL_HEADER.size
            + len(entry.orig_filename.encode())
            + entry.compress_size
        )
        if end > size:
            raise refuse(bundle, entry.filename, "truncated: data ends past the end of the file")
        end_previous, previous = end, entry.filename


def validate_entries(path: Path, limits: BundleLimits) -> dict[str, zipfile.ZipInfo]:
    """Every entry of the ZIP file at ``path`` by name, once all passed the checks.

    Raises:
        BundleError: missing, truncated or not a ZIP; too big; or an entry is hostile
            (the first one found, named in ``where``).
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BundleError(f"cannot read the bundle ({exc.strerror})", where=str(path)) from None
    if size > limits.max_bundle_bytes:
        raise refuse(path, "(whole file)", f"{size} bytes, limit {limits.max_bundle_bytes}")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise refuse(path, "(whole file)", f"truncated or not a ZIP bundle ({exc})") from None
    if len(infos) > limits.max_entries:
        raise refuse(path, "(whole file)", f"{len(infos)} entries, limit {limits.max_entries}")
    entries: dict[str, zipfile.ZipInfo] = {}
    folded: set[str] = set()
    total = 0
    for entry in infos:
        _check_name(path, entry.filename, limits)
        # Case-insensitive file systems (phones, Windows, macOS) would merge these on unzip.
        if entry.filename in entries or entry.filename.casefold() in folded:
            raise refuse(path, entry.filename, "duplicate entry")
        _check_entry(path, entry, limits)
        total += entry.file_size
        if total > limits.max_total_bytes:
            raise refuse(path, entry.filename, f"more than {limits.max_total_bytes} bytes unpacked")
        entries[entry.filename] = entry
        folded.add(entry.filename.casefold())
    _check_layout_of_bytes(path, infos, size)
    return entries


def _same_name(raw: bytes, entry: zipfile.ZipInfo) -> bool:
    """Whether the local header's name is the directory's (ASCII/UTF-8 fast path first)."""
    if raw == entry.orig_filename.encode("utf-8", errors="replace"):
        return True
    encoding = "utf-8" if entry.flag_bits & _UTF8_FLAG else "cp437"
    return raw.decode(encoding, errors="replace") == entry.orig_filename


def read_entry(bundle: Path, handle: BinaryIO, entry: zipfile.ZipInfo) -> bytes:
    """The bytes of ``entry`` (validated by :func:`validate_entries`), checked against the
    directory: local header, exact size and CRC-32.

    Raises:
        BundleError: the entry is corrupt or truncated, or its header disagrees.
    """
    try:
        handle.seek(entry.header_offset)
        header = handle.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size:
            raise refuse(bundle, entry.filename, "corrupt entry (truncated local header)")
        fields = _LOCAL_HEADER.unpack(header)
        magic, name_length, extra_length = fields[0], fields[-2], fields[-1]
        name = handle.read(name_length)
        if magic != _LOCAL_MAGIC or not _same_name(name, entry):
            raise refuse(bundle, entry.filename, "corrupt entry (local header disagrees)")
        handle.seek(extra_length, 1)
        raw = handle.read(entry.compress_size)
    except OSError as exc:
        raise refuse(bundle, entry.filename, f"corrupt entry ({exc.strerror})") from None
    if len(raw) != entry.compress_size:
        raise refuse(bundle, entry.filename, "corrupt entry (truncated data)")
    data = raw
    if entry.compress_type == zipfile.ZIP_DEFLATED:
        try:
            inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            data = inflater.decompress(raw, entry.file_size + 1)
        except zlib.error as exc:
            raise refuse(bundle, entry.filename, f"corrupt entry ({exc})") from None
    if len(data) != entry.file_size or zlib.crc32(data) != entry.CRC:
        raise refuse(
            bundle,
            entry.filename,
            f"corrupt entry (expected {entry.file_size} bytes with CRC {entry.CRC:08x}, found "
            f"{len(data)} bytes with CRC {zlib.crc32(data):08x})",
        )
    return data
