"""Generate the sample site's photos, with the metadata a leaked photo would carry.

Run ``python sample/make_images.py`` to (re)write ``sample/media/images/*.jpg``. The output is
deterministic for a given Pillow/libjpeg: the pictures are drawn (gradients and shapes, no
randomness) and every metadata block is planted on purpose so the build's stripping can be
tested: EXIF (GPS latitude/longitude, Make, Model, BodySerialNumber, DateTimeOriginal), an XMP
packet (APP1), an IPTC block inside a Photoshop APP13 segment, and a JPEG comment (COM).
Pillow writes the EXIF; the XMP, IPTC and COM segments are spliced in byte by byte so the
script does not depend on which Pillow version knows which ``save`` keyword.
"""

from __future__ import annotations

import io
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PIL import Image, ImageDraw
from PIL.ExifTags import IFD

OUT_DIR = Path(__file__).resolve().parent / "media" / "images"
SIZE = (1200, 800)
QUALITY = 80

# EXIF tag numbers (CIPA DC-008): IFD0, Exif IFD and GPS IFD.
TAG_MAKE, TAG_MODEL, TAG_DATETIME = 0x010F, 0x0110, 0x0132
TAG_DATETIME_ORIGINAL, TAG_BODY_SERIAL = 0x9003, 0xA431
GPS_VERSION, GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 0x00, 0x01, 0x02, 0x03, 0x04


@dataclass(frozen=True)
class Photo:
    """One generated photo and the (fictional) traces its camera left in it."""

    name: str
    draw: Callable[[ImageDraw.ImageDraw], None]
    latitude: float
    longitude: float
    make: str
    model: str
    serial: str
    taken: str  # EXIF "YYYY:MM:DD HH:MM:SS"
    photographer: str
    city: str
    caption: str


def _gradient(
    draw: ImageDraw.ImageDraw, top: tuple[int, int, int], bottom: tuple[int, ...]
) -> None:
    width, height = SIZE
    for y in range(height):
        t = y / (height - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (width, y)], fill=colour)


def draw_square(draw: ImageDraw.ImageDraw) -> None:
    """A town square at dusk: sky gradient, a row of buildings, a crowd of dots."""
    _gradient(draw, (38, 52, 96), (214, 128, 84))
    for i in range(9):
        x = 40 + i * 128
        top = 330 + (i * 37) % 120
        draw.rectangle([x, top, x + 110, 800], fill=(46 + i * 6, 44 + i * 3, 58))
        for row in range(top + 20, 760, 48):
            for col in range(x + 14, x + 100, 30):
                lit = (row + col + i) % 3 == 0
                draw.rectangle(
                    [col, row, col + 14, row + 22], fill=(250, 214, 120) if lit else (30, 30, 40)
                )
    for i in range(140):
        x = (i * 83) % 1180 + 10
        y = 690 + (i * 29) % 100
        draw.ellipse([x, y, x + 12, y + 12], fill=(20 + i % 40, 20, 28))


def draw_embankment(draw: ImageDraw.ImageDraw) -> None:
    """A river embankment in winter: pale sky, granite wall, dark water with ripples."""
    _gradient(draw, (196, 208, 222), (120, 136, 152))
    draw.rectangle([0, 420, 1200, 520], fill=(118, 112, 108))
    for x in range(0, 1200, 60):
        draw.line([(x, 420), (x, 520)], fill=(90, 86, 84), width=3)
    draw.rectangle([0, 520, 1200, 800], fill=(34, 48, 62))
    for i in range(60):
        y = 540 + (i * 17) % 250
        x = (i * 151) % 1100
        draw.line([(x, y), (x + 90, y)], fill=(88, 110, 130), width=2)
    draw.polygon([(860, 420), (900, 120), (940, 420)], fill=(70, 70, 78))


def draw_press(draw: ImageDraw.ImageDraw) -> None:
    """A back-room printing press: warm wall, a heavy machine, stacks of paper."""
    _gradient(draw, (92, 64, 44), (40, 28, 22))
    draw.rectangle([300, 260, 900, 640], fill=(58, 60, 66), outline=(20, 20, 20), width=6)
    for cx in (420, 600, 780):
        draw.ellipse(
            [cx - 70, 330, cx + 70, 470], fill=(96, 98, 104), outline=(30, 30, 30), width=4
        )
    for i in range(12):
        y = 700 - i * 9
        draw.rectangle([80, y, 260, y + 7], fill=(236, 230, 214) if i % 2 else (222, 216, 200))
        draw.rectangle([940, y, 1120, y + 7], fill=(236, 230, 214) if i % 2 else (222, 216, 200))
    draw.rectangle([0, 740, 1200, 800], fill=(30, 22, 18))


