"""Writing a ZIP file in the canonical form of :mod:`tamizdat.channels.zipform`.

Invariant: :class:`CanonicalZipWriter` writes only what :func:`tamizdat.channels.zipread.
validate_entries` accepts — the headers are built by the same functions the reader compares
against, names pass the same rules, and the limits are the reader's. The output is a pure
function of the (sorted) names, bytes and methods: the same release gives the same bytes.
A name or size the reader would refuse is a :class:`~tamizdat.errors.BundleError` here,
before the archive is finished, so a publisher learns it when writing, not a reader when
importing.
"""

from __future__ import annotations

import zlib
from typing import BinaryIO

from tamizdat.channels.zipform import (
    CENTRAL,
    END,
    END64,
    END64_LOCATOR,
    LOCAL,
    BundleLimits,
    ZipEntry,
    expected_central,
    expected_end,
    expected_end64,
    expected_local,
    needs_zip64,
)
from tamizdat.channels.zipnames import NameSet, name_problem
from tamizdat.errors import BundleError

__all__ = ["CanonicalZipWriter"]

_STORED, _DEFLATED = 0, 8
_LOCATOR_MAGIC = b"PK\x06\x07"


class CanonicalZipWriter:
    """Appends entries in sorted order to ``handle`` (positioned at 0), then the directory."""

    def __init__(self, handle: BinaryIO, where: str, limits: BundleLimits | None = None) -> None:
        self._handle = handle
        self._where = where
        self._limits = limits or BundleLimits()
        self._entries: list[ZipEntry] = []
        self._names = NameSet()
        self._offset = 0
        self._total = 0

    def _refuse(self, name: str, why: str) -> BundleError:
        return BundleError(
            f"cannot write this bundle: {why}",
            where=f"{self._where}: {name}",
            hint="rename the file in the site, or leave it out of the release",
        )

    def add(self, name: str, data: bytes, *, deflate: bool) -> None:
        """Append ``name`` with ``data``, deflated (level 9) unless ``deflate`` is False or
        deflating would exceed the reader's ratio limit (then stored).

        Raises:
            BundleError: the name breaks the bundle name rules or sorts before the previous
                one, or a size or count limit of :class:`BundleLimits` would be exceeded.
        """
        limits = self._limits
        problem = name_problem(name, limits.max_name_length)
        if problem is None and self._entries and name <= self._entries[-1].name:
            problem = f"names must be added in sorted order (after {self._entries[-1].name!r})"
        problem = problem or self._names.add(name)
        if problem is None and len(data) > limits.max_entry_bytes:
            problem = f"{len(data)} bytes, a reader accepts at most {limits.max_entry_bytes}"
        if problem is None and len(self._entries) >= limits.max_entries:
            problem = f"more than {limits.max_entries} entries"
        self._total += len(data)
        if problem is None and self._total > limits.max_total_bytes:
            problem = f"more than {limits.max_total_bytes} bytes in all"
        if problem is not None:
            raise self._refuse(name, problem)
        packed, method = data, _STORED
        if deflate:
            # Level 9: a bundle is written once and carried many times.
            compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
            deflated = compressor.compress(data) + compressor.flush()
            ratio_ok = len(data) <= limits.ratio_floor_bytes or len(data) <= limits.max_ratio * len(
                deflated
            )
            if ratio_ok:
                packed, method = deflated, _DEFLATED
        entry = ZipEntry(name, method, zlib.crc32(data), len(packed), len(data), self._offset)
        self._handle.write(LOCAL.pack(*expected_local(entry)) + entry.raw_name)
        self._handle.write(packed)
        self._offset = entry.end
        self._entries.append(entry)

    def finish(self) -> None:
        """Write the central directory and the end records. Nothing may be added after."""
        start = self._offset
        for entry in self._entries:
            record, extra = expected_central(entry)
            self._handle.write(CENTRAL.pack(*record) + entry.raw_name + extra)
            self._offset += CENTRAL.size + len(entry.raw_name) + len(extra)
        count, size = len(self._entries), self._offset - start
        if needs_zip64(count, size, start):
            self._handle.write(END64.pack(*expected_end64(count, size, start)))
            self._handle.write(END64_LOCATOR.pack(_LOCATOR_MAGIC, 0, self._offset, 1))
        self._handle.write(END.pack(*expected_end(count, size, start)))
