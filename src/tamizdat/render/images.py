"""Clean images so that no metadata reaches readers, and decide where they go.

Invariant: every image byte in the output comes out of :func:`process_image` or
:func:`reencode_image`, which either rebuild the picture from its pixels alone or, when the
picture keeps its size and type, copy only its picture-drawing structures after a strict
parse (:mod:`tamizdat.render.lossless`: no re-encoding, no quality lost, a fraction of the
time). Either way EXIF (GPS, camera serial), XMP, IPTC, ICC profiles (after converting to
sRGB), comments, thumbnails and PNG text chunks are never carried over, whatever the source
format stored them in. Encoding is deterministic: the same bytes and settings give the same
output bytes, so a processed variant can be cached by the source's SHA-256 and never
processed again.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, cast

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from PIL import __version__ as pillow_version

from tamizdat.content.slugs import slugify
from tamizdat.errors import ContentError
from tamizdat.files import write_atomic
from tamizdat.render import sniff
from tamizdat.render.lossless import LosslessImage, strip_lossless
from tamizdat.render.sniff import FileType

__all__ = [
    "CachedImage",
    "EncodedImage",
    "ImageLimits",
    "article_image_output",
    "cache_key",
    "describe_image_metadata",
    "process_image",
    "reencode_image",
    "slugify_stem",
    "static_image_type",
]

# Bump when the encoding changes, so cached variants made by older code are not reused.
ENCODER_VERSION = "4"
# Pillow's writer for each image type we re-encode at original size (static images keep
# their URL, so their format). HEIF is absent: Pillow cannot read it, so it is refused.
_WRITERS = {
    sniff.JPEG: "JPEG",
    sniff.PNG: "PNG",
    sniff.WEBP: "WEBP",
    sniff.GIF: "GIF",
    sniff.TIFF: "TIFF",
    sniff.BMP: "BMP",
    sniff.ICO: "ICO",
    sniff.AVIF: "AVIF",
}
_TYPE_BY_SUFFIX = {suffix: kind for kind in _WRITERS for suffix in kind.suffixes}
_MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "ICO": "image/vnd.microsoft.icon",
    "AVIF": "image/avif",
}
_UNREADABLE_HINT = (
    "convert it to JPEG or PNG; if it must be published as it is, list it under "
    "[media] publish_unstripped in tamizdat.toml"
)


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Hard limits on what an image may be before we refuse to decode it."""

    max_pixels: int = 64_000_000  # a decompression bomb guard (8000 × 8000)
    max_bytes: int = 100 * 1024 * 1024
    # A JPEG kept at its size is copied without re-encoding only if it is no heavier than
    # this (about quality 90): a camera's quality-98 original would cost readers bandwidth.
    lossless_max_bytes_per_pixel: float = 0.4


LIMITS = ImageLimits()


@dataclass(frozen=True, slots=True)
class EncodedImage:
    """One re-encoded picture: its size, type and file extension (without the dot)."""

    width: int
    height: int
    media_type: str
    ext: str


def static_image_type(source: str, found: FileType) -> FileType:
    """The type a static image is re-encoded to: the one its name promises, if we write
    that type, else the type its bytes are (a ``.bin`` JPEG stays a JPEG).

    Raises:
        ContentError: ``found`` is an image type we cannot re-encode (HEIF), naming the file.
    """
    named = _TYPE_BY_SUFFIX.get(PurePosixPath(source).suffix.lower())
    if named is not None:
        return named
    if found in _WRITERS:
        return found
    raise ContentError(
        f"{found.name} image cannot be re-encoded, so its metadata cannot be removed",
        where=source,
        hint=_UNREADABLE_HINT,
    )


@functools.lru_cache(maxsize=65536)
def slugify_stem(source: str) -> str:
    """An ASCII, URL-safe version of the file name's stem (Cyrillic transliterated)."""
    return slugify(PurePosixPath(source).stem, fallback="image", max_length=60)


def article_image_output(
    source: str, source_sha256: str, desk: str, year: int, month: int, width: int, ext: str
) -> str:
    """``media/{desk}/{yyyy}/{mm}/{stem}-{sha8}-{width}.{ext}`` relative to the output root."""
    return (
        f"media/{desk}/{year:04d}/{month:02d}/"
        f"{slugify_stem(source)}-{source_sha256[:8]}-{width}.{ext}"
    )


def cache_key(
    source_sha256: str, widths: tuple[int, ...] | None, quality: int, output: str = ""
) -> str:
    """Name of a cache entry: source bytes + every setting that changes the output.

    ``output`` names the output type and suffix of a static image (two static files with
    the same bytes but different names are re-encoded differently).
    """
    return f"{source_sha256}-{_settings_digest(widths, quality, output)}"