def draw_ferry(draw: ImageDraw.ImageDraw) -> None:
    """A grey northern harbour: low sky, dark water with ice, a small ferry at the pier."""
    _gradient(draw, (168, 182, 196), (210, 214, 220))
    draw.rectangle([0, 470, 1200, 800], fill=(44, 62, 78))
    for i in range(9):
        x = 60 + i * 130
        draw.polygon(
            [(x, 560 + i % 3 * 40), (x + 90, 550 + i % 2 * 30), (x + 60, 600 + i % 3 * 30)],
            fill=(226, 232, 238),
        )
    draw.polygon([(380, 470), (820, 470), (770, 540), (430, 540)], fill=(236, 236, 230))
    draw.rectangle([500, 400, 700, 470], fill=(190, 40, 40))
    draw.rectangle([560, 340, 600, 400], fill=(40, 40, 44))
    draw.rectangle([0, 540, 300, 580], fill=(70, 60, 52))


def draw_court(draw: ImageDraw.ImageDraw) -> None:
    """A courthouse front in winter light: pale stone, six columns, a flag pole, steps."""
    _gradient(draw, (120, 150, 190), (200, 210, 222))
    draw.polygon([(200, 260), (600, 120), (1000, 260)], fill=(214, 206, 190))
    draw.rectangle([200, 260, 1000, 300], fill=(200, 192, 176))
    for i in range(6):
        x = 250 + i * 140
        draw.rectangle(
            [x, 300, x + 60, 640], fill=(232, 226, 212), outline=(170, 162, 148), width=3
        )
    draw.rectangle([200, 640, 1000, 670], fill=(180, 172, 158))
    draw.rectangle([160, 670, 1040, 700], fill=(168, 160, 146))
    draw.rectangle([0, 700, 1200, 800], fill=(226, 230, 234))
    draw.line([(1080, 140), (1080, 700)], fill=(60, 60, 60), width=6)


def draw_bread(draw: ImageDraw.ImageDraw) -> None:
    """A market stall: wooden counter, loaves in rows, a handwritten price board."""
    _gradient(draw, (70, 58, 48), (120, 96, 70))
    draw.rectangle([0, 520, 1200, 800], fill=(140, 98, 58))
    for row in range(3):
        for i in range(7):
            x, y = 120 + i * 140 + row * 30, 330 + row * 70
            draw.ellipse(
                [x, y, x + 120, y + 70], fill=(196, 142, 72), outline=(120, 80, 40), width=3
            )
    draw.rectangle([840, 120, 1100, 280], fill=(34, 40, 36), outline=(160, 120, 80), width=8)
    draw.line([(880, 200), (1060, 200)], fill=(240, 240, 230), width=10)


PHOTOS = (
    Photo(
        "square.jpg",
        draw_square,
        latitude=55.7512,
        longitude=37.6184,
        make="Lumen",
        model="LX-7 Field",
        serial="LX7-0042-1187",
        taken="2026:09:12 19:42:07",
        photographer="Source K.",
        city="Novograd",
        caption="Evening gathering on the central square",
    ),
    Photo(
        "embankment.jpg",
        draw_embankment,
        latitude=59.9386,
        longitude=30.3141,
        make="Orrery",
        model="Pocket 3",
        serial="ORP3-77120954",
        taken="2026:10:03 08:15:44",
        photographer="Volunteer 14",
        city="Severny",
        caption="The embankment where the leaflets were found",
    ),
    Photo(
        "press.jpg",
        draw_press,
        latitude=43.2567,
        longitude=76.9286,
        make="Lumen",
        model="LX-5",
        serial="LX5-0009-3301",
        taken="2026:11:02 22:03:19",
        photographer="Anonymous printer",
        city="Zarechye",
        caption="The press in the basement, photographed the night before the raid",
    ),
    Photo(
        "ferry.jpg",
        draw_ferry,
        latitude=64.5401,
        longitude=40.5433,
        make="Orrery",
        model="Pocket 3",
        serial="ORP3-55010022",
        taken="2026:11:20 14:02:51",
        photographer="Deckhand R.",
        city="Severny",
        caption="The last ferry of the year at the Severny pier",
    ),
    Photo(
        "court.jpg",
        draw_court,
        latitude=55.7558,
        longitude=37.6173,
        make="Lumen",
        model="LX-7 Field",
        serial="LX7-0042-2290",
        taken="2026:10:24 09:12:40",
        photographer="Source K.",
        city="Novograd",
        caption="The regional court building",
    ),
    Photo(
        "bread.jpg",
        draw_bread,
        latitude=55.7601,
        longitude=37.6001,
        make="Lumen",
        model="LX-5",
        serial="LX5-0009-4412",
        taken="2026:11:14 07:40:02",
        photographer="Market vendor",
        city="Novograd",
        caption="Loaves at the Central Market",
    ),
)


