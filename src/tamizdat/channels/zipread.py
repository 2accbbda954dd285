"""Reading a ZIP file from a stranger: accept only the canonical form, then read entries.

Invariant: :func:`validate_entries` returns only for a file that is, byte for byte, what
:class:`~tamizdat.channels.zipwrite.CanonicalZipWriter` would write for its entries (see
:mod:`tamizdat.channels.zipform`): every local header and central record equal to the one
rebuilt from the entry's name, method, CRC, sizes and offset; entries tiling the file from
offset 0 to the central directory with no gap, overlap, prefix or hidden local header; the
end records in their one place with nothing after them; names safe and distinct on every
file system (:mod:`tamizdat.channels.zipnames`); each entry's data inflating to exactly its
declared size and CRC, its deflate stream ending exactly where its data ends; all within
:class:`~tamizdat.channels.zipform.BundleLimits`. So the central directory, a streaming
reader walking local headers, and any extractor in between see the same names and bytes.
:func:`read_entry` checks the local header, size, CRC and stream end again on every read
(the file may have changed since). Decompression never produces more than the declared size
plus one chunk, so no entry can exhaust memory. Nothing here writes anywhere.

Every refusal is a :class:`~tamizdat.errors.BundleError` naming the bundle, the entry (or
the offset) and what was expected against what was found.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, NamedTuple

from tamizdat.channels.zipform import (
    CENTRAL,
    END,
    END64,
    END64_LOCATOR,
    LOCAL,
    LOCAL_MAGIC,
    METHODS,
    STORED,
    BundleLimits,
    CentralRecord,
    End64Record,
    EndRecord,
    LocalHeader,
    ZipEntry,
    describe_extra,
    describe_flags,
    describe_mode,
    expected_central,
    expected_end,
    expected_end64,
    expected_local,
    needs_zip64,
)
from tamizdat.channels.zipnames import NameSet, name_problem
from tamizdat.errors import BundleError

__all__ = ["BundleLimits", "ZipEntry", "read_entry", "refuse", "validate_entries"]

_CHUNK = 1 << 20
_WHOLE = "(whole file)"
_TAIL = 1 << 16  # how far back to look for a misplaced end record, for a precise message


def refuse(bundle: Path, entry: str, why: str) -> BundleError:
    """The error for a hostile or malformed bundle, naming the bundle and the entry."""
    return BundleError(
        f"refused hostile or malformed bundle: {why}",
        where=f"{bundle}: {entry}",
        hint="get the bundle again from someone you trust, or sync from a mirror",
    )


_HEX = frozenset({"crc", "time", "date", "version_made_by", "internal_attributes"})


def _show(field: str, value: object) -> str:
    if field == "flags" and isinstance(value, int):
        return describe_flags(value)
    if field == "external_attributes" and isinstance(value, int):
        return describe_mode(value)
    if field in _HEX and isinstance(value, int):
        return f"{value:#x}"
    return repr(value) if isinstance(value, bytes) else str(value)


def _compare(what: str, expected: NamedTuple, found: NamedTuple) -> str | None:
    """``what: expected <field> X, found Y`` for the first differing field, or None."""
    if expected == found:
        return None
    for field, want, got in zip(expected._fields, expected, found, strict=True):
        if want != got:
            label = field.replace("_", " ")
            return f"{what}: expected {label} {_show(field, want)}, found {_show(field, got)}"
    return None


def _read_at(handle: BinaryIO, offset: int, length: int) -> bytes:
    handle.seek(offset)
    return handle.read(length)


class _Tail(NamedTuple):
    entries: int
    directory_offset: int
    directory_size: int


def _find_end(bundle: Path, handle: BinaryIO, size: int) -> _Tail:
    """The directory's place from the end records, which must end the file exactly."""
    if size < END.size:
        raise refuse(bundle, _WHOLE, f"truncated or not a ZIP bundle ({size} bytes)")
    end = EndRecord(*END.unpack(_read_at(handle, size - END.size, END.size)))
    if end.signature != b"PK\x05\x06":
        tail = _read_at(handle, max(0, size - _TAIL), _TAIL)
        at = tail.rfind(b"PK\x05\x06")
        found = "none" if at < 0 else f"{len(tail) - at - END.size} bytes after it"
        raise refuse(
            bundle,
            _WHOLE,
            "truncated or not a ZIP bundle in canonical form: expected the end-of-central-directory "
            f"record in the last {END.size} bytes (no comment, nothing after it), found {found}",
        )
    values = _Tail(end.entries, end.directory_offset, end.directory_size)
    end_at = size - END.size
    if end.entries == 0xFFFF or 0xFFFFFFFF in (end.directory_size, end.directory_offset):
        end_at = size - END.size - END64_LOCATOR.size - END64.size
        values = _read_end64(bundle, handle, end_at)
    if not needs_zip64(*values) and end_at != size - END.size:
        raise refuse(bundle, f"offset {end_at}", "ZIP64 end record where none is needed")
    problem = _compare(
        f"end record at offset {size - END.size}", expected_end(*_order(values)), end
    )
    if problem:
        raise refuse(bundle, _WHOLE, problem)
    if values.directory_offset + values.directory_size != end_at:
        raise refuse(
            bundle,
            _WHOLE,
            f"expected the central directory to end at offset {end_at}, where the end "
            f"record starts; found it ends at {values.directory_offset + values.directory_size}",
        )
    return values


