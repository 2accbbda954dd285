"""Small media files with planted metadata, made in the test (no binary fixtures), and
independent tools (ffprobe, exiftool) to show what metadata a file still carries.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

from PIL import ExifTags, Image

# Planted in every fixture; none may survive stripping.
SECRET_PLACE = "+55.7558+037.6173/"
SECRET_NAME = "Jane SOURCENAME"
SECRET_DEVICE = "SECRETPHONE"

# name → (lavfi inputs, codec arguments): tiny (0.2 s), made by the Debian ffmpeg.
_SINE = ["-f", "lavfi", "-i", "sine=frequency=440:duration=0.2"]
_TESTSRC = ["-f", "lavfi", "-i", "testsrc=size=32x32:rate=5:duration=0.2"]
AV_RECIPES: dict[str, tuple[list[str], list[str]]] = {
    "mp4": (_SINE + _TESTSRC, ["-c:v", "mpeg4", "-c:a", "aac", "-f", "mp4"]),
    "mov": (_SINE + _TESTSRC, ["-c:v", "mpeg4", "-c:a", "aac", "-f", "mov"]),
    "m4a": (_SINE, ["-c:a", "aac", "-f", "ipod"]),
    "mp3": (_SINE, ["-c:a", "libmp3lame", "-f", "mp3"]),
    "webm": (_SINE + _TESTSRC, ["-c:v", "libvpx", "-c:a", "libvorbis", "-f", "webm"]),
    "ogg": (_SINE, ["-c:a", "libvorbis", "-f", "ogg"]),
    "wav": (_SINE, ["-c:a", "pcm_s16le", "-f", "wav"]),
    "flac": (_SINE, ["-c:a", "flac", "-f", "flac"]),
}


def make_av(kind: str, path: Path) -> Path:
    """A 0.2 s file of ``kind`` (see :data:`AV_RECIPES`) with GPS, artist and device tags."""
    inputs, codecs = AV_RECIPES[kind]
    metadata = [
        f"location={SECRET_PLACE}",
        f"artist={SECRET_NAME}",
        f"com.apple.quicktime.make={SECRET_DEVICE}",
        "creation_time=2024-03-01T10:00:00Z",
        "comment=interview with the source",
    ]
    argv = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *inputs]
    for item in metadata:
        argv += ["-metadata", item]
    if kind in ("mp4", "mov", "m4a"):
        argv += ["-movflags", "use_metadata_tags"]
    argv += ["-shortest", *codecs, str(path)]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return path


def ffprobe_tags(path: Path) -> dict[str, str]:
    """Every container and stream tag ffprobe sees, prefixed by where it was found."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    data = json.loads(out.stdout)
    tags = {f"format:{k}": v for k, v in data["format"].get("tags", {}).items()}
    for stream in data["streams"]:
        tags.update({f"stream{stream['index']}:{k}": v for k, v in stream.get("tags", {}).items()})
    return tags


def exiftool_json(path: Path) -> dict[str, object]:
    exiftool = shutil.which("exiftool") or "/usr/bin/exiftool"
    out = subprocess.run(
        [exiftool, "-j", "-a", "-G1", "-ee", str(path)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    (tags,) = json.loads(out.stdout)
    assert isinstance(tags, dict)
    return tags


def photo_with_exif() -> bytes:
    """A JPEG with GPS, make/model and an XMP author."""
    exif = Image.Exif()
    exif[0x010F] = SECRET_DEVICE
    exif[0x013B] = SECRET_NAME
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[1], gps[2], gps[3], gps[4] = "N", (55.0, 45.0, 21.0), "E", (37.0, 37.0, 4.0)
    xmp = f"<x:xmpmeta xmlns:x='adobe:ns:meta/'>{SECRET_NAME}</x:xmpmeta>".encode()
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 30, 30)).save(
        buffer, "JPEG", exif=exif.tobytes(), xmp=xmp, comment=SECRET_NAME.encode()
    )
    return buffer.getvalue()


def png_with_text() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", SECRET_NAME)
    exif = Image.Exif()
    exif[0x010F] = SECRET_DEVICE
    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (30, 30, 200)).save(buffer, "PNG", pnginfo=info, exif=exif.tobytes())
    return buffer.getvalue()


def _pdf(objects: list[bytes], trailer: bytes) -> bytes:
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n" + trailer + b"\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def make_pdf(*, photo: bytes | None = None, updated: bool = True) -> bytes:
    """A one-page PDF written by hand: /Info Author, XMP, and (optionally) a JPEG image
    carrying its own EXIF; then an incremental update that 'removes' the Author the way
    exiftool does (the old /Info stays in the file)."""
    xmp = (
        "<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?><x:xmpmeta xmlns:x='adobe:ns:meta/'>"
        "<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
        f"xmlns:dc='http://purl.org/dc/elements/1.1/' dc:creator='{SECRET_NAME}'/>"
        "</rdf:RDF></x:xmpmeta><?xpacket end='w'?>"
    ).encode()
    content = b"BT /F1 12 Tf 20 20 Td (Hello) Tj ET" + (
        b" q 24 0 0 16 0 0 cm /Im1 Do Q" if photo else b""
    )
    resources = b"/Font << /F1 5 0 R >>" + (b" /XObject << /Im1 7 0 R >>" if photo else b"")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Metadata 6 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 60] /Contents 4 0 R /Resources << "
        + resources
        + b" >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Metadata /Subtype /XML /Length %d >>\nstream\n" % len(xmp)
        + xmp
        + b"\nendstream",
    ]
    if photo:
        objects.append(
            b"<< /Type /XObject /Subtype /Image /Width 24 /Height 16 /ColorSpace /DeviceRGB "
            b"/BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n"
            % len(photo)
            + photo
            + b"\nendstream"
        )
    info = f"<< /Author ({SECRET_NAME}) /Producer (SECRETWORD 16.0) >>".encode()
    objects.append(info)
    size = len(objects) + 1
    first = _pdf(objects, b"<< /Size %d /Root 1 0 R /Info %d 0 R >>" % (size, len(objects)))
    if not updated:
        return first
    # Incremental update: a new, empty /Info; the old one is still in the bytes.
    start = first.rindex(b"startxref\n") + len(b"startxref\n")
    previous = int(first[start : first.index(b"\n", start)])
    update = bytearray(first)
    offset = len(update)
    update += b"%d 0 obj\n<< >>\nendobj\n" % size
    xref = len(update)
    update += b"xref\n%d 1\n%010d 00000 n \n" % (size, offset)
    update += b"trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R /Prev %d >>\n" % (
        size + 1,
        size,
        previous,
    )
    update += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(update)
