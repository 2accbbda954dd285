"""Metadata removed without re-encoding: every hiding place of each format, as a class.

Each case plants ``SECRET`` somewhere a camera, an editor or a careless tool can put it —
standard and non-standard segments, between the scans of a progressive JPEG, after the end
of the image, in a JFIF thumbnail, in an MPF second picture with its own EXIF, in PNG
chunks after IDAT, inside chunks whose length is wrong. Either the lossless rewrite removes
it (and the pixels are exactly the original's), or the file is refused by the strict parser
and re-encoded from its pixels; in both cases no planted byte and no metadata tag is left
in what the build publishes (checked on the bytes and with exiftool).
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import zlib
from collections.abc import Callable

import pytest
from PIL import ExifTags, Image, ImageCms

from tamizdat.errors import ContentError
from tamizdat.render import sniff
from tamizdat.render.images import ImageLimits, process_image, reencode_image
from tamizdat.render.lossless import strip_lossless

SECRET = b"SECRET-SOURCE-NAME"
MAX = 10**8
XMP = (
    b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/"
    b"22-rdf-syntax-ns#'><rdf:Description xmlns:dc='http://purl.org/dc/elements/1.1/' "
    b"dc:creator='" + SECRET + b"'/></rdf:RDF></x:xmpmeta>"
)


# exiftool groups that describe the file's structure, not who made it.
STRUCTURE_GROUPS = {"SourceFile", "ExifTool", "System", "File", "JFIF", "Composite", "PNG"}
STRUCTURE_GROUPS |= {"RIFF"}
PNG_HEADER_TAGS = {"ImageWidth", "ImageHeight", "BitDepth", "ColorType", "Compression"}
PNG_HEADER_TAGS |= {"Filter", "Interlace"}


def exiftool(data: bytes) -> dict[str, object]:
    done = subprocess.run(
        ["/usr/bin/exiftool", "-j", "-a", "-G1", "-"], input=data, capture_output=True, check=True
    )
    (tags,) = json.loads(done.stdout)
    assert isinstance(tags, dict)
    return tags


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = "EOS SECRETMODEL"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[1], gps[2], gps[3], gps[4] = "N", (55.0, 45.0, 21.0), "E", (37.0, 37.0, 4.0)
    return exif


def _srgb_icc() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _picture(mode: str = "RGB", size: tuple[int, int] = (64, 40)) -> Image.Image:
    image = Image.new(mode, size)
    for x in range(size[0]):
        for y in range(size[1]):
            value = (x * 4 % 256, y * 6 % 256, (x + y) % 256, 200 if x > 3 else 0)
            image.putpixel((x, y), value[: len(mode)] if len(mode) > 1 else value[0])
    return image


def _jpeg(progressive: bool = False, **options: object) -> bytes:
    buffer = io.BytesIO()
    _picture().save(buffer, "JPEG", quality=85, progressive=progressive, **options)
    return buffer.getvalue()


def _segment(marker: int, body: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body


def _gps_exif(orientation: int = 1) -> bytes:
    exif = _exif()
    exif[0x0112] = orientation
    exif[0x013B] = SECRET.decode()  # Artist
    return b"Exif\x00\x00" + exif.tobytes()


def _after_soi(data: bytes, *segments: bytes) -> bytes:
    return data[:2] + b"".join(segments) + data[2:]


def _before_eoi(data: bytes, insert: bytes) -> bytes:
    assert data.endswith(b"\xff\xd9")
    return data[:-2] + insert + data[-2:]


def _between_scans(data: bytes, insert: bytes) -> bytes:
    """``insert`` just before the second SOS of a progressive JPEG."""
    first = data.index(b"\xff\xda")
    second = data.index(b"\xff\xda", first + 2)
    # The segment before the second scan is a DHT in Pillow's progressive output: put ours
    # before whatever marker precedes that scan (a marker boundary either way).
    boundary = (
        data.rindex(b"\xff\xc4", first, second) if b"\xff\xc4" in data[first:second] else second
    )
    return data[:boundary] + insert + data[boundary:]


def _mpf_pair() -> bytes:
    """An MPO file (as phones write): a second full JPEG after the first, with its own EXIF."""
    buffer = io.BytesIO()
    _picture().save(buffer, "MPO", save_all=True, append_images=[_picture()], quality=85)
    data = buffer.getvalue()
    second = data.index(b"\xff\xd8\xff", 2)
    assert b"MPF\x00" in data[:second]
    # The second picture's EXIF, planted where a camera writes it (right after its SOI).
    return data[: second + 2] + _segment(0xE1, _gps_exif()) + data[second + 2 :]


def _jfif_with_thumbnail() -> bytes:
    data = _jpeg()
    assert data[2:4] == b"\xff\xe0"
    (length,) = struct.unpack(">H", data[4:6])
    thumb = SECRET[:12].ljust(12, b"x")  # a 2×2 RGB thumbnail holding the secret
    body = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01" + b"\x02\x02" + thumb
    return data[:2] + _segment(0xE0, body) + data[4 + length :]


# Hiding places the lossless rewrite must empty (and keep the pixels exactly).
JPEG_STRIPPED: dict[str, Callable[[], bytes]] = {
    "exif-gps-app1": lambda: _after_soi(_jpeg(), _segment(0xE1, _gps_exif())),
    "xmp-standard": lambda: _after_soi(
        _jpeg(), _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + XMP)
    ),
    "xmp-nonstandard-signature": lambda: _after_soi(_jpeg(), _segment(0xE1, b"XMP\x00" + XMP)),
    "xmp-in-app11": lambda: _after_soi(_jpeg(), _segment(0xEB, XMP)),
    "comment": lambda: _after_soi(_jpeg(), _segment(0xFE, SECRET)),
    "iptc-app13": lambda: _after_soi(
        _jpeg(), _segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00" + SECRET)
    ),
    "app15-unknown": lambda: _after_soi(_jpeg(), _segment(0xEF, SECRET)),
    "comment-before-eoi": lambda: _before_eoi(_jpeg(), _segment(0xFE, SECRET)),
    "exif-between-progressive-scans": lambda: _between_scans(
        _jpeg(progressive=True), _segment(0xE1, _gps_exif())
    ),
    "comment-between-progressive-scans": lambda: _between_scans(
        _jpeg(progressive=True), _segment(0xFE, SECRET)
    ),
    "trailing-bytes-after-eoi": lambda: _jpeg() + SECRET,
    "mpf-second-jpeg-with-exif": _mpf_pair,
    "jfif-thumbnail": _jfif_with_thumbnail,
    "jfxx-thumbnail": lambda: _after_soi(_jpeg(), _segment(0xE0, b"JFXX\x00\x13" + SECRET)),
    "second-jfif": lambda: _after_soi(
        _jpeg(), _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + SECRET)
    ),
    "adobe-app14-too-long": lambda: _after_soi(
        _jpeg(), _segment(0xEE, b"Adobe\x00\x64\x00\x00\x00\x00\x01" + SECRET)
    ),
    "fill-bytes-before-markers": lambda: _after_soi(
        _jpeg(), b"\xff\xff" + _segment(0xFE, SECRET)
    ).replace(b"\xff\xdb", b"\xff\xff\xff\xdb", 1),
}


def _dqt_with_tail(data: bytes) -> bytes:
    index = data.index(b"\xff\xdb")
    (length,) = struct.unpack(">H", data[index + 2 : index + 4])
    body = data[index + 4 : index + 2 + length] + SECRET
    return data[:index] + _segment(0xDB, body) + data[index + 2 + length :]


def _dht_with_tail(data: bytes) -> bytes:
    index = data.index(b"\xff\xc4")
    (length,) = struct.unpack(">H", data[index + 2 : index + 4])
    body = data[index + 4 : index + 2 + length] + SECRET
    return data[:index] + _segment(0xC4, body) + data[index + 2 + length :]


# Forms the strict parser refuses: the picture is re-encoded from its pixels instead.
JPEG_REFUSED: dict[str, Callable[[], bytes]] = {
    "secret-after-quantisation-tables": lambda: _after_soi(_dqt_with_tail(_jpeg())),
    "secret-after-huffman-tables": lambda: _after_soi(_dht_with_tail(_jpeg())),
    "bytes-between-segments": lambda: _after_soi(_jpeg(), SECRET),
    "unknown-marker-jpg0": lambda: _after_soi(_jpeg(), _segment(0xF0, SECRET)),
    "icc-profile": lambda: _jpeg(icc_profile=_srgb_icc()),
    "exif-orientation-6": lambda: _after_soi(_jpeg(), _segment(0xE1, _gps_exif(6))),
    "truncated-no-eoi": lambda: _after_soi(_jpeg(), _segment(0xFE, SECRET))[:-2],
}


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(**options: object) -> bytes:
    buffer = io.BytesIO()
    first = _picture("RGBA")
    if options.get("save_all"):
        first = first.transpose(Image.Transpose.FLIP_LEFT_RIGHT)  # frames must differ
    first.save(buffer, "PNG", **options)
    return buffer.getvalue()


def _png_insert(data: bytes, chunk: bytes, *, after_idat: bool = False) -> bytes:
    index = data.index(b"IEND") - 4 if after_idat else data.index(b"IDAT") - 4
    return data[:index] + chunk + data[index:]


def _idat_with_tail(data: bytes) -> bytes:
    index = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[index : index + 4])
    body = data[index + 8 : index + 8 + length] + SECRET
    return data[:index] + _png_chunk(b"IDAT", body) + data[index + 12 + length :]


def _exif_chunk(orientation: int = 1) -> bytes:
    return _png_chunk(b"eXIf", _gps_exif(orientation)[6:])


PNG_STRIPPED: dict[str, Callable[[], bytes]] = {
    "text-before-idat": lambda: _png_insert(_png(), _png_chunk(b"tEXt", b"Author\x00" + SECRET)),
    "ztxt": lambda: _png_insert(
        _png(), _png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(SECRET))
    ),
    "itxt-xmp": lambda: _png_insert(
        _png(), _png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP)
    ),
    "text-after-idat": lambda: _png_insert(
        _png(), _png_chunk(b"tEXt", b"Author\x00" + SECRET), after_idat=True
    ),
    "exif-after-idat": lambda: _png_insert(_png(), _exif_chunk(), after_idat=True),
    "time": lambda: _png_insert(_png(), _png_chunk(b"tIME", b"\x07\xe8\x01\x02\x03\x04\x05")),
    "private-chunk": lambda: _png_insert(_png(), _png_chunk(b"prVt", SECRET)),
    "trailing-bytes-after-iend": lambda: _png() + SECRET,
    "chunk-after-iend": lambda: _png() + _png_chunk(b"tEXt", b"Author\x00" + SECRET),
}

PNG_REFUSED: dict[str, Callable[[], bytes]] = {
    "bad-crc": lambda: _png_insert(_png(), _png_chunk(b"tEXt", SECRET)[:-1] + b"\x00"),
    "data-after-zlib-stream": lambda: _idat_with_tail(_png()),
    "gama-of-wrong-length": lambda: _png_insert(_png(), _png_chunk(b"gAMA", SECRET)),
    "icc-profile": lambda: _png(icc_profile=_srgb_icc()),
    "animation": lambda: _png(save_all=True, append_images=[_picture("RGBA", (64, 40))]),
    "unknown-critical-chunk": lambda: _png_insert(_png(), _png_chunk(b"SECR", SECRET)),
    "exif-orientation-6": lambda: _png_insert(_png(), _exif_chunk(6), after_idat=True),
}


def _webp(**options: object) -> bytes:
    buffer = io.BytesIO()
    _picture().save(buffer, "WEBP", quality=80, **options)
    return buffer.getvalue()


def _riff_append(data: bytes, chunk: bytes) -> bytes:
    payload = data[8:] + chunk
    return b"RIFF" + struct.pack("<I", len(payload)) + payload


WEBP_STRIPPED: dict[str, Callable[[], bytes]] = {
    "exif-and-xmp": lambda: _webp(exif=_gps_exif()[6:], xmp=XMP),
    "unknown-chunk-after-bitstream": lambda: _riff_append(
        _webp(), b"SECR" + struct.pack("<I", len(SECRET)) + SECRET
    ),
    "trailing-bytes-after-riff": lambda: _webp() + SECRET,
}

WEBP_REFUSED: dict[str, Callable[[], bytes]] = {
    "icc-profile": lambda: _webp(icc_profile=_srgb_icc()),
}

KINDS = {"JPEG": sniff.JPEG, "PNG": sniff.PNG, "WEBP": sniff.WEBP}
STRIPPED = [("JPEG", k, v) for k, v in JPEG_STRIPPED.items()]
STRIPPED += [("PNG", k, v) for k, v in PNG_STRIPPED.items()]
STRIPPED += [("WEBP", k, v) for k, v in WEBP_STRIPPED.items()]
REFUSED = [("JPEG", k, v) for k, v in JPEG_REFUSED.items()]
REFUSED += [("PNG", k, v) for k, v in PNG_REFUSED.items()]
REFUSED += [("WEBP", k, v) for k, v in WEBP_REFUSED.items()]


def _pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        return image.convert("RGBA").tobytes()


def _assert_clean(data: bytes) -> None:
    for planted in (SECRET, b"xmpmeta", b"Canon", b"SECRETMODEL", b"Exif\x00", b"MPF\x00"):
        assert planted not in data, planted
    with Image.open(io.BytesIO(data)) as image:
        assert not image.getexif()
        assert not {"exif", "xmp", "icc_profile", "comment", "photoshop"} & set(image.info)
    tags = exiftool(data)
    groups = {name.split(":", 1)[0] for name in tags}
    assert groups <= STRUCTURE_GROUPS, groups - STRUCTURE_GROUPS
    for name in tags:
        group, _, tag = name.partition(":")
        assert group != "PNG" or tag in PNG_HEADER_TAGS, name
        assert group == "System" or ("Comment" not in tag and "Date" not in tag), name
    rendered = json.dumps(tags)
    assert "GPS" not in rendered
    assert SECRET.decode() not in rendered


@pytest.mark.parametrize(("kind", "case", "make"), STRIPPED, ids=[c for _k, c, _m in STRIPPED])
def test_hidden_metadata_is_removed_without_reencoding(
    kind: str, case: str, make: Callable[[], bytes]
) -> None:
    data = make()
    planted = (
        SECRET[:12] in data
        or any(
            name.split(":", 1)[0] not in STRUCTURE_GROUPS or name.startswith("PNG:ModifyDate")
            for name in exiftool(data)
        )
        or b"zTXt" in data
    )
    assert planted, case
    kept = strip_lossless(data, kind, max_pixels=MAX)
    assert kept is not None, case
    assert kept.removed, case
    _assert_clean(kept.data)
    assert _pixels(kept.data) == _pixels(data)  # lossless: not one pixel changed
    assert strip_lossless(kept.data, kind, max_pixels=MAX) == type(kept)(
        kept.data, kept.width, kept.height, ()
    )
    # The build's entry point for static images publishes exactly these bytes.
    info, published = reencode_image(
        data, source=f"s/a.{kind.lower()}", quality=80, as_type=KINDS[kind]
    )
    assert published == kept.data
    assert (info.width, info.height) == (kept.width, kept.height)


@pytest.mark.parametrize(("kind", "case", "make"), REFUSED, ids=[c for _k, c, _m in REFUSED])
def test_forms_outside_the_strict_subset_are_reencoded_instead(
    kind: str, case: str, make: Callable[[], bytes]
) -> None:
    data = make()
    assert strip_lossless(data, kind, max_pixels=MAX) is None, case
    source = f"s/a.{kind.lower()}"
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except (OSError, SyntaxError):  # what Pillow cannot decode either is refused, named
        with pytest.raises(ContentError) as caught:
            reencode_image(data, source=source, quality=80, as_type=KINDS[kind])
        assert caught.value.where == source
        return
    _info, published = reencode_image(data, source=source, quality=80, as_type=KINDS[kind])
    _assert_clean(published)


def test_planted_report_names_what_only_a_strict_parse_sees() -> None:
    kept = strip_lossless(_mpf_pair() + SECRET, "JPEG", max_pixels=MAX)
    assert kept is not None
    assert "embedded images (MPF)" in kept.removed
    assert "data after the end of the image" in kept.removed


def test_article_image_keeps_its_original_width_without_reencoding() -> None:
    data = JPEG_STRIPPED["exif-gps-app1"]()
    kept = strip_lossless(data, "JPEG", max_pixels=MAX)
    assert kept is not None
    variants = process_image(data, source="a.jpg", widths=(16, 32, 2000), quality=80)
    assert [info.width for info, _ in variants] == [16, 32, 64]
    assert variants[-1][1] == kept.data
    for _info, published in variants:
        _assert_clean(published)


@pytest.mark.parametrize(
    ("widths", "expected"),
    [((16, 32), [16, 32]), ((16, 64), [16, 64]), ((16, 65), [16, 64]), ((), [64])],
)
def test_kept_size_is_published_only_when_a_width_asks_for_it(
    widths: tuple[int, ...], expected: list[int]
) -> None:
    data = _jpeg()  # 64 px wide, no metadata: the lossless path
    variants = process_image(data, source="a.jpg", widths=widths, quality=80)
    assert [info.width for info, _ in variants] == expected
    kept = strip_lossless(data, "JPEG", max_pixels=MAX)
    assert kept is not None
    assert (variants[-1][1] == kept.data) is (expected[-1] == 64)


def test_heavy_jpeg_is_reencoded_not_copied() -> None:
    data = _jpeg()
    light = process_image(data, source="a.jpg", widths=(2000,), quality=80)
    heavy = process_image(
        data,
        source="a.jpg",
        widths=(2000,),
        quality=80,
        limits=ImageLimits(lossless_max_bytes_per_pixel=0.01),
    )
    assert light[0][1] == strip_lossless(data, "JPEG", max_pixels=MAX).data  # type: ignore[union-attr]
    assert heavy[0][1] != light[0][1]
    assert heavy[0][1].startswith(b"\xff\xd8")


def test_pixel_limit_applies_to_the_lossless_path() -> None:
    assert strip_lossless(_jpeg(), "JPEG", max_pixels=100) is None
    assert strip_lossless(_png(), "PNG", max_pixels=100) is None