def _order(tail: _Tail) -> tuple[int, int, int]:
    """(entries, size, offset): the argument order of the zipform builders."""
    return tail.entries, tail.directory_size, tail.directory_offset


def _read_end64(bundle: Path, handle: BinaryIO, at: int) -> _Tail:
    if at < 0:
        raise refuse(bundle, _WHOLE, "truncated: no room for the ZIP64 end records")
    raw = _read_at(handle, at, END64.size + END64_LOCATOR.size)
    record = End64Record(*END64.unpack(raw[: END64.size]))
    magic, disk, where, disks = END64_LOCATOR.unpack(raw[END64.size :])
    if (magic, disk, where, disks) != (b"PK\x06\x07", 0, at, 1):
        raise refuse(
            bundle,
            f"offset {at + END64.size}",
            f"expected a ZIP64 locator pointing at offset {at} on disk 0 of 1, found "
            f"{magic!r} pointing at {where} (disk {disk} of {disks})",
        )
    values = _Tail(record.entries, record.directory_offset, record.directory_size)
    problem = _compare(f"ZIP64 end record at offset {at}", expected_end64(*_order(values)), record)
    if problem:
        raise refuse(bundle, f"offset {at}", problem)
    return values


def _central_records(bundle: Path, directory: bytes, tail: _Tail) -> Iterator[ZipEntry]:
    """Each record of the central directory, checked against its canonical form."""
    pos, start = 0, tail.directory_offset
    for index in range(tail.entries):
        where = f"central record {index} at offset {start + pos}"
        if pos + CENTRAL.size > len(directory):
            raise refuse(bundle, _WHOLE, f"{where}: the directory ends inside it")
        found = CentralRecord(*CENTRAL.unpack_from(directory, pos))
        raw = directory[pos + CENTRAL.size : pos + CENTRAL.size + found.name_length]
        extra_at = pos + CENTRAL.size + found.name_length
        extra = directory[extra_at : extra_at + found.extra_length]
        pos = extra_at + found.extra_length + found.comment_length
        name = _decode(bundle, raw, where)
        offset = found.offset
        if len(extra) == 12 and extra[:4] == b"\x01\x00\x08\x00" and offset == 0xFFFFFFFF:
            offset = int.from_bytes(extra[4:], "little")  # ZIP64: checked just below
        if found.method not in METHODS:
            raise refuse(
                bundle, name, f"{where}: compression method {found.method}, expected 0 or 8"
            )
        entry = ZipEntry(name, found.method, found.crc, found.compressed_size, found.size, offset)
        record, want_extra = expected_central(entry)
        problem = _compare(where, record, found)
        if extra != want_extra:
            wanted = "only a ZIP64 offset" if want_extra else "no extra field"
            problem = f"{where}: expected {wanted}, found {describe_extra(extra)}"
        if problem:
            raise refuse(bundle, name, problem)
        yield entry
    if pos != len(directory):
        raise refuse(
            bundle,
            _WHOLE,
            f"expected the central directory to hold {tail.entries} records in "
            f"{tail.directory_size} bytes, found them ending at byte {pos}",
        )


