"""File types come from the bytes; the name only earns a warning when it disagrees."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from support.media import AV_RECIPES, make_av, make_pdf
from tamizdat.render.sniff import SNIFF_BYTES, name_matches, sniff_bytes, sniff_file


def _image(fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("JPEG", "JPEG"),
        ("PNG", "PNG"),
        ("GIF", "GIF"),
        ("WEBP", "WebP"),
        ("TIFF", "TIFF"),
        ("BMP", "BMP"),
        ("ICO", "ICO"),
        ("AVIF", "AVIF"),
    ],
)
def test_images_are_known_by_their_bytes(fmt: str, expected: str) -> None:
    found = sniff_bytes(_image(fmt))
    assert (found.name, found.family) == (expected, "image")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("mp4", "MP4 video"),
        ("mov", "QuickTime video"),
        ("m4a", "M4A audio"),
        ("mp3", "MP3 audio"),
        ("webm", "WebM"),
        ("ogg", "Ogg"),
        ("wav", "WAV audio"),
        ("flac", "FLAC audio"),
    ],
)
def test_audio_and_video_are_known_by_their_bytes(kind: str, expected: str, tmp_path: Path) -> None:
    assert kind in AV_RECIPES
    path = make_av(kind, tmp_path / "no-extension")
    found = sniff_file(path)
    assert found.name == expected
    assert found.demuxer
    assert found.muxer


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (make_pdf(), "PDF"),
        (b"junk before the header %PDF-1.7\n", "PDF"),  # readers accept it: so do we
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIF"),
        (b"\xff\xf1\x50\x80\x02\x1f\xfc", "AAC audio"),
        (b"\xff\xfb\x90\x64" + b"\x00" * 40, "MP3 audio"),
        (b"PK\x03\x04\x14\x00", "ZIP archive (or Office/EPUB document)"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "legacy Office document"),
        (b"{\\rtf1\\ansi {\\info {\\author Jane}}}", "RTF document"),
        (b"\x1f\x8b\x08\x00", "compressed archive"),
        (b"wOF2\x00\x01", "font"),
        (b"body { color: red }\n", "text"),
        ("<svg>Привет</svg>".encode(), "text"),
        (b"", "text"),
        (b"\x00\x01\x02\x03binary", "unknown binary data"),
        (b"\xff\xd8 not a JPEG marker", "unknown binary data"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "unknown binary data"),
    ],
)
def test_signatures(head: bytes, expected: str) -> None:
    assert sniff_bytes(head).name == expected


def test_text_cut_inside_a_character_is_still_text(tmp_path: Path) -> None:
    path = tmp_path / "long.css"
    path.write_bytes(b"a" * (SNIFF_BYTES - 1) + "ж".encode() * 10)
    assert sniff_file(path).name == "text"


@pytest.mark.parametrize(
    ("name", "fmt", "matches"),
    [
        ("a.jfif", "JPEG", True),
        ("a.JPE", "JPEG", True),
        ("a.png", "JPEG", False),
        ("a.bin", "JPEG", False),
        ("a", "JPEG", False),
        ("a.jpg", "PNG", False),
    ],
)
def test_name_mismatch(name: str, fmt: str, matches: bool) -> None:
    assert name_matches(name, sniff_bytes(_image(fmt))) is matches
