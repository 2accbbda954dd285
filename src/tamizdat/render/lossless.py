"""Remove metadata from JPEG, PNG and WebP files without re-encoding them.

Invariant: :func:`strip_lossless` either returns ``None`` (the caller then re-encodes the
picture from its pixels, as :mod:`tamizdat.render.images` always did) or returns bytes made
only of the structures a decoder needs to draw the picture, copied from a file that parsed
*strictly*: every segment or chunk has a known type and an exact length, nothing lies between
them, and the result is parsed again and must come out unchanged. Nothing is kept by name
alone: a structure is kept because its kind is on the list below and its length is the one
its content implies, so no text can ride inside it.

Kept (everything else — EXIF, XMP, IPTC, ICC text, comments, thumbnails, MPF second images,
maker notes, unknown segments or chunks, bytes after the end of the image — is dropped and
named in the report):

- JPEG: SOF0/1/2 (baseline, extended, progressive Huffman), DHT, DQT, DRI, SOS with its
  entropy-coded data (restart markers included), a canonical JFIF APP0 rebuilt from its
  version, units and density (never its thumbnail), and an Adobe APP14 of the exact
  12-byte form (it says how to read the colours of CMYK/YCCK files).
- PNG: IHDR, PLTE, tRNS, gAMA, cHRM, sRGB, sBIT, bKGD, pHYs, IDAT, IEND, with correct CRCs;
  the IDAT stream must inflate to exactly the size the header implies, with nothing after it.
- WebP: the VP8/VP8L bitstream chunk, ALPH, and VP8X with its metadata flags cleared.

Refused here (``None``, so the picture is re-encoded instead): an EXIF orientation other than
"upright" (the pixels must be turned), an embedded ICC profile (the pixels are converted to
sRGB; a profile also carries free text), arithmetic coding, hierarchical or lossless JPEG,
animation (APNG, animated WebP), Apple's CgBI PNG, interlace methods or colour types the PNG
standard does not define, and anything that does not parse as described. The entropy-coded
data of a JPEG is copied as it is: it holds the picture, and no camera or editor writes
metadata there.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zlib
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

__all__ = ["LosslessImage", "strip_lossless"]


@dataclass(frozen=True, slots=True)
class LosslessImage:
    """A picture rewritten without metadata: its bytes, size, and what was removed."""

    data: bytes
    width: int
    height: int
    removed: tuple[str, ...]


class _RefusedError(Exception):
    """Inside this module only: the file is outside the strict subset; re-encode it."""


def _refuse(reason: str) -> _RefusedError:
    return _RefusedError(reason)


# -- JPEG -------------------------------------------------------------------------------------

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_FRAMES = {0xC0, 0xC1, 0xC2}  # Huffman baseline, extended sequential, progressive
_DHT, _DQT, _DRI, _COM = 0xC4, 0xDB, 0xDD, 0xFE
# After an 0xFF inside entropy-coded data: a stuffed zero, a restart marker or a fill byte
# continue the data; any other byte is the marker that ends it.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")
_APP_LABELS = {
    b"Exif\x00": "EXIF metadata",
    b"http://ns.adobe.com/xap/1.0/\x00": "XMP metadata",
    b"http://ns.adobe.com/xmp/extension/\x00": "XMP metadata",
    b"Photoshop 3.0\x00": "IPTC metadata",
    b"ICC_PROFILE\x00": "colour profile",
    b"MPF\x00": "embedded images (MPF)",
    b"JFXX\x00": "thumbnail",
}


def _app_label(body: bytes) -> str:
    for prefix, label in _APP_LABELS.items():
        if body.startswith(prefix):
            return label
    if b"xmpmeta" in body or b"adobe:ns:meta" in body:
        return "XMP metadata"  # XMP under a non-standard signature is still XMP
    return "other metadata segments"


def _check_tables(marker: int, body: bytes) -> None:
    """DHT and DQT: the tables must fill the segment exactly (no room for hidden bytes)."""
    pos = 0
    while pos < len(body):
        if marker == _DHT:
            if body[pos] >> 4 > 1 or body[pos] & 0x0F > 3 or pos + 17 > len(body):
                raise _refuse("bad Huffman table")
            pos += 17 + sum(body[pos + 1 : pos + 17])
        else:
            precision = body[pos] >> 4
            if precision > 1 or body[pos] & 0x0F > 3:
                raise _refuse("bad quantisation table")
            pos += 1 + 64 * (precision + 1)
    if pos != len(body) or not body:
        raise _refuse("table segment length does not match its tables")


def _jfif(body: bytes) -> bytes:
    """A canonical JFIF APP0: version, units and density only (the thumbnail is dropped)."""
    if len(body) < 14:
        raise _refuse("short JFIF segment")
    version, units, x_density, y_density = struct.unpack(">HBHH", body[5:12])
    if version >> 8 != 1 or units > 2 or not x_density or not y_density:
        raise _refuse("bad JFIF segment")
    payload = b"JFIF\x00" + struct.pack(">HBHHBB", version, units, x_density, y_density, 0, 0)
    return b"\xff\xe0" + struct.pack(">H", len(payload) + 2) + payload


def _orientation(data: bytes) -> int:
    """The EXIF orientation (1 = upright; unreadable EXIF counts as upright, as Pillow does)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as image:
                value = image.getexif().get(0x0112, 1)
    except (Image.DecompressionBombError, UnidentifiedImageError, OSError, SyntaxError):
        return 1
    except (ValueError, struct.error):
        return 1
    return value if isinstance(value, int) else 1


