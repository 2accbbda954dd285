"""The canonical ZIP form of a bundle: the one byte layout the writer emits and the reader accepts.

A ZIP file names each entry up to three times (central directory, local header, extra fields
such as Info-ZIP's Unicode Path 0x7075) and can hold bytes no entry lists; different tools
believe different copies, so one file can unpack to different sites (APPNOTE 6.3.10, §4.3).
A bundle therefore uses a strict subset in which every structure is a function of a few
facts per entry — name, method, CRC-32, sizes, offset — so the reader can rebuild each
header from those facts and demand the bytes it finds be exactly those:

- every entry: version needed 2.0 (4.5 only when ZIP64 holds its offset), flags 0 except
  bit 11 (UTF-8) set exactly when the name has a non-ASCII byte (so ASCII names mean the
  same in CP437 and UTF-8 readers, as Python's ``zipfile`` has always written them),
  method 0 (stored) or 8 (deflated), DOS time 1980-01-01 00:00, no extra field and no
  comment; local header and central record carry the same name, CRC and sizes (no data
  descriptor); external attributes: a regular file, mode 0644, made by Unix;
- the file is covered exactly: the first local header at offset 0, each entry's data
  followed at once by the next local header, then the central directory in the same
  order (sorted by name), then (only when needed) the ZIP64 end record and locator, then
  the 22-byte end record with no comment, and nothing after it;
- ZIP64 only when a count or offset does not fit (more than 65,534 entries, or more than
  4 GiB before the central directory): a release of 100,000 files needs it. Entry sizes
  never need it (bundle entries are capped far below 4 GiB).

Nothing here does I/O: the writer and the reader build and compare bytes with these helpers.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import NamedTuple

__all__ = [
    "CENTRAL_MAGIC",
    "CENTRAL_SIZE",
    "END",
    "END64",
    "END64_LOCATOR",
    "LOCAL",
    "LOCAL_MAGIC",
    "BundleLimits",
    "CentralRecord",
    "End64Record",
    "EndRecord",
    "LocalHeader",
    "ZipEntry",
    "describe_extra",
    "describe_flags",
    "describe_mode",
    "expected_central",
    "expected_end",
    "expected_end64",
    "expected_local",
    "needs_zip64",
]

LOCAL_MAGIC = b"PK\x03\x04"
CENTRAL_MAGIC = b"PK\x01\x02"
END_MAGIC = b"PK\x05\x06"
END64_MAGIC = b"PK\x06\x06"
LOCATOR_MAGIC = b"PK\x06\x07"

LOCAL = struct.Struct("<4s5H3L2H")
CENTRAL = struct.Struct("<4s6H3L5H2L")
CENTRAL_SIZE = CENTRAL.size
END = struct.Struct("<4s4H2LH")
END64 = struct.Struct("<4sQ2H2L4Q")
END64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_OFFSET = struct.Struct("<2HQ")  # extra field 0x0001 holding only the offset

STORED, DEFLATED = 0, 8
METHODS = (STORED, DEFLATED)
_VERSION, _VERSION_ZIP64 = 20, 45
_UNIX = 3 << 8
UTF8_FLAG = 0x0800
DOS_TIME, DOS_DATE = 0, (0 << 9) | (1 << 5) | 1  # 1980-01-01 00:00:00
FILE_ATTRIBUTES = 0o100644 << 16  # S_IFREG | rw-r--r--, in the Unix half
MAX16, MAX32 = 0xFFFF, 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class BundleLimits:
    """Hard limits for a bundle, enforced by the reader before extraction and by the writer
    (so it never writes what a reader refuses)."""

    max_bundle_bytes: int = 8 << 30
    max_entries: int = 200_000
    max_entry_bytes: int = 512 << 20
    max_total_bytes: int = 16 << 30
    max_ratio: int = 200
    ratio_floor_bytes: int = 1 << 20
    max_name_length: int = 1024


@dataclass(frozen=True, slots=True)
class ZipEntry:
    """One entry of a canonical bundle: the facts every header of it is built from."""

    name: str
    method: int
    crc: int
    compressed_size: int
    size: int
    offset: int
    raw_name: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Encoded once: every header of the entry needs the bytes.
        object.__setattr__(self, "raw_name", self.name.encode("utf-8"))

    @property
    def data_offset(self) -> int:
        """Where the entry's (compressed) data starts: its local header has no extra field."""
        return self.offset + LOCAL.size + len(self.raw_name)

    @property
    def end(self) -> int:
        """The offset just past the entry's data, where the next local header must start."""
        return self.data_offset + self.compressed_size


class LocalHeader(NamedTuple):
    """The fixed 30 bytes of a local file header (APPNOTE 4.3.7), field by field."""

    signature: bytes
    version_needed: int
    flags: int
    method: int
    time: int
    date: int
    crc: int
    compressed_size: int
    size: int
    name_length: int
    extra_length: int


class CentralRecord(NamedTuple):
    """The fixed 46 bytes of a central directory record (APPNOTE 4.3.12)."""

    signature: bytes
    version_made_by: int
    version_needed: int
    flags: int
    method: int
    time: int
    date: int
    crc: int
    compressed_size: int
    size: int
    name_length: int
    extra_length: int
    comment_length: int
    disk: int
    internal_attributes: int
    external_attributes: int
    offset: int


