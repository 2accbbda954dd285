"""Images lose every metadata block on the way in (checked with Pillow and with exiftool)."""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from tamizdat.errors import ContentError
from tamizdat.render.images import (
    ImageLimits,
    article_image_output,
    cache_key,
    describe_image_metadata,
    process_image,
    read_cache,
    read_cache_index,
    reencode_image,
    static_image_type,
    write_cache,
    write_cache_index,
)
from tamizdat.render.sniff import sniff_bytes

EXIFTOOL = "/usr/bin/exiftool"

# Values planted in the fixtures; none of them may appear in any output.
PLANTED = [
    b"Canon",
    b"SECRETMODEL",
    b"SERIAL-4242",
    b"XMPAUTHOR",
    b"IPTCBYLINE",
    b"secret comment",
    b"PNGTEXTSECRET",
    b"ITXTSECRET",
    b"Photoshop 3.0",
    b"xmpmeta",
    b"Exif\x00\x00",
]
ALLOWED_GROUPS = {"SourceFile", "ExifTool", "System", "File", "JFIF", "Composite", "PNG"}
PNG_IHDR_TAGS = {
    "ImageWidth",
    "ImageHeight",
    "BitDepth",
    "ColorType",
    "Compression",
    "Filter",
    "Interlace",
}
FILE_TAGS = {
    "FileType",
    "FileTypeExtension",
    "MIMEType",
    "ImageWidth",
    "ImageHeight",
    "EncodingProcess",
    "BitsPerSample",
    "ColorComponents",
    "YCbCrSubSampling",
}


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS SECRETMODEL"
    exif[0x0112] = 6  # rotate 90° clockwise to display
    exif.get_ifd(ExifTags.IFD.Exif)[0xA431] = "SERIAL-4242"  # BodySerialNumber
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[1], gps[2], gps[3], gps[4] = "N", (55.0, 45.0, 21.0), "E", (37.0, 37.0, 4.0)
    return exif


XMP = (
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF "
    b"xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
    b"xmlns:dc='http://purl.org/dc/elements/1.1/' dc:creator='XMPAUTHOR'/></rdf:RDF></x:xmpmeta>"
)


def _iptc_segment() -> bytes:
    """An APP13 Photoshop segment holding IPTC IIM records (By-line, caption)."""
    records = b""
    for dataset, value in ((80, b"IPTCBYLINE"), (120, b"IPTCBYLINE caption")):
        records += bytes([0x1C, 2, dataset]) + struct.pack(">H", len(value)) + value
    if len(records) % 2:
        records += b"\x00"
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(records))
    payload = b"Photoshop 3.0\x00" + resource + records
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def make_jpeg(width: int = 64, height: int = 48) -> bytes:
    """A photo with EXIF (GPS, make/model, serial, orientation), XMP, IPTC, ICC and COM."""
    image = Image.new("RGB", (width, height))
    for x in range(width):
        for y in range(height):
            image.putpixel((x, y), (x * 4 % 256, y * 5 % 256, 120))
    buffer = io.BytesIO()
    image.save(
        buffer,
        "JPEG",
        exif=_exif().tobytes(),
        comment=b"secret comment",
        xmp=XMP,
        icc_profile=_srgb_icc(),
        quality=90,
    )
    data = buffer.getvalue()
    return data[:2] + _iptc_segment() + data[2:]


def make_png(*, transparent: bool = True) -> bytes:
    """An image with tEXt, iTXt and eXIf chunks (and real transparency if asked)."""
    image = Image.new("RGBA", (40, 30), (10, 200, 30, 255))
    if transparent:
        for x in range(20):
            image.putpixel((x, 3), (0, 0, 0, 0))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "PNGTEXTSECRET")
    info.add_itxt("Author", "ITXTSECRET", lang="en", tkey="Author")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", pnginfo=info, exif=_exif().tobytes())
    return buffer.getvalue()


def exiftool(data: bytes) -> dict[str, object]:
    assert shutil.which(EXIFTOOL) or EXIFTOOL, "exiftool is required"
    result = subprocess.run(
        [EXIFTOOL, "-j", "-a", "-G1", "-"], input=data, capture_output=True, check=True
    )
    (tags,) = json.loads(result.stdout)
    assert isinstance(tags, dict)
    return tags


