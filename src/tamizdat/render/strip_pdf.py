"""Remove the metadata of a PDF by rewriting it whole with pikepdf (qpdf).

Invariant: the output holds only the objects reachable from the cleaned document, so an
earlier revision kept by an incremental update (how exiftool and most editors save, and how
an "Author" thought deleted survives) is gone; no document information dictionary, no XMP
stream anywhere, no application private data (``/PieceInfo``, where Illustrator keeps the
whole source file), no annotation author or dates, no EXIF/XMP/comment segments in embedded
JPEG images. Encrypted PDFs and PDFs with attached files are refused: their contents cannot
be inspected here. The file ID is derived from the content (``deterministic_id``), so the
same input gives the same bytes (Invariant 5).
"""

from __future__ import annotations

import functools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pikepdf

from tamizdat.errors import ContentError

__all__ = ["pdf_tool_version", "strip_jpeg_metadata", "strip_pdf"]

_HINT = (
    "remove it or export the PDF again without it; if you checked it yourself, list it "
    "under [media] publish_unstripped in tamizdat.toml"
)
_PRIVATE_KEYS = ("/Metadata", "/PieceInfo")
_ANNOTATION_KEYS = ("/T", "/M", "/CreationDate")  # author (widgets: field name), dates


@functools.cache
def pdf_tool_version() -> str:
    """pikepdf and qpdf versions: both change the rewritten bytes."""
    return f"pikepdf {pikepdf.__version__} qpdf {pikepdf.__libqpdf_version__}"


def _segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, start, end) of each JPEG segment; entropy-coded data belongs to its SOS.

    Stops after EOI (marker 0xD9), so bytes trailing the image are never yielded.
    Raises ValueError on a malformed stream.
    """
    if not data.startswith(b"\xff\xd8"):
        raise ValueError("no JPEG start marker")
    yield 0xD8, 0, 2
    pos = 2
    while pos + 2 <= len(data):
        if data[pos] != 0xFF:
            raise ValueError(f"expected a marker at byte {pos}")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1  # fill byte
            continue
        if marker == 0xD9:
            yield marker, pos, pos + 2
            return
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            yield marker, pos, pos + 2
            pos += 2
            continue
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker == 0xDA:  # start of scan: entropy-coded data runs to the next real marker
            while end + 1 < len(data) and not (
                data[end] == 0xFF and data[end + 1] not in b"\x00\xd0\xd1\xd2\xd3\xd4\xd5\xd6\xd7"
            ):
                end += 1
        if end > len(data):
            raise ValueError("segment runs past the end")
        yield marker, pos, end
        pos = end
    raise ValueError("no JPEG end marker")


def _is_metadata(marker: int, segment: bytes) -> bool:
    if marker == 0xFE or 0xE1 <= marker <= 0xED or marker == 0xEF:
        return True  # comment, EXIF/XMP (APP1), ICC (APP2), IPTC (APP13) and the rest
    if marker == 0xE0:  # JFIF is needed; a thumbnail in it or a JFXX extension is not
        return not (segment[4:9] == b"JFIF\x00" and segment[16:18] == b"\x00\x00")
    return False  # APP14 (Adobe) tells the colour transform: keep it


def strip_jpeg_metadata(data: bytes) -> bytes:
    """``data`` without comment or APPn segments (except JFIF and Adobe) or trailing bytes.

    The compressed picture is kept bit for bit. Raises:
        ValueError: ``data`` is not a well-formed JPEG stream.
    """
    kept = bytearray()
    for marker, start, end in _segments(data):
        if not _is_metadata(marker, data[start:end]):
            kept += data[start:end]
    return bytes(kept)


class _Cleaner:
    """One walk over every object reachable from the trailer, counting what it removes."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.counts: dict[str, int] = {}
        self._seen: set[tuple[int, int]] = set()

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def walk(self, root: pikepdf.Object) -> None:
        stack: list[object] = [root]
        while stack:
            obj = stack.pop()
            if not isinstance(obj, (pikepdf.Array, pikepdf.Dictionary, pikepdf.Stream)):
                continue  # numbers, names, strings: nothing to remove inside
            if obj.is_indirect:
                if obj.objgen in self._seen:
                    continue
                self._seen.add(obj.objgen)
            if isinstance(obj, pikepdf.Array):
                stack.extend(obj)
            elif isinstance(obj, (pikepdf.Dictionary, pikepdf.Stream)):
                self._clean(obj)
                stack.extend(obj.values())

    def _clean(self, obj: pikepdf.Dictionary | pikepdf.Stream) -> None:
        if obj.get("/Type") == "/EmbeddedFile" or "/EmbeddedFiles" in obj:
            raise ContentError("PDF carries attached files", where=self.source, hint=_HINT)
        for key in _PRIVATE_KEYS:
            if key in obj:
                del obj[key]
                self.count("XMP metadata" if key == "/Metadata" else "application data")
        if "/Subtype" in obj and ("/Rect" in obj or obj.get("/Type") == "/Annot"):
            keys = _ANNOTATION_KEYS[1:] if obj.get("/Subtype") == "/Widget" else _ANNOTATION_KEYS
            if any(key in obj for key in keys):
                for key in keys:
                    if key in obj:
                        del obj[key]
                self.count("annotation authors/dates")
        if isinstance(obj, pikepdf.Stream) and obj.get("/Subtype") == "/Image":
            self._clean_jpeg(obj)

    def _clean_jpeg(self, image: pikepdf.Stream) -> None:
        if image.get("/Filter") not in ("/DCTDecode", pikepdf.Array([pikepdf.Name.DCTDecode])):
            return
        raw = image.read_raw_bytes()
        try:
            cleaned = strip_jpeg_metadata(raw)
        except ValueError as exc:
            raise ContentError(
                f"PDF holds an unreadable JPEG image: {exc}", where=self.source, hint=_HINT
            ) from None
        if cleaned != raw:
            image.write(cleaned, filter=pikepdf.Name.DCTDecode, decode_parms=None)
            self.count("image EXIF/XMP")