def _jpeg(data: bytes) -> tuple[bytes, int, int, list[str]]:
    if not data.startswith(b"\xff\xd8"):
        raise _refuse("no SOI")
    out = [b"\xff\xd8"]
    removed: list[str] = []
    size: tuple[int, int] | None = None
    scans = 0
    jfif = adobe = False
    pos = 2
    end = len(data)
    while True:
        if pos + 2 > end or data[pos] != 0xFF:
            raise _refuse("bytes between segments or no EOI")
        while pos + 1 < end and data[pos + 1] == 0xFF:
            pos += 1  # fill bytes before a marker (allowed by the standard, not copied)
        if pos + 2 > end:
            raise _refuse("truncated")
        marker = data[pos + 1]
        if marker == _EOI:
            if size is None or not scans:
                raise _refuse("no frame or no scan")
            out.append(b"\xff\xd9")
            if pos + 2 < end:
                removed.append("data after the end of the image")
            break
        if pos + 4 > end:
            raise _refuse("truncated")
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        stop = pos + 2 + length
        if length < 2 or stop > end:
            raise _refuse("segment runs past the end of the file")
        segment, body = data[pos:stop], data[pos + 4 : stop]
        if 0xE0 <= marker <= 0xEF or marker == _COM:
            if marker == 0xE0 and body.startswith(b"JFIF\x00") and not jfif and size is None:
                jfif = True
                canonical = _jfif(body)
                out.append(canonical)
                if canonical != segment:
                    removed.append("thumbnail")
            elif marker == 0xEE and body.startswith(b"Adobe") and len(body) == 12 and not adobe:
                adobe = True
                out.append(segment)
            elif marker == _COM:
                removed.append("title/comments")
            elif marker == 0xE2 and body.startswith(b"ICC_PROFILE\x00"):
                raise _refuse("ICC profile: convert to sRGB")
            else:
                removed.append(_app_label(body))
            pos = stop
            continue
        if marker in _FRAMES:
            if size is not None or len(body) < 6 or len(body) != 6 + 3 * body[5]:
                raise _refuse("bad or second frame header")
            height, width = struct.unpack(">HH", body[1:5])
            if not width or not height or body[5] not in (1, 3, 4):
                raise _refuse("frame without size or with odd components")
            size = (width, height)
        elif marker in (_DHT, _DQT):
            _check_tables(marker, body)
        elif marker == _DRI:
            if length != 4:
                raise _refuse("bad restart interval")
        elif marker == _SOS:
            if size is None or not body or len(body) != 4 + 2 * body[0]:
                raise _refuse("scan before frame or bad scan header")
            found = _SCAN_END.search(data, stop)
            if found is None:
                raise _refuse("scan data never ends")
            scan_end = found.start()
            while scan_end > stop and data[scan_end - 1] == 0xFF:
                scan_end -= 1  # trailing fill bytes
            out.append(data[pos:scan_end])
            scans += 1
            pos = found.start()
            continue
        else:
            raise _refuse(f"unsupported JPEG marker {marker:#04x}")
        out.append(segment)
        pos = stop
    return b"".join(out), size[0], size[1], removed