@functools.lru_cache(maxsize=4096)
def _settings_digest(widths: tuple[int, ...] | None, quality: int, output: str) -> str:
    settings = json.dumps(
        [ENCODER_VERSION, pillow_version, list(widths) if widths else "original", quality, output]
    )
    return hashlib.sha256(settings.encode()).hexdigest()[:16]


def _open(
    data: bytes, source: str, limits: ImageLimits, draft: tuple[int, int] | None = None
) -> Image.Image:
    if len(data) > limits.max_bytes:
        raise ContentError(
            f"image too large: {len(data)} bytes, expected at most {limits.max_bytes}",
            where=source,
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > limits.max_pixels:
                raise ContentError(
                    f"image has {width}×{height} pixels, more than the limit of "
                    f"{limits.max_pixels}: refusing to decode a possible decompression bomb",
                    where=source,
                )
            if draft is not None and image.format == "JPEG":
                # Let libjpeg decode at 1/2, 1/4 or 1/8 scale, never below ``draft``.
                image.draft(None, draft)
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ContentError(
            f"refusing to decode a possible decompression bomb: {exc}", where=source
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ContentError(
            f"not a readable image: {exc}", where=source, hint=_UNREADABLE_HINT
        ) from None
    return image


def _has_alpha(image: Image.Image) -> bool:
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        # A single band: (lowest, highest) alpha values.
        low, _high = cast(tuple[int, int], rgba.getchannel("A").getextrema())
        return low < 255
    return False


def _to_srgb(image: Image.Image, source: str) -> Image.Image:
    """Convert pixels with an embedded ICC profile to sRGB, so the profile can be dropped."""
    icc = image.info.get("icc_profile")
    if not icc:
        return image
    mode = "RGBA" if image.mode in ("RGBA", "LA", "PA") else "RGB"
    try:
        src_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        if image.mode not in ("RGB", "RGBA", "CMYK", "L"):
            image = image.convert(mode)
        converted = ImageCms.profileToProfile(image, src_profile, dst_profile, outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError):
        # An unreadable profile: keep the pixels as they are; the profile is still dropped.
        return image
    return converted if converted is not None else image


def _clean_pixels(
    data: bytes, source: str, limits: ImageLimits, draft: tuple[int, int] | None = None
) -> tuple[Image.Image, bool]:
    """Decode, orient, convert to sRGB, and rebuild from pixels alone (no ``info``).

    ``draft`` (only for upright pictures: it is in stored, not displayed, orientation) is the
    smallest size the caller needs; a JPEG may then be decoded at a reduced scale.
    """
    image = _open(data, source, limits, draft)
    try:
        oriented = ImageOps.exif_transpose(image)
    except (OSError, ValueError, SyntaxError):
        oriented = image  # a broken EXIF block: orientation unknown, pixels still fine
    oriented = _to_srgb(oriented, source)
    alpha = _has_alpha(oriented)
    if alpha:
        mode = "RGBA"
    elif oriented.mode == "L":
        mode = "L"
    else:
        mode = "RGB"
    pixels = oriented.convert(mode)
    # A brand-new image holds no info dict, no EXIF, no comment: nothing can leak through.
    fresh = Image.frombytes(mode, pixels.size, pixels.tobytes())
    return fresh, alpha


def _encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
    elif fmt == "PNG":
        image.save(buffer, "PNG", optimize=True)
    elif fmt == "WEBP":
        image.save(buffer, "WEBP", quality=quality, method=4, exact=False)
    elif fmt == "AVIF":
        image.save(buffer, "AVIF", quality=quality)
    elif fmt == "ICO":
        image.save(buffer, "ICO", sizes=[(min(image.width, 256), min(image.height, 256))])
    elif fmt == "TIFF":
        image.save(buffer, "TIFF", compression="tiff_deflate")
    else:  # GIF, BMP: no options that matter
        image.save(buffer, fmt)
    return buffer.getvalue()


_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}


def _lossless(data: bytes, kind: str, limits: ImageLimits) -> LosslessImage | None:
    """``data`` without metadata and not re-encoded, when that is possible and not too heavy."""
    if len(data) > limits.max_bytes:
        return None
    kept = strip_lossless(data, kind, max_pixels=limits.max_pixels)
    if kept is None:
        return None
    if kind == "JPEG" and len(kept.data) > limits.lossless_max_bytes_per_pixel * (
        kept.width * kept.height
    ):
        return None
    return kept


def _scaled(image: Image.Image, width: int, original: tuple[int, int]) -> Image.Image:
    height = max(1, round(original[1] * width / original[0]))
    # Bicubic, Pillow's default: for the at most ~3× reductions made here it looks the same
    # as Lanczos at about two thirds of the time, which is most of an image's build cost.
    return image.resize((width, height), Image.Resampling.BICUBIC)


def process_image(
    data: bytes,
    *,
    source: str,
    widths: tuple[int, ...],
    quality: int,
    limits: ImageLimits = LIMITS,
) -> list[tuple[EncodedImage, bytes]]:
    """Clean ``data`` into the given widths, smallest first, with no metadata at all.

    Photos become progressive, optimised JPEG; images with real transparency become PNG.
    Widths at or above the original collapse into one variant at the original width
    (never upscale); for a JPEG that variant is the original without its metadata, not
    re-encoded, when :mod:`tamizdat.render.lossless` can rewrite it.

    Raises:
        ContentError: not a readable image, or larger than ``limits`` (names ``source``).
    """
    kept = _lossless(data, "JPEG", limits) if data.startswith(b"\xff\xd8") else None
    out: list[tuple[EncodedImage, bytes]] = []
    if kept is not None:
        original = (kept.width, kept.height)
        smaller = sorted({w for w in widths if w < kept.width}, reverse=True)
        if smaller:
            # The largest smaller width decides how far libjpeg may scale down while decoding.
            need = (smaller[0], max(1, round(kept.height * smaller[0] / kept.width)))
            image, _alpha = _clean_pixels(data, source, limits, draft=need)
            for width in smaller:
                image = _scaled(image, width, original)
                out.append(
                    (
                        EncodedImage(image.width, image.height, "image/jpeg", "jpg"),
                        _encode(image, "JPEG", quality),
                    )
                )
        out.reverse()
        if not widths or max(widths) >= kept.width:  # else every width is a smaller one
            out.append((EncodedImage(kept.width, kept.height, "image/jpeg", "jpg"), kept.data))
        return out
    image, alpha = _clean_pixels(data, source, limits)
    fmt = "PNG" if alpha else "JPEG"
    media_type, ext = _FORMATS[fmt]
    original = image.size
    targets = sorted({min(w, original[0]) for w in widths} or {original[0]}, reverse=True)
    for width in targets:
        # Each width from the next larger one: far less work, and a filtered resize keeps
        # it sharp.
        image = image if width == image.width else _scaled(image, width, original)
        out.append(
            (
                EncodedImage(image.width, image.height, media_type, ext),
                _encode(image, fmt, quality),
            )
        )
    out.reverse()
    return out


_LOSSLESS_KINDS = {sniff.JPEG: "JPEG", sniff.PNG: "PNG", sniff.WEBP: "WEBP"}


def reencode_image(
    data: bytes,
    *,
    source: str,
    quality: int,
    as_type: FileType,
    limits: ImageLimits = LIMITS,
) -> tuple[EncodedImage, bytes]:
    """Clean ``data`` at its original size as ``as_type`` (see :func:`static_image_type`).

    Used for images in static folders that no article shows: they keep their URL. A JPEG,
    PNG or WebP whose bytes are already ``as_type`` loses its metadata without being
    re-encoded when :mod:`tamizdat.render.lossless` can rewrite it; anything else is rebuilt
    from its pixels.

    Raises:
        ContentError: not a readable image, too large, or ``as_type`` is not a type we write.
    """
    fmt = _WRITERS.get(as_type)
    if fmt is None:
        raise ContentError(f"cannot write {as_type.name} images", where=source)
    ext = PurePosixPath(source).suffix.lower().lstrip(".")
    kind = _LOSSLESS_KINDS.get(as_type)
    head = data[: sniff.SNIFF_BYTES]
    if kind is not None and sniff.sniff_bytes(head, complete=head == data) == as_type:
        kept = _lossless(data, kind, limits)
        if kept is not None:
            return EncodedImage(kept.width, kept.height, _MEDIA_TYPES[fmt], ext), kept.data
    image, _alpha = _clean_pixels(data, source, limits)
    if fmt in ("JPEG", "BMP") and image.mode == "RGBA":
        image = image.convert("RGB")
    encoded = EncodedImage(image.width, image.height, _MEDIA_TYPES[fmt], ext)
    return encoded, _encode(image, fmt, quality)


# What a metadata block is called in reports, by EXIF tag (base IFD and Exif IFD).
_EXIF_LABELS = {
    0x010F: "device make/model",
    0x0110: "device make/model",
    0xA431: "device make/model",  # body serial number
    0xA434: "device make/model",  # lens model
    0x013B: "author names",
    0x8298: "author names",  # copyright
    0xA430: "author names",  # camera owner
    0x0132: "creation time",
    0x9003: "creation time",
    0x9004: "creation time",
    0x0131: "software",
    0x010E: "title/comments",
    0x9286: "title/comments",
}
_INFO_LABELS = {
    "xmp": "XMP metadata",
    "XML:com.adobe.xmp": "XMP metadata",
    "photoshop": "IPTC metadata",
    "icc_profile": "colour profile",
    "comment": "title/comments",
}


def describe_image_metadata(data: bytes) -> tuple[str, ...]:
    """What metadata the image in ``data`` carries, in report words ("GPS location", …).

    Only for reports: the re-encoding drops everything whether or not it is listed here.
    An image Pillow cannot parse yields ``()`` (decoding it fails loudly elsewhere).
    """
    found: list[str] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        with image:
            exif = image.getexif()
            if exif.get_ifd(0x8825):
                found.append("GPS location")
            tags = set(exif) | set(exif.get_ifd(0x8769))
            found += [_EXIF_LABELS[tag] for tag in sorted(tags) if tag in _EXIF_LABELS]
            if tags - set(_EXIF_LABELS) - {0x8825, 0x8769, 0x0112}:
                found.append("other EXIF")
            found += [label for key, label in _INFO_LABELS.items() if image.info.get(key)]
            text = getattr(image, "text", None)
            if isinstance(text, dict) and set(text) - {"XML:com.adobe.xmp"}:
                found.append("text chunks")
    except (Image.DecompressionBombError, UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return ()
    kind = _LOSSLESS_KINDS.get(sniff.sniff_bytes(data[:64], complete=False))
    if kind is not None:
        # What only a strict parse sees: thumbnails, MPF images, bytes after the end, ….
        kept = strip_lossless(data, kind, max_pixels=LIMITS.max_pixels)
        found += kept.removed if kept is not None else ()
    return tuple(sorted(set(found), key=found.index))


@dataclass(frozen=True, slots=True)
class CachedVariant:
    """A processed variant stored in the cache: ``file`` holds its bytes."""

    info: EncodedImage
    file: Path
    sha256: str
    size: int


@dataclass(frozen=True, slots=True)
class CachedImage:
    """The cached variants of one source image and what metadata the source carried."""

    variants: tuple[CachedVariant, ...]
    removed: tuple[str, ...]


INDEX_NAME = "index.json"


def read_cache_index(cache_dir: Path) -> dict[str, object]:
    """Every cache entry's index in one file (see :func:`write_cache_index`), or ``{}``.

    Reading one file instead of one per image is most of what an unchanged image costs a
    rebuild. An entry found here is still checked against its files by :func:`read_cache`.
    """
    try:
        index = json.loads((cache_dir / INDEX_NAME).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return index if isinstance(index, dict) else {}


def write_cache_index(cache_dir: Path, entries: dict[str, CachedImage]) -> None:
    """Store the indexes of ``entries`` (the images of this build) in one file, atomically."""
    index = {key: _index_data(image.variants, image.removed) for key, image in entries.items()}
    write_atomic(cache_dir / INDEX_NAME, json.dumps(index, sort_keys=True).encode())


def _index_data(variants: tuple[CachedVariant, ...], removed: tuple[str, ...]) -> object:
    entries = [
        {
            "file": variant.file.name,
            "width": variant.info.width,
            "height": variant.info.height,
            "media_type": variant.info.media_type,
            "ext": variant.info.ext,
            "sha256": variant.sha256,
            "size": variant.size,
        }
        for variant in variants
    ]
    return {"variants": entries, "removed": list(removed)}


def read_cache(
    cache_dir: Path, key: str, index: dict[str, object] | None = None
) -> CachedImage | None:
    """The variants cached under ``key``, or ``None`` if absent or incomplete.

    ``index`` (from :func:`read_cache_index`) saves reading the entry's own index file; each
    variant file must still exist with the recorded size.
    """
    try:
        entry: Any = (index or {}).get(key)
        data: Any = (
            entry
            if entry is not None
            else json.loads((cache_dir / f"{key}.json").read_text("utf-8"))
        )
        variants = []
        for item in data["variants"]:
            file = cache_dir / item["file"]
            if "/" in item["file"] or file.stat().st_size != item["size"]:
                return None
            info = EncodedImage(item["width"], item["height"], item["media_type"], item["ext"])
            variants.append(CachedVariant(info, file, item["sha256"], item["size"]))
        return CachedImage(tuple(variants), tuple(str(r) for r in data["removed"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_cache(
    cache_dir: Path,
    key: str,
    encoded: list[tuple[EncodedImage, bytes]],
    removed: tuple[str, ...] = (),
) -> CachedImage:
    """Store encoded variants under ``key`` (files first, the index last: atomic).

    ``removed`` (see :func:`describe_image_metadata`) is kept for build reports.
    """
    variants = []
    for index, (info, data) in enumerate(encoded):
        name = f"{key}-{index}-{info.width}.{info.ext}"
        file = cache_dir / name
        write_atomic(file, data)
        digest = hashlib.sha256(data).hexdigest()
        variants.append(CachedVariant(info, file, digest, len(data)))
    index_data = _index_data(tuple(variants), removed)
    write_atomic(cache_dir / f"{key}.json", json.dumps(index_data, sort_keys=True).encode())
    return CachedImage(tuple(variants), removed)