def assert_no_metadata(data: bytes) -> None:
    for planted in PLANTED:
        assert planted not in data, planted
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()
        for key in ("exif", "xmp", "icc_profile", "comment", "photoshop", "XML:com.adobe.xmp"):
            assert key not in image.info, key
        assert not getattr(image, "text", {}), image.text  # type: ignore[attr-defined]
    tags = exiftool(data)
    groups = {name.split(":", 1)[0] for name in tags}
    assert groups <= ALLOWED_GROUPS, groups - ALLOWED_GROUPS
    for name in tags:
        group, _, tag = name.partition(":")
        if group == "PNG":
            assert tag in PNG_IHDR_TAGS, name
        if group == "File":
            assert tag in FILE_TAGS, name
    rendered = json.dumps(tags)
    for planted in PLANTED:
        assert planted.decode("latin-1") not in rendered


def test_exiftool_is_installed() -> None:
    # The metadata proof depends on it: a missing exiftool fails, it never skips.
    assert shutil.which(EXIFTOOL), "install Debian's libimage-exiftool-perl"


def test_fixture_really_carries_every_metadata_block() -> None:
    tags = exiftool(make_jpeg())
    assert tags["IFD0:Make"] == "Canon"
    assert tags["ExifIFD:SerialNumber"] == "SERIAL-4242"
    assert "GPS:GPSLatitude" in tags
    assert tags["XMP-dc:Creator"] == "XMPAUTHOR"
    assert tags["IPTC:By-line"] == "IPTCBYLINE"
    assert tags["File:Comment"] == "secret comment"
    assert any(name.startswith("ICC") for name in tags)
    png_tags = exiftool(make_png())
    assert png_tags["PNG:Comment"] == "PNGTEXTSECRET"
    assert "ITXTSECRET" in json.dumps(png_tags)
    assert png_tags["IFD0:Make"] == "Canon"


def test_jpeg_variants_lose_every_metadata_block() -> None:
    variants = process_image(make_jpeg(), source="media/a.jpg", widths=(16, 32), quality=80)
    assert [info.width for info, _ in variants] == [16, 32]
    for info, data in variants:
        assert info.media_type == "image/jpeg"
        assert data.startswith(b"\xff\xd8")
        assert_no_metadata(data)


def test_exif_orientation_is_applied_before_stripping() -> None:
    ((info, data),) = process_image(make_jpeg(64, 48), source="a.jpg", widths=(2000,), quality=80)
    # Orientation 6 means "rotate 90° clockwise": the stored 64×48 displays as 48×64.
    assert (info.width, info.height) == (48, 64)
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (48, 64)


def test_no_upscaling_widths_collapse_to_the_original() -> None:
    variants = process_image(make_jpeg(64, 48), source="a.jpg", widths=(16, 480, 960), quality=80)
    assert [(i.width, i.height) for i, _ in variants] == [(16, 21), (48, 64)]


def test_progressive_jpeg_at_the_given_quality() -> None:
    low = process_image(make_jpeg(), source="a.jpg", widths=(48,), quality=10)[0][1]
    high = process_image(make_jpeg(), source="a.jpg", widths=(48,), quality=95)[0][1]
    assert len(low) < len(high)
    with Image.open(io.BytesIO(high)) as image:
        assert image.info.get("progressive") or image.info.get("progression")


def test_png_with_transparency_stays_png_without_text_chunks() -> None:
    variants = process_image(make_png(), source="logo.png", widths=(20, 40), quality=80)
    for info, data in variants:
        assert info.media_type == "image/png"
        assert info.ext == "png"
        assert b"tEXt" not in data
        assert b"iTXt" not in data
        assert b"eXIf" not in data
        assert_no_metadata(data)


def test_opaque_png_becomes_jpeg() -> None:
    ((info, data),) = process_image(
        make_png(transparent=False), source="p.png", widths=(40,), quality=80
    )
    assert info.media_type == "image/jpeg"
    assert_no_metadata(data)


def test_encoding_is_deterministic() -> None:
    first = process_image(make_jpeg(), source="a.jpg", widths=(16, 32), quality=70)
    second = process_image(make_jpeg(), source="a.jpg", widths=(16, 32), quality=70)
    assert first == second