# -- PNG --------------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The chunks kept, with the lengths their content allows (so no text fits in them).
_PNG_LENGTHS: dict[bytes, frozenset[int]] = {
    b"PLTE": frozenset(range(3, 769, 3)),
    b"tRNS": frozenset(range(1, 257)),
    b"gAMA": frozenset({4}),
    b"cHRM": frozenset({32}),
    b"sRGB": frozenset({1}),
    b"sBIT": frozenset({1, 2, 3, 4}),
    b"bKGD": frozenset({1, 2, 6}),
    b"pHYs": frozenset({9}),
}
_PNG_KEEP = frozenset(_PNG_LENGTHS)
_PNG_REFUSE = frozenset({b"iCCP", b"acTL", b"fcTL", b"fdAT", b"CgBI"})
_PNG_LABELS = {
    b"tEXt": "text chunks",
    b"zTXt": "text chunks",
    b"iTXt": "text chunks",
    b"tIME": "creation time",
    b"eXIf": "EXIF metadata",
}
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_DEPTHS = {0: (1, 2, 4, 8, 16), 2: (8, 16), 3: (1, 2, 4, 8), 4: (8, 16), 6: (8, 16)}
# Adam7 passes: first column, first row, column step, row step.
_ADAM7 = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)
_INFLATE_STEP = 1 << 20


