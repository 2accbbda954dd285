"""Tell a file's type from its bytes, never from its name.

Invariant: what the build does with a media file (re-encode, strip, copy, refuse) depends
only on :func:`sniff_bytes`, so renaming a photo ``.jfif``, ``.bin`` or nothing at all cannot
carry its GPS position past the build. The name is only compared afterwards, to warn when it
promises another type (:func:`name_matches`).

Every signature here is a fixed magic number at a fixed offset (the same ones libmagic and
the format specifications use); what is neither a known type nor UTF-8 text is ``unknown``
and refused by the build unless the publisher opts in.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

__all__ = ["SNIFF_BYTES", "FileType", "name_matches", "sniff_bytes", "sniff_file"]

Family = Literal["image", "audio", "video", "pdf", "text", "font", "container", "unknown"]

SNIFF_BYTES = 8192  # enough for every signature below and a fair look at text


@dataclass(frozen=True, slots=True)
class FileType:
    """What a file is: a short name for messages, how the build treats it, usual suffixes.

    ``demuxer``/``muxer`` are the ffmpeg format names for audio and video (the input format is
    forced, so ffmpeg never guesses, e.g. a playlist that reads other local files).
    """

    name: str
    family: Family
    suffixes: frozenset[str]
    demuxer: str = ""
    muxer: str = ""


def _t(name: str, family: Family, suffixes: str, demuxer: str = "", muxer: str = "") -> FileType:
    return FileType(name, family, frozenset(suffixes.split()), demuxer, muxer)


JPEG = _t("JPEG", "image", ".jpg .jpeg .jpe .jfif .jif .pjpeg .pjp")
PNG = _t("PNG", "image", ".png")
GIF = _t("GIF", "image", ".gif")
WEBP = _t("WebP", "image", ".webp")
TIFF = _t("TIFF", "image", ".tif .tiff")
BMP = _t("BMP", "image", ".bmp .dib")
ICO = _t("ICO", "image", ".ico .cur")
HEIF = _t("HEIF", "image", ".heic .heif .hif")
AVIF = _t("AVIF", "image", ".avif")
MP4 = _t("MP4 video", "video", ".mp4 .m4v .mp4v .3gp .3g2", "mov", "mp4")
MOV = _t("QuickTime video", "video", ".mov .qt", "mov", "mov")
M4A = _t("M4A audio", "audio", ".m4a .m4b .mp4 .aac", "mov", "ipod")
WEBM = _t("WebM", "video", ".webm .weba", "matroska", "webm")
MKV = _t("Matroska", "video", ".mkv .mka .mk3d", "matroska", "matroska")
OGG = _t("Ogg", "audio", ".ogg .oga .ogv .opus .spx", "ogg", "ogg")
FLAC = _t("FLAC audio", "audio", ".flac", "flac", "flac")
WAV = _t("WAV audio", "audio", ".wav .wave", "wav", "wav")
AVI = _t("AVI video", "video", ".avi", "avi", "avi")
MP3 = _t("MP3 audio", "audio", ".mp3 .mpga", "mp3", "mp3")
ADTS = _t("AAC audio", "audio", ".aac .adts", "aac", "adts")
PDF = _t("PDF", "pdf", ".pdf")
FONT = _t("font", "font", ".woff .woff2 .ttf .otf .ttc")
TEXT = _t("text", "text", "")
ZIP = _t("ZIP archive (or Office/EPUB document)", "container", ".zip")
OLE = _t("legacy Office document", "container", ".doc .xls .ppt .msg")
RTF = _t("RTF document", "container", ".rtf")
ARCHIVE = _t("compressed archive", "container", ".gz .tgz .bz2 .xz .zst .7z .rar .tar")
UNKNOWN = _t("unknown binary data", "unknown", "")

# ISO base media "ftyp" major brands: HEIF/AVIF stills, audio-only MP4, QuickTime, the rest MP4.
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_QT_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_SIMPLE: tuple[tuple[bytes, FileType], ...] = (
    (b"\xff\xd8\xff", JPEG),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"\x1a\x45\xdf\xa3", MKV),  # EBML; WebM told apart below
    (b"OggS", OGG),
    (b"fLaC", FLAC),
    (b"ID3", MP3),
    (b"wOFF", FONT),
    (b"wOF2", FONT),
    (b"OTTO", FONT),
    (b"true\x00", FONT),
    (b"ttcf", FONT),
    (b"\x00\x01\x00\x00\x00", FONT),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OLE),
    (b"{\\rtf", RTF),
    (b"\x1f\x8b", ARCHIVE),
    (b"BZh", ARCHIVE),
    (b"\xfd7zXZ\x00", ARCHIVE),
    (b"\x28\xb5\x2f\xfd", ARCHIVE),
    (b"7z\xbc\xaf\x27\x1c", ARCHIVE),
    (b"Rar!\x1a\x07", ARCHIVE),
)


def _riff(head: bytes) -> FileType | None:
    if head[:4] != b"RIFF" or len(head) < 12:
        return None
    return {b"WEBP": WEBP, b"WAVE": WAV, b"AVI ": AVI}.get(head[8:12], UNKNOWN)


def _iso_media(head: bytes) -> FileType | None:
    if len(head) < 12:
        return None
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return HEIF
        if brand in (b"avif", b"avis"):
            return AVIF
        if brand in _AUDIO_BRANDS:
            return M4A
        return MOV if brand == b"qt  " else MP4
    if head[4:8] in _QT_ATOMS:
        return MOV
    return None


def _mpeg_audio(head: bytes) -> FileType | None:
    """An MPEG audio (MP3) or ADTS (AAC) frame header at the very start."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    if head[1] & 0xF6 == 0xF0:  # 12-bit sync, layer 00: ADTS
        return ADTS
    version, layer = (head[1] >> 3) & 3, (head[1] >> 1) & 3
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 3
    if version == 1 or layer == 0 or bitrate == 15 or rate == 3:
        return None  # reserved values: not a frame header
    return MP3


