"""Writing ZIP structures byte by byte, with chosen discrepancies, for hostile-bundle tests.

Written from APPNOTE, not from the code under test: by default :meth:`CraftZip.build` gives
the canonical form a bundle uses (so a test can show the reader accepts it), and every field
of every header can be overridden, an entry left out of the central directory or the local
headers, bytes put before, between or after, and the end records repeated.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

LOCAL = struct.Struct("<4s5H3L2H")
CENTRAL = struct.Struct("<4s6H3L5H2L")
END = struct.Struct("<4s4H2LH")
DATE_1980 = 0x21
REGULAR_0644 = 0o100644 << 16
LOCAL_FIELDS = [
    "signature",
    "version",
    "flags",
    "method",
    "time",
    "date",
    "crc",
    "compressed_size",
    "size",
    "name_length",
    "extra_length",
]
CENTRAL_FIELDS = [
    "signature",
    "made_by",
    "version",
    "flags",
    "method",
    "time",
    "date",
    "crc",
    "compressed_size",
    "size",
    "name_length",
    "extra_length",
    "comment_length",
    "disk",
    "internal",
    "external",
    "offset",
]


def deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


def extra_field(tag: int, payload: bytes) -> bytes:
    """One extra field: tag, length, payload (APPNOTE 4.5.1)."""
    return struct.pack("<2H", tag, len(payload)) + payload


def unicode_path_field(real_name: bytes, shown: str) -> bytes:
    """Info-ZIP Unicode Path (0x7075): ``shown`` for readers that honour it (4.6.9)."""
    payload = b"\x01" + struct.pack("<L", zlib.crc32(real_name)) + shown.encode()
    return extra_field(0x7075, payload)


@dataclass
class CraftEntry:
    """One entry; ``local`` and ``central`` override header fields by name."""

    name: str | bytes
    data: bytes
    method: int = 8
    packed: bytes | None = None  # the bytes stored, if not ``data`` compressed by ``method``
    local_name: bytes | None = None
    local_extra: bytes = b""
    central_extra: bytes = b""
    local: dict[str, int] = field(default_factory=dict)
    central: dict[str, int] = field(default_factory=dict)
    after_data: bytes = b""  # e.g. a data descriptor
    in_local: bool = True
    in_central: bool = True

    @property
    def raw_name(self) -> bytes:
        return self.name.encode() if isinstance(self.name, str) else self.name

    def stored_bytes(self) -> bytes:
        if self.packed is not None:
            return self.packed
        return deflate(self.data) if self.method == 8 else self.data


@dataclass
class CraftZip:
    """A whole archive. Offsets count from the first byte of the file, prefix included
    (as a self-extractor adjusted with ``zip -A`` has them) unless ``prefix_in_offsets``
    is False (a stub merely prepended)."""

    entries: list[CraftEntry]
    prefix: bytes = b""
    prefix_in_offsets: bool = True
    between: dict[int, bytes] = field(default_factory=dict)  # after entry i's data
    comment: bytes = b""
    suffix: bytes = b""
    end: dict[str, int] = field(default_factory=dict)

    def build(self) -> bytes:
        out = bytearray(self.prefix)
        base = 0 if self.prefix_in_offsets else len(self.prefix)
        directory = bytearray()
        for index, entry in enumerate(self.entries):
            offset = len(out) - base
            name, packed = entry.raw_name, entry.stored_bytes()
            flags = 0 if name.isascii() else 0x800
            sizes = (zlib.crc32(entry.data), len(packed), len(entry.data))
            local_name = entry.local_name if entry.local_name is not None else name
            local = dict(zip(LOCAL_FIELDS, [b"PK\x03\x04", 20, flags, entry.method, 0,
                         DATE_1980, *sizes, len(local_name), len(entry.local_extra)],
                         strict=True))  # fmt: skip
            local.update(entry.local)
            central = dict(zip(CENTRAL_FIELDS, [b"PK\x01\x02", 0x314, 20, flags, entry.method,
                           0, DATE_1980, *sizes, len(name), len(entry.central_extra), 0, 0, 0,
                           REGULAR_0644, offset], strict=True))  # fmt: skip
            central.update(entry.central)
            if entry.in_local:
                out += LOCAL.pack(*local.values()) + local_name + entry.local_extra
                out += packed + entry.after_data
            out += self.between.get(index, b"")
            if entry.in_central:
                directory += CENTRAL.pack(*central.values()) + name + entry.central_extra
        start = len(out) - base
        out += directory
        count = sum(e.in_central for e in self.entries)
        end = dict(zip(["signature", "disk", "directory_disk", "entries_on_disk", "entries",
                        "directory_size", "directory_offset", "comment_length"],
                       [b"PK\x05\x06", 0, 0, count, count, len(directory), start,
                        len(self.comment)], strict=True))  # fmt: skip
        end.update(self.end)
        out += END.pack(*end.values()) + self.comment + self.suffix
        return bytes(out)

    def write(self, path: Path) -> Path:
        path.write_bytes(self.build())
        return path