def _png_raw_size(width: int, height: int, depth: int, colour: int, interlace: int) -> int:
    """Bytes the IDAT stream inflates to: each row is a filter byte and its pixels."""
    bits = depth * _CHANNELS[colour]

    def rows(w: int, h: int) -> int:
        return 0 if not w or not h else h * (1 + (w * bits + 7) // 8)

    if not interlace:
        return rows(width, height)
    total = 0
    for x0, y0, dx, dy in _ADAM7:
        total += rows((width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy)
    return total


def _check_idat(stream: bytes, expected: int) -> None:
    inflater = zlib.decompressobj()
    total = 0
    pending = stream
    try:
        while pending and not inflater.eof:
            total += len(inflater.decompress(pending, _INFLATE_STEP))
            pending = inflater.unconsumed_tail
            if total > expected:
                break
    except zlib.error as exc:
        raise _refuse(f"bad IDAT stream: {exc}") from None
    if not inflater.eof or inflater.unused_data or pending or total != expected:
        raise _refuse("IDAT stream does not hold exactly the picture")


def _png(data: bytes, max_pixels: int) -> tuple[bytes, int, int, list[str]]:
    if not data.startswith(_PNG_SIGNATURE):
        raise _refuse("no PNG signature")
    out = [_PNG_SIGNATURE]
    removed: list[str] = []
    idat: list[bytes] = []
    header: tuple[int, int, int, int, int] | None = None
    pos = len(_PNG_SIGNATURE)
    ended = idat_done = False
    while pos < len(data):
        if pos + 12 > len(data):
            raise _refuse("truncated chunk")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        stop = pos + 12 + length
        if stop > len(data) or not kind.isalpha() or not kind.isascii():
            raise _refuse("bad chunk")
        body = data[pos + 8 : pos + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[stop - 4 : stop])[0]:
            raise _refuse("bad chunk CRC")
        chunk = data[pos:stop]
        pos = stop
        if header is None:
            if kind != b"IHDR" or length != 13:
                raise _refuse("IHDR is not first")
            width, height, depth, colour, method, filtering, interlace = struct.unpack(
                ">IIBBBBB", body
            )
            if colour not in _DEPTHS or depth not in _DEPTHS[colour] or method or filtering:
                raise _refuse("bad IHDR")
            if interlace > 1 or not width or not height or width * height > max_pixels:
                raise _refuse("bad IHDR size or interlace")
            header = (width, height, depth, colour, interlace)
            out.append(chunk)
            continue
        if kind == b"IEND":
            if length:
                raise _refuse("IEND with data")
            ended = True
            out.append(chunk)
            break
        if kind == b"IDAT":
            if idat_done:
                raise _refuse("IDAT chunks are not consecutive")
            idat.append(body)
            out.append(chunk)
            continue
        if idat:
            idat_done = True
        if kind in _PNG_REFUSE:
            raise _refuse(f"{kind.decode()} chunk")
        if kind in _PNG_KEEP and not idat_done:
            if length not in _PNG_LENGTHS[kind]:
                raise _refuse(f"{kind.decode()} chunk of a length its content cannot have")
            out.append(chunk)
        elif kind[0:1].isupper() and kind not in _PNG_KEEP:
            raise _refuse(f"unknown critical chunk {kind.decode()}")
        else:
            removed.append(_PNG_LABELS.get(kind, "other metadata chunks"))
    if header is None or not ended or not idat:
        raise _refuse("no IHDR, IDAT or IEND")
    if pos < len(data):
        removed.append("data after the end of the image")
    width, height, depth, colour, interlace = header
    _check_idat(b"".join(idat), _png_raw_size(width, height, depth, colour, interlace))
    return b"".join(out), width, height, removed


# -- WebP -------------------------------------------------------------------------------------

_WEBP_LABELS = {b"EXIF": "EXIF metadata", b"XMP ": "XMP metadata"}
_VP8X_METADATA = 0x08 | 0x04  # the EXIF and XMP flags


def _webp_size(kind: bytes, body: bytes) -> tuple[int, int]:
    if kind == b"VP8 ":
        if len(body) < 10 or body[3:6] != b"\x9d\x01\x2a":
            raise _refuse("bad VP8 header")
        width, height = struct.unpack("<HH", body[6:10])
        return width & 0x3FFF, height & 0x3FFF
    if len(body) < 5 or body[0] != 0x2F:
        raise _refuse("bad VP8L header")
    bits = int.from_bytes(body[1:5], "little")
    return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1


def _webp(data: bytes) -> tuple[bytes, int, int, list[str]]:
    if len(data) < 20 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise _refuse("no RIFF WEBP header")
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 > len(data) or riff_size % 2:
        raise _refuse("RIFF size past the end of the file")
    removed: list[str] = []
    if riff_size + 8 < len(data):
        removed.append("data after the end of the image")
    kept: list[bytes] = []
    vp8x: bytearray | None = None
    size: tuple[int, int] | None = None
    pos = 12
    while pos < riff_size + 8:
        if pos + 8 > riff_size + 8:
            raise _refuse("truncated chunk")
        kind, length = struct.unpack("<4sI", data[pos : pos + 8])
        stop = pos + 8 + length + (length & 1)
        if stop > riff_size + 8:
            raise _refuse("chunk runs past the RIFF size")
        body = data[pos + 8 : pos + 8 + length]
        if length & 1 and data[stop - 1] != 0:
            raise _refuse("non-zero padding byte")
        if kind == b"VP8X" and pos == 12 and length == 10:
            vp8x = bytearray(body)
            if vp8x[0] & ~0x3E or vp8x[1:4] != b"\x00\x00\x00":
                raise _refuse("reserved VP8X bits set")
            if vp8x[0] & 0x22:
                raise _refuse("ICC profile or animation")
        elif kind in (b"VP8 ", b"VP8L") and size is None:
            size = _webp_size(kind, body)
            kept.append(data[pos:stop])
        elif kind == b"ALPH" and vp8x is not None and size is None:
            kept.append(data[pos:stop])
        elif kind in (b"ICCP", b"ANIM", b"ANMF"):
            raise _refuse("ICC profile or animation")
        elif size is None and kind not in _WEBP_LABELS:
            raise _refuse(f"unexpected chunk {kind!r} before the bitstream")
        else:
            removed.append(_WEBP_LABELS.get(kind, "other metadata chunks"))
        pos = stop
    if size is None:
        raise _refuse("no bitstream")
    if vp8x is not None:
        vp8x[0] &= ~_VP8X_METADATA & 0xFF
        canvas = (int.from_bytes(vp8x[4:7], "little") + 1, int.from_bytes(vp8x[7:10], "little") + 1)
        if canvas != size:
            raise _refuse("VP8X canvas differs from the bitstream")
        kept.insert(0, b"VP8X" + struct.pack("<I", 10) + bytes(vp8x))
    payload = b"WEBP" + b"".join(kept)
    return b"RIFF" + struct.pack("<I", len(payload)) + payload, size[0], size[1], removed


# -- entry point ------------------------------------------------------------------------------


def _strip(data: bytes, kind: str, max_pixels: int) -> tuple[bytes, int, int, list[str]]:
    if kind == "JPEG":
        return _jpeg(data)
    if kind == "PNG":
        return _png(data, max_pixels)
    if kind == "WEBP":
        return _webp(data)
    raise _refuse(f"no lossless path for {kind}")


def strip_lossless(data: bytes, kind: str, *, max_pixels: int) -> LosslessImage | None:
    """``data`` (a ``kind`` file: "JPEG", "PNG" or "WEBP") without metadata, or ``None``.

    ``None`` means "re-encode it from its pixels instead": the file is outside the strict
    subset described in the module docstring, needs its pixels turned or converted, or is
    larger than ``max_pixels``. The result is parsed again and must be a fixed point.
    Raises nothing.
    """
    try:
        cleaned, width, height, removed = _strip(data, kind, max_pixels)
        if width * height > max_pixels:
            return None
        if "EXIF metadata" in removed and _orientation(data) != 1:
            return None  # the pixels must be turned, which only a re-encoding does
        again, *_size, left = _strip(cleaned, kind, max_pixels)
    except (_RefusedError, struct.error, IndexError):
        return None
    if again != cleaned or left:
        return None
    return LosslessImage(cleaned, width, height, tuple(dict.fromkeys(removed)))