class EndRecord(NamedTuple):
    """The end of central directory record (APPNOTE 4.3.16)."""

    signature: bytes
    disk: int
    directory_disk: int
    entries_on_disk: int
    entries: int
    directory_size: int
    directory_offset: int
    comment_length: int


class End64Record(NamedTuple):
    """The ZIP64 end of central directory record, without extensible data (APPNOTE 4.3.14)."""

    signature: bytes
    record_size: int
    version_made_by: int
    version_needed: int
    disk: int
    directory_disk: int
    entries_on_disk: int
    entries: int
    directory_size: int
    directory_offset: int


def _flags(raw_name: bytes) -> int:
    return UTF8_FLAG if not raw_name.isascii() else 0


def _version(offset: int) -> int:
    return _VERSION_ZIP64 if offset >= MAX32 else _VERSION


def expected_local(entry: ZipEntry) -> LocalHeader:
    """The only local header a canonical bundle may hold for ``entry``."""
    raw = entry.raw_name
    return LocalHeader(
        LOCAL_MAGIC, _version(entry.offset), _flags(raw), entry.method, DOS_TIME, DOS_DATE,
        entry.crc, entry.compressed_size, entry.size, len(raw), 0,
    )  # fmt: skip


def expected_central(entry: ZipEntry) -> tuple[CentralRecord, bytes]:
    """The only central record (and extra field) a canonical bundle may hold for ``entry``.

    The extra field is empty unless the offset does not fit in 32 bits; then it is exactly
    one ZIP64 field (0x0001) holding the offset, and the record's offset reads 0xFFFFFFFF.
    """
    raw = entry.raw_name
    zip64 = entry.offset >= MAX32
    extra = _ZIP64_OFFSET.pack(1, 8, entry.offset) if zip64 else b""
    version = _version(entry.offset)
    record = CentralRecord(
        CENTRAL_MAGIC, _UNIX | version, version, _flags(raw), entry.method, DOS_TIME,
        DOS_DATE, entry.crc, entry.compressed_size, entry.size, len(raw), len(extra), 0, 0, 0,
        FILE_ATTRIBUTES, MAX32 if zip64 else entry.offset,
    )  # fmt: skip
    return record, extra


def needs_zip64(entries: int, directory_size: int, directory_offset: int) -> bool:
    """Whether the end of the archive needs the ZIP64 records (a value hits its sentinel)."""
    return entries >= MAX16 or directory_size >= MAX32 or directory_offset >= MAX32


def expected_end(entries: int, directory_size: int, directory_offset: int) -> EndRecord:
    """The only end record: true values, or the sentinel where ZIP64 holds the value."""
    count = min(entries, MAX16)
    return EndRecord(
        END_MAGIC, 0, 0, count, count, min(directory_size, MAX32),
        min(directory_offset, MAX32), 0,
    )  # fmt: skip


def expected_end64(entries: int, directory_size: int, directory_offset: int) -> End64Record:
    """The only ZIP64 end record (its locator follows it and points at it)."""
    return End64Record(
        END64_MAGIC, END64.size - 12, _UNIX | _VERSION_ZIP64, _VERSION_ZIP64, 0, 0, entries,
        entries, directory_size, directory_offset,
    )  # fmt: skip


_FLAG_NAMES = {
    0x0001: "encrypted",
    0x0008: "data descriptor",
    0x0020: "patched data",
    0x0040: "strong encryption",
    0x0800: "UTF-8 name",
    0x2000: "masked local header",
}


def describe_flags(flags: int) -> str:
    """``0x0809 (encrypted, data descriptor, UTF-8 name)`` — for messages."""
    names = [text for bit, text in _FLAG_NAMES.items() if flags & bit]
    other = flags & ~sum(_FLAG_NAMES)
    if other:
        names.append(f"bits {other:#06x}")
    return f"{flags:#06x}" + (f" ({', '.join(names)})" if names else "")


_EXTRA_NAMES = {
    0x0001: "ZIP64",
    0x000A: "NTFS times",
    0x000D: "Unix",
    0x5455: "extended timestamp",
    0x6375: "Info-ZIP Unicode Comment",
    0x7075: "Info-ZIP Unicode Path",
    0x7875: "Unix UID/GID",
    0x9901: "AES encryption",
}


def describe_extra(extra: bytes) -> str:
    """``0x7075 (Info-ZIP Unicode Path, 36 bytes)`` for each field of an extra block."""
    fields, pos = [], 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<2H", extra, pos)
        fields.append(f"{tag:#06x} ({_EXTRA_NAMES.get(tag, 'unknown')}, {size} bytes)")
        pos += 4 + size
    if pos != len(extra):
        fields.append(f"{len(extra) - max(pos - 4, 0)} malformed bytes")
    return "extra field " + ", ".join(fields)


_TYPES = {
    0o010000: "FIFO",
    0o020000: "character device",
    0o040000: "directory",
    0o060000: "block device",
    0o100000: "regular file",
    0o120000: "symbolic link",
    0o140000: "socket",
}


def describe_mode(attributes: int) -> str:
    """``symbolic link, mode 0777`` from external attributes — for messages."""
    mode = attributes >> 16
    kind = _TYPES.get(mode & 0o170000, "no Unix file type")
    return f"{kind}, mode {mode & 0o7777:04o} (attributes {attributes:#010x})"