def _describe(info: list[str], revisions: int, counts: dict[str, int]) -> tuple[str, ...]:
    removed = []
    fields = {
        "/Author": "author",
        "/Creator": "software",
        "/Producer": "software",
        "/CreationDate": "creation time",
        "/ModDate": "creation time",
    }
    named = [fields.get(key, "title/subject/keywords") for key in info]
    removed += sorted(set(named), key=named.index)
    for what, count in counts.items():
        removed.append(what if count == 1 else f"{what} ({count})")
    if revisions > 1:
        removed.append(f"{revisions - 1} earlier revision{'s' if revisions > 2 else ''}")
    return tuple(removed)


def strip_pdf(path: Path, out: Path, *, source: str) -> tuple[str, ...]:
    """Rewrite the PDF at ``path`` without metadata into ``out``; return what was removed.

    Raises:
        ContentError: not a readable PDF, encrypted, or carries attached files (names
            ``source``); ``out`` is then not written.
    """
    revisions = path.read_bytes().count(b"%%EOF")
    try:
        pdf = pikepdf.open(path)
    except pikepdf.PasswordError:
        raise ContentError(
            "PDF is encrypted: cannot inspect it", where=source, hint=_HINT
        ) from None
    except pikepdf.PdfError as exc:
        reason = str(exc).replace(f"{path}: ", "")  # the error names the file already
        raise ContentError(f"not a readable PDF: {reason}", where=source, hint=_HINT) from None
    with pdf:
        if pdf.is_encrypted:
            raise ContentError("PDF is encrypted: cannot inspect it", where=source, hint=_HINT)
        info = pdf.trailer.get("/Info")
        info_keys = [str(k) for k in info] if isinstance(info, pikepdf.Dictionary) else []
        if "/Info" in pdf.trailer:
            del pdf.trailer["/Info"]
        cleaner = _Cleaner(source)
        cleaner.walk(pdf.trailer)
        out.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
        os.close(handle)
        temp = Path(name)
        try:
            pdf.save(
                temp,
                deterministic_id=True,
                fix_metadata_version=False,
                linearize=False,
                compress_streams=True,
            )
            temp.replace(out)
        except pikepdf.PdfError as exc:
            raise ContentError(f"could not rewrite the PDF: {exc}", where=source) from None
        finally:
            temp.unlink(missing_ok=True)
    return _describe(info_keys, revisions, cleaner.counts)