def _rational(value: float) -> Fraction:
    return Fraction(value).limit_denominator(10000)


def _dms(degrees: float) -> tuple[Fraction, Fraction, Fraction]:
    """Degrees as EXIF (degrees, minutes, seconds) rationals."""
    value = abs(degrees)
    whole = int(value)
    minutes_float = (value - whole) * 60
    minutes = int(minutes_float)
    seconds = round((minutes_float - minutes) * 60, 2)
    return Fraction(whole), Fraction(minutes), _rational(seconds)


def make_exif(photo: Photo) -> bytes:
    """EXIF with camera, serial, capture time and GPS position: everything that betrays a source."""
    exif = Image.Exif()
    exif[TAG_MAKE] = photo.make
    exif[TAG_MODEL] = photo.model
    exif[TAG_DATETIME] = photo.taken
    details = exif.get_ifd(IFD.Exif)
    details[TAG_DATETIME_ORIGINAL] = photo.taken
    details[TAG_BODY_SERIAL] = photo.serial
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[GPS_VERSION] = b"\x02\x03\x00\x00"
    gps[GPS_LAT_REF] = "N" if photo.latitude >= 0 else "S"
    gps[GPS_LAT] = _dms(photo.latitude)
    gps[GPS_LON_REF] = "E" if photo.longitude >= 0 else "W"
    gps[GPS_LON] = _dms(photo.longitude)
    return exif.tobytes()


def make_xmp(photo: Photo) -> bytes:
    """An APP1 XMP payload (namespace + packet) naming the photographer and place."""
    packet = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"
    photoshop:City="{photo.city}">
   <dc:creator><rdf:Seq><rdf:li>{photo.photographer}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{photo.caption}</rdf:li></rdf:Alt></dc:description>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    return b"http://ns.adobe.com/xap/1.0/\x00" + packet.encode("utf-8")


def _iptc_record(record: int, dataset: int, value: bytes) -> bytes:
    return struct.pack(">BBBH", 0x1C, record, dataset, len(value)) + value


def make_iptc(photo: Photo) -> bytes:
    """An APP13 payload: a Photoshop 3.0 image resource block 0x0404 holding IPTC-IIM."""
    iim = b"".join(
        (
            _iptc_record(1, 90, b"\x1b%G"),  # coded character set: UTF-8
            _iptc_record(2, 0, b"\x00\x04"),  # record version
            _iptc_record(2, 80, photo.photographer.encode()),  # By-line
            _iptc_record(2, 90, photo.city.encode()),  # City
            _iptc_record(2, 120, photo.caption.encode()),  # Caption/Abstract
        )
    )
    if len(iim) % 2:
        iim += b"\x00"
    # 8BIM, resource id, empty Pascal name padded to even length, size, data.
    resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim)) + iim
    return b"Photoshop 3.0\x00" + resource


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise ValueError(f"JPEG segment too long: {len(payload)} bytes")
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def splice_segments(jpeg: bytes, segments: bytes) -> bytes:
    """Insert ``segments`` after SOI and the leading APPn segments (JFIF, EXIF)."""
    if jpeg[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG: no SOI marker")
    pos = 2
    while jpeg[pos] == 0xFF and 0xE0 <= jpeg[pos + 1] <= 0xEF:
        (length,) = struct.unpack(">H", jpeg[pos + 2 : pos + 4])
        pos += 2 + length
    return jpeg[:pos] + segments + jpeg[pos:]


def render_photo(photo: Photo) -> bytes:
    """The finished JPEG bytes of one photo, all metadata planted."""
    image = Image.new("RGB", SIZE)
    photo.draw(ImageDraw.Draw(image))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=QUALITY, exif=make_exif(photo), optimize=True)
    comment = f"Shot by {photo.photographer}, {photo.city}; do not publish unblurred".encode()
    extra = _segment(0xE1, make_xmp(photo)) + _segment(0xED, make_iptc(photo))
    extra += _segment(0xFE, comment)
    return splice_segments(buffer.getvalue(), extra)


def main() -> int:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for photo in PHOTOS:
        data = render_photo(photo)
        target = OUT_DIR / photo.name
        temp = target.with_suffix(".tmp")
        temp.write_bytes(data)
        temp.replace(target)
        print(f"sample/{target.relative_to(OUT_DIR.parent.parent)}: {len(data) // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