@pytest.mark.parametrize(("name", "maker"), [("a.jpg", make_jpeg), ("b.png", make_png)])
def test_static_reencode_keeps_format_and_size(name: str, maker: object) -> None:
    assert callable(maker)
    source = maker()
    as_type = static_image_type(f"static/{name}", sniff_bytes(source))
    info, data = reencode_image(source, source=f"static/{name}", quality=80, as_type=as_type)
    with Image.open(io.BytesIO(source)) as original, Image.open(io.BytesIO(data)) as image:
        assert image.format == original.format
        # Both fixtures carry EXIF orientation 6: the output is the rotated picture.
        expected = (original.size[1], original.size[0])
        assert image.size == expected == (info.width, info.height)
    assert_no_metadata(data)


def test_decompression_bomb_is_refused_naming_the_file() -> None:
    with pytest.raises(ContentError, match="decompression bomb") as caught:
        process_image(
            make_jpeg(),
            source="media/bomb.jpg",
            widths=(16,),
            quality=80,
            limits=ImageLimits(max_pixels=1000),
        )
    assert caught.value.where == "media/bomb.jpg"


def test_pillow_bomb_threshold_is_refused() -> None:
    # A tiny PNG declaring a huge canvas: Pillow's own guard fires before ours could.
    buffer = io.BytesIO()
    Image.new("1", (12_000, 16_000)).save(buffer, "PNG")
    with pytest.raises(ContentError) as caught:
        process_image(buffer.getvalue(), source="huge.png", widths=(16,), quality=80)
    assert caught.value.where == "huge.png"


def test_not_an_image_names_the_file() -> None:
    with pytest.raises(ContentError, match="not a readable image") as caught:
        process_image(b"hello", source="media/x.jpg", widths=(16,), quality=80)
    assert caught.value.where == "media/x.jpg"


def test_heif_cannot_be_reencoded_and_is_refused_naming_the_file() -> None:
    heif = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"
    with pytest.raises(ContentError, match="HEIF image cannot be re-encoded") as caught:
        static_image_type("media/IMG_0001.HEIC", sniff_bytes(heif))
    assert caught.value.where == "media/IMG_0001.HEIC"
    assert "publish_unstripped" in (caught.value.hint or "")


def test_metadata_is_described_for_the_report() -> None:
    removed = describe_image_metadata(make_jpeg())
    assert "device make/model" in removed
    assert "XMP metadata" in removed
    assert describe_image_metadata(b"not an image") == ()


def test_article_image_output_layout() -> None:
    sha = "ab" * 32
    path = article_image_output("media/Фото Москвы.JPG", sha, "news", 2024, 3, 480, "jpg")
    assert path == "media/news/2024/03/foto-moskvy-abababab-480.jpg"


def test_cache_round_trip_and_key_depends_on_settings(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    sha = "cd" * 32
    assert cache_key(sha, (16,), 80) != cache_key(sha, (16,), 81)
    assert cache_key(sha, (16,), 80) != cache_key(sha, None, 80)
    key = cache_key(sha, (16, 32), 80)
    assert read_cache(tmp_path, key) is None
    encoded = process_image(make_jpeg(), source="a.jpg", widths=(16, 32), quality=80)
    stored = write_cache(tmp_path, key, encoded, ("GPS location",))
    again = read_cache(tmp_path, key)
    assert again == stored
    assert stored.removed == ("GPS location",)
    assert [v.file.read_bytes() for v in stored.variants] == [data for _, data in encoded]
    stored.variants[0].file.write_bytes(b"truncated")
    assert read_cache(tmp_path, key) is None


def test_cache_index_stands_for_the_entry_files_and_damage_is_a_miss(tmp_path: Path) -> None:
    key = cache_key("ef" * 32, (16,), 80)
    encoded = process_image(make_jpeg(), source="a.jpg", widths=(16,), quality=80)
    stored = write_cache(tmp_path, key, encoded)
    write_cache_index(tmp_path, {key: stored})
    (tmp_path / f"{key}.json").unlink()  # only the one index file is read now
    index = read_cache_index(tmp_path)
    assert read_cache(tmp_path, key, index) == stored
    assert read_cache(tmp_path, key) is None
    # An index naming a file outside the cache, or a damaged index, is a miss, not an error.
    entry = json.loads(json.dumps(index[key]))
    entry["variants"][0]["file"] = "../" + entry["variants"][0]["file"]
    assert read_cache(tmp_path, key, {key: entry}) is None
    (tmp_path / "index.json").write_bytes(b"\xff{not json")
    assert read_cache_index(tmp_path) == {}
    stored.variants[0].file.write_bytes(b"short")
    assert read_cache(tmp_path, key, index) is None