def _decode(bundle: Path, raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise refuse(bundle, repr(raw)[2:-1], f"{where}: name is not valid UTF-8") from None


def _check_sizes(bundle: Path, entry: ZipEntry, limits: BundleLimits) -> None:
    if entry.method == STORED and entry.compressed_size != entry.size:
        raise refuse(
            bundle,
            entry.name,
            f"stored entry: expected equal sizes, found {entry.compressed_size} packed, "
            f"{entry.size} unpacked",
        )
    if entry.size > limits.max_entry_bytes:
        raise refuse(
            bundle, entry.name, f"{entry.size} bytes unpacked, limit {limits.max_entry_bytes}"
        )
    packed = max(entry.compressed_size, 1)
    if entry.size > limits.ratio_floor_bytes and entry.size > limits.max_ratio * packed:
        raise refuse(bundle, entry.name, f"decompression bomb (ratio {entry.size // packed}:1)")


def _check_tiling(
    bundle: Path, handle: BinaryIO, entries: list[ZipEntry], directory_offset: int
) -> None:
    """Entries in name order, each local header where the previous entry's data ended (from
    offset 0 to the directory: no prefix, gap, overlap or hidden local header) and equal to
    its canonical form; then each entry's data exactly as declared."""
    expected = 0
    for previous, entry in zip([None, *entries], entries, strict=False):
        if previous is not None and entry.name <= previous.name:
            raise refuse(
                bundle, entry.name, f"entries out of order: expected after {previous.name!r}"
            )
        if entry.offset != expected:
            before = f"right after entry {previous.name!r}" if previous else "the first byte"
            raise refuse(
                bundle,
                entry.name,
                f"expected its local header at offset {expected}, {before}; "
                f"found it at {entry.offset} ({_gap_kind(handle, expected, entry.offset)})",
            )
        _check_local_header(bundle, handle, entry)
        expected = entry.end
    if expected != directory_offset:
        raise refuse(
            bundle,
            f"offset {expected}",
            f"expected the central directory right after the last entry, at offset "
            f"{expected}; found it at {directory_offset} "
            f"({_gap_kind(handle, expected, directory_offset)})",
        )


def _gap_kind(handle: BinaryIO, expected: int, found: int) -> str:
    if found < expected:
        return f"overlapping the previous entry by {expected - found} bytes"
    hidden = _read_at(handle, expected, len(LOCAL_MAGIC)) == LOCAL_MAGIC
    what = "a local header the directory does not list" if hidden else "a prefix or a gap"
    return f"{found - expected} bytes no entry lists, starting with {what}"


def validate_entries(path: Path, limits: BundleLimits) -> dict[str, ZipEntry]:
    """Every entry of the canonical ZIP file at ``path`` by name (module docstring).

    Raises:
        BundleError: missing, truncated, not a ZIP or not canonical; too big; or an entry
            is hostile (the first one found, named in ``where``).
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            if size > limits.max_bundle_bytes:
                why = f"{size} bytes, limit {limits.max_bundle_bytes}"
                raise refuse(path, _WHOLE, why)
            return _validate(path, handle, size, limits)
    except OSError as exc:
        raise BundleError(f"cannot read the bundle ({exc.strerror})", where=str(path)) from None


def _validate(path: Path, handle: BinaryIO, size: int, limits: BundleLimits) -> dict[str, ZipEntry]:
    tail = _find_end(path, handle, size)
    if tail.entries > limits.max_entries:
        raise refuse(path, _WHOLE, f"{tail.entries} entries, limit {limits.max_entries}")
    most = tail.entries * (CENTRAL.size + limits.max_name_length + 12)
    if tail.directory_size > most:
        raise refuse(path, _WHOLE, f"central directory of {tail.directory_size} bytes")
    directory = _read_at(handle, tail.directory_offset, tail.directory_size)
    if len(directory) != tail.directory_size:
        raise refuse(path, _WHOLE, "truncated: the central directory ends past the file")
    names, total = NameSet(), 0
    entries: list[ZipEntry] = []
    for entry in _central_records(path, directory, tail):
        problem = name_problem(entry.name, limits.max_name_length) or names.add(entry.name)
        if problem:
            raise refuse(path, entry.name, problem)
        _check_sizes(path, entry, limits)
        total += entry.size
        if total > limits.max_total_bytes:
            raise refuse(path, entry.name, f"more than {limits.max_total_bytes} bytes unpacked")
        entries.append(entry)
    _check_tiling(path, handle, entries, tail.directory_offset)
    for entry in entries:
        _check_data(path, handle, entry, keep=False)
    return {entry.name: entry for entry in entries}


def _check_local_header(bundle: Path, handle: BinaryIO, entry: ZipEntry) -> None:
    raw = _read_at(handle, entry.offset, LOCAL.size + len(entry.raw_name))
    where = f"local header at offset {entry.offset}"
    if len(raw) < LOCAL.size:
        raise refuse(bundle, entry.name, f"{where}: truncated")
    found = LocalHeader(*LOCAL.unpack_from(raw))
    problem = _compare(where, expected_local(entry), found)
    if found.extra_length and found.signature == LOCAL_MAGIC:
        extra = _read_at(handle, entry.offset + LOCAL.size + found.name_length, found.extra_length)
        problem = f"{where}: expected no extra field, found {describe_extra(extra)}"
    if problem is None and raw[LOCAL.size :] != entry.raw_name:
        local = raw[LOCAL.size :].decode("utf-8", errors="replace")
        problem = f"{where}: expected the name {entry.name!r} of the directory, found {local!r}"
    if problem:
        raise refuse(bundle, entry.name, problem)


def _chunks(bundle: Path, handle: BinaryIO, entry: ZipEntry) -> Iterator[bytes]:
    handle.seek(entry.data_offset)
    left = entry.compressed_size
    while left:
        chunk = handle.read(min(left, _CHUNK))
        if not chunk:
            raise refuse(bundle, entry.name, "corrupt entry (truncated data)")
        left -= len(chunk)
        yield chunk


def _stream_end(bundle: Path, entry: ZipEntry, found: str) -> BundleError:
    return refuse(
        bundle,
        entry.name,
        "corrupt entry: expected its deflate stream to end exactly where its "
        f"{entry.compressed_size} bytes of data end, found {found}",
    )


def _inflated(bundle: Path, chunks: Iterator[bytes], entry: ZipEntry) -> Iterator[bytes]:
    """The inflated pieces (at most one chunk each); bytes after the stream's end are an
    error: a streaming extractor could resume there and find an entry no directory lists."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    for chunk in chunks:
        pending = chunk
        while pending:
            if inflater.eof:
                raise _stream_end(bundle, entry, "more data after it")
            yield inflater.decompress(pending, _CHUNK)
            # At the end of the stream CPython leaves what follows in unconsumed_tail.
            pending = inflater.unconsumed_tail
    while not inflater.eof:
        out = inflater.decompress(b"", _CHUNK)
        if not out:
            raise _stream_end(bundle, entry, "the stream unfinished")
        yield out
    if inflater.unused_data:
        raise _stream_end(bundle, entry, "more data after it")


def _check_data(bundle: Path, handle: BinaryIO, entry: ZipEntry, *, keep: bool) -> bytes:
    """The entry's bytes (``keep``) or b"", once they are exactly as declared; checked in
    chunks, and never more than the declared size plus one chunk is inflated."""
    pieces = _chunks(bundle, handle, entry)
    if entry.method != STORED:
        pieces = _inflated(bundle, pieces, entry)
    crc, produced = 0, 0
    kept: list[bytes] = []
    try:
        for out in pieces:
            produced += len(out)
            if produced > entry.size:
                break
            crc = zlib.crc32(out, crc)
            if keep:
                kept.append(out)
    except zlib.error as exc:
        raise refuse(bundle, entry.name, f"corrupt entry ({exc})") from None
    if produced != entry.size or crc != entry.crc:
        more = "more than " if produced > entry.size else ""
        raise refuse(
            bundle,
            entry.name,
            f"corrupt entry (expected {entry.size} bytes with CRC {entry.crc:08x}, found "
            f"{more}{produced} bytes with CRC {crc:08x})",
        )
    return b"".join(kept)


def read_entry(bundle: Path, handle: BinaryIO, entry: ZipEntry) -> bytes:
    """The bytes of ``entry`` (from :func:`validate_entries`), checked again: local header,
    exact size, CRC-32 and the end of the deflate stream.

    Raises:
        BundleError: the entry is corrupt or truncated, or its header disagrees.
    """
    try:
        _check_local_header(bundle, handle, entry)
        return _check_data(bundle, handle, entry, keep=True)
    except OSError as exc:
        raise refuse(bundle, entry.name, f"corrupt entry ({exc.strerror})") from None
