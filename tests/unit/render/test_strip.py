"""Audio, video and PDF lose their metadata by content, deterministically, or are refused.

Fixtures are made here (ffmpeg ``-f lavfi``, a PDF written by hand); the proof that nothing
is left comes from tools that are not the stripper: ffprobe, exiftool and the raw bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest

from support.media import (
    AV_RECIPES,
    SECRET_DEVICE,
    SECRET_NAME,
    SECRET_PLACE,
    exiftool_json,
    ffprobe_tags,
    make_av,
    make_pdf,
    photo_with_exif,
)
from tamizdat.errors import ContentError
from tamizdat.render.sniff import sniff_file
from tamizdat.render.strip import StripLimits, strip_file
from tamizdat.render.strip_pdf import strip_jpeg_metadata

BENIGN = {"major_brand", "minor_version", "compatible_brands", "language", "handler_name"}
BENIGN |= {"vendor_id", "DURATION"}
SECRETS = (SECRET_PLACE, SECRET_NAME, SECRET_DEVICE, "interview with the source", "2024:03:01")


def _assert_clean(path: Path) -> None:
    data = path.read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in data, secret
    rendered = str(exiftool_json(path))
    for secret in SECRETS:
        assert secret not in rendered, secret


@pytest.mark.parametrize("kind", sorted(AV_RECIPES))
def test_audio_and_video_lose_every_tag(kind: str, tmp_path: Path) -> None:
    original = make_av(kind, tmp_path / f"in.{kind}")
    assert SECRET_NAME in str(ffprobe_tags(original).values()), "fixture lacks its metadata"
    out = tmp_path / "out" / f"clean.{kind}"
    removed = strip_file(original, out, sniff_file(original), source=f"media/in.{kind}")
    tags = ffprobe_tags(out)
    left = {key for key in tags if key.split(":", 1)[1] not in BENIGN}
    assert not left - {"format:encoder"}
    assert tags.get("format:encoder", "Lavf") == "Lavf"  # Matroska's muxer name, no version
    _assert_clean(out)
    assert "author names" in removed
    assert not list(out.parent.glob(".*"))  # no temporary file left behind


@pytest.mark.parametrize("kind", ["mp4", "mov", "m4a", "mp3", "flac"])
def test_gps_location_is_reported(kind: str, tmp_path: Path) -> None:
    original = make_av(kind, tmp_path / f"in.{kind}")
    removed = strip_file(original, tmp_path / "o", sniff_file(original), source="x")
    assert removed[0] == "GPS location"


@pytest.mark.parametrize("kind", sorted(AV_RECIPES))
def test_stripping_is_deterministic(kind: str, tmp_path: Path) -> None:
    original = make_av(kind, tmp_path / f"in.{kind}")
    found = sniff_file(original)
    strip_file(original, tmp_path / "a", found, source="x")
    strip_file(original, tmp_path / "b", found, source="x")
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()


def test_unreadable_media_is_refused_naming_the_file(tmp_path: Path) -> None:
    original = make_av("mp4", tmp_path / "in.mp4")
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(original.read_bytes()[:40])
    with pytest.raises(ContentError) as caught:
        strip_file(broken, tmp_path / "o", sniff_file(broken), source="media/broken.mp4")
    assert caught.value.where == "media/broken.mp4"
    assert "publish_unstripped" in (caught.value.hint or "")
    assert not (tmp_path / "o").exists()


def test_oversized_media_is_refused(tmp_path: Path) -> None:
    original = make_av("wav", tmp_path / "in.wav")
    with pytest.raises(ContentError, match="more than the 100 tamizdat strips"):
        strip_file(original, tmp_path / "o", sniff_file(original), source="x",
                   limits=StripLimits(max_bytes=100))  # fmt: skip


def test_missing_ffmpeg_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = make_av("mp3", tmp_path / "in.mp3")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ContentError, match="needs ffprobe") as caught:
        strip_file(original, tmp_path / "o", sniff_file(original), source="media/in.mp3")
    assert "Debian package 'ffmpeg'" in (caught.value.hint or "")


def test_pdf_loses_info_xmp_earlier_revisions_and_image_exif(tmp_path: Path) -> None:
    original = tmp_path / "report.pdf"
    original.write_bytes(make_pdf(photo=photo_with_exif()))
    assert SECRET_NAME.encode() in original.read_bytes()
    out = tmp_path / "clean.pdf"
    removed = strip_file(original, out, sniff_file(original), source="static/report.pdf")
    _assert_clean(out)
    tags = exiftool_json(out)
    assert not [k for k in tags if k.startswith(("XMP", "GPS", "IFD0", "ExifIFD"))], tags
    with pikepdf.open(out) as pdf:
        assert "/Info" not in pdf.trailer
        assert "/Metadata" not in pdf.Root
        assert len(pdf.pages) == 1
        image = pdf.get_object(pdf.pages[0].Resources.XObject.Im1.objgen)
        assert image.read_raw_bytes().startswith(b"\xff\xd8")
    # The current /Info is the empty one of the update; the Author lives in revision 1.
    assert "XMP metadata" in removed
    assert "image EXIF/XMP" in removed
    assert "1 earlier revision" in removed


def test_pdf_info_fields_are_reported(tmp_path: Path) -> None:
    original = tmp_path / "report.pdf"
    original.write_bytes(make_pdf(updated=False))
    removed = strip_file(original, tmp_path / "o.pdf", sniff_file(original), source="x")
    assert removed == ("author", "software", "XMP metadata")
    _assert_clean(tmp_path / "o.pdf")


def _with_attachment() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.attachments["notes.docx"] = pikepdf.AttachedFileSpec(pdf, b"source notes")
    buffer = io.BytesIO()
    pdf.save(buffer)
    return buffer.getvalue()


def test_pdf_stripping_is_deterministic(tmp_path: Path) -> None:
    original = tmp_path / "report.pdf"
    original.write_bytes(make_pdf(photo=photo_with_exif()))
    strip_file(original, tmp_path / "a.pdf", sniff_file(original), source="x")
    strip_file(original, tmp_path / "b.pdf", sniff_file(original), source="x")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"%PDF-1.4\nnot really", "not a readable PDF"),
        (_with_attachment(), "attached files"),
    ],
)  # fmt: skip
def test_uninspectable_pdf_is_refused(tmp_path: Path, data: bytes, message: str) -> None:
    original = tmp_path / "x.pdf"
    original.write_bytes(data)
    with pytest.raises(ContentError, match=message) as caught:
        strip_file(original, tmp_path / "o.pdf", sniff_file(original), source="static/x.pdf")
    assert caught.value.where == "static/x.pdf"
    assert not (tmp_path / "o.pdf").exists()


def test_jpeg_segment_stripper_keeps_the_picture_and_drops_trailers() -> None:
    photo = photo_with_exif()
    cleaned = strip_jpeg_metadata(photo + b"TRAILING-SECRET")
    assert SECRET_NAME.encode() not in cleaned
    assert b"TRAILING-SECRET" not in cleaned
    assert cleaned.endswith(b"\xff\xd9")
    scan = photo.index(b"\xff\xda")
    assert photo[scan:] in cleaned  # the compressed picture, bit for bit
    with pytest.raises(ValueError, match="no JPEG start marker"):
        strip_jpeg_metadata(b"GIF89a")
