"""Metadata hidden where a lossless rewrite could miss it never reaches public/.

The build removes image metadata without re-encoding when it can (see
:mod:`tamizdat.render.lossless`). The attacker — a phone, an editor, a careless export — puts
the photographer's name and position where a by-the-name stripper does not look: a second
picture with its own EXIF after the first (MPF, as phones write), bytes after the end of the
image, XMP under a non-standard signature or in an unusual APPn, a comment between the scans
of a progressive JPEG, a PNG eXIf chunk after the image data, WebP EXIF/XMP chunks. Each is
published both as a static file no article shows (kept at its size) and as an article's
picture (resized widths plus the kept size); no published byte carries the secret, and
exiftool finds no position.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from support.media import SECRET_DEVICE, SECRET_NAME, exiftool_json
from tamizdat.cli import main


def _exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = SECRET_DEVICE
    exif[0x013B] = SECRET_NAME
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[1], gps[2], gps[3], gps[4] = "N", (55.0, 45.0, 21.0), "E", (37.0, 37.0, 4.0)
    return exif.tobytes()


def _picture() -> Image.Image:
    image = Image.new("RGB", (96, 64))
    for x in range(96):
        for y in range(64):
            image.putpixel((x, y), (x * 2, y * 3, (x + y) % 256))
    return image


def _jpeg(**options: object) -> bytes:
    buffer = io.BytesIO()
    _picture().save(buffer, "JPEG", quality=85, **options)
    return buffer.getvalue()


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def _mpf_with_exif_in_second() -> bytes:
    buffer = io.BytesIO()
    _picture().save(buffer, "MPO", save_all=True, append_images=[_picture()], quality=85)
    data = buffer.getvalue()
    second = data.index(b"\xff\xd8\xff", 2)
    return data[: second + 2] + _segment(0xE1, b"Exif\x00\x00" + _exif()) + data[second + 2 :]


def _progressive_with_comment_between_scans() -> bytes:
    data = _jpeg(progressive=True)
    first = data.index(b"\xff\xda")
    boundary = data.index(b"\xff\xc4", first)
    return data[:boundary] + _segment(0xFE, SECRET_NAME.encode()) + data[boundary:]


def _png_exif_after_idat() -> bytes:
    buffer = io.BytesIO()
    _picture().save(buffer, "PNG")
    data = buffer.getvalue()
    body = _exif()
    chunk = struct.pack(">I", len(body)) + b"eXIf" + body
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + body))
    end = data.index(b"IEND") - 4
    return data[:end] + chunk + data[end:] + SECRET_NAME.encode()


def _webp_with_exif() -> bytes:
    buffer = io.BytesIO()
    xmp = f"<x:xmpmeta xmlns:x='adobe:ns:meta/'>{SECRET_NAME}</x:xmpmeta>".encode()
    _picture().save(buffer, "WEBP", quality=80, exif=_exif(), xmp=xmp)
    return buffer.getvalue()


XMP = f"<x:xmpmeta xmlns:x='adobe:ns:meta/'><dc:creator>{SECRET_NAME}</dc:creator></x:xmpmeta>"
CASES: dict[str, tuple[str, Callable[[], bytes]]] = {
    "mpf-second-picture-exif": ("jpg", _mpf_with_exif_in_second),
    "trailing-after-eoi": ("jpg", lambda: _jpeg(exif=_exif()) + SECRET_NAME.encode()),
    "xmp-nonstandard-signature": (
        "jpg",
        lambda: _jpeg()[:2] + _segment(0xE1, b"XMP\x00" + XMP.encode()) + _jpeg()[2:],
    ),
    "xmp-in-app11": ("jpg", lambda: _jpeg()[:2] + _segment(0xEB, XMP.encode()) + _jpeg()[2:]),
    "comment-between-scans": ("jpg", _progressive_with_comment_between_scans),
    "png-exif-after-idat": ("png", _png_exif_after_idat),
    "webp-exif-and-xmp": ("webp", _webp_with_exif),
}


@pytest.fixture(scope="module")
def empty_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hidden") / "site"
    assert main(["-q", "init", str(root), "--title", "Hidden metadata"]) == 0
    return root


def _assert_clean(path: Path) -> None:
    data = path.read_bytes()
    for secret in (SECRET_NAME, SECRET_DEVICE):
        assert secret.encode() not in data, (path, secret)
    rendered = json.dumps(exiftool_json(path))
    assert "GPS" not in rendered, path
    assert SECRET_NAME not in rendered, path
    assert SECRET_DEVICE not in rendered, path


@pytest.mark.parametrize("case", sorted(CASES))
def test_hidden_metadata_never_reaches_public(
    empty_site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    site = tmp_path / "site"
    shutil.copytree(empty_site, site, symlinks=True)
    ext, make = CASES[case]
    data = make()
    assert SECRET_NAME.encode() in data or SECRET_DEVICE.encode() in data
    (site / "static").mkdir(exist_ok=True)
    (site / "static" / f"kept.{ext}").write_bytes(data)
    (site / "static" / f"shown.{ext}").write_bytes(data)
    (site / "content" / "story.md").write_text(
        "---\ntitle: Story\ndate: 2024-03-01T10:00:00Z\nauthor: editors\n"
        f"image: /shown.{ext}\n---\n\nText.\n",
        "utf-8",
    )
    capsys.readouterr()
    assert main(["-C", str(site), "-q", "--json", "build"]) == 0
    report = json.loads(capsys.readouterr().out)
    published = [site / "public" / f"kept.{ext}", *(site / "public" / "media").rglob("shown-*")]
    assert len(published) >= 2
    for path in published:
        _assert_clean(path)
    noted = {n["file"] for n in report["metadata_removed"]}
    assert {f"static/kept.{ext}", f"static/shown.{ext}"} <= noted