def _bmp_or_ico(head: bytes) -> FileType | None:
    if head[:2] == b"BM" and len(head) >= 18:
        header_size = int.from_bytes(head[14:18], "little")
        if header_size in (12, 40, 52, 56, 64, 108, 124):
            return BMP
    icon = head[:4] in (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00") and len(head) >= 6
    if icon and 0 < int.from_bytes(head[4:6], "little") <= 256:
        return ICO
    return None


def _is_text(head: bytes, complete: bool) -> bool:
    """UTF-8 (BOM allowed) without NUL or other C0 controls than tab, newlines, form feed."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return not any(byte < 0x20 and byte not in b"\t\n\r\f\x1b" for byte in head)


def sniff_bytes(head: bytes, *, complete: bool = True) -> FileType:
    """The type of a file that starts with ``head`` (``complete``: ``head`` is all of it)."""
    for magic, found in _SIMPLE:
        if head.startswith(magic):
            if found is MKV and b"webm" in head[:64]:
                return WEBM
            return found
    if len(head) > 262 and head[257:262] == b"ustar":
        return ARCHIVE
    for probe in (_riff, _iso_media, _mpeg_audio, _bmp_or_ico):
        found_type = probe(head)
        if found_type is not None:
            return found_type
    # PDF readers accept the header anywhere in the first 1024 bytes; so do we.
    if b"%PDF-" in head[:1024]:
        return PDF
    return TEXT if _is_text(head, complete) else UNKNOWN


def sniff_file(path: Path) -> FileType:
    """The type of the file at ``path`` from its first :data:`SNIFF_BYTES` bytes.

    Raises:
        OSError: the file cannot be read.
    """
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES + 1)
    return sniff_bytes(head[:SNIFF_BYTES], complete=len(head) <= SNIFF_BYTES)


def name_matches(source: str, found: FileType) -> bool:
    """True if ``source``'s suffix is a usual one for ``found`` (text: any name goes)."""
    if found.family == "text":
        return True
    return PurePosixPath(source).suffix.lower() in found.suffixes
