"""Re-encode images so that no metadata reaches readers, and decide where they go.

Invariant: every image byte in the output comes out of :func:`process_image` or
:func:`reencode_image`, which rebuild the picture from its pixels alone. EXIF (GPS, camera
serial), XMP, IPTC, ICC profiles (after converting to sRGB), comments and PNG text chunks
are never carried over, whatever the source format stored them in. Encoding is
deterministic: the same bytes and settings give the same output bytes, so a processed
variant can be cached by the source's SHA-256 and never re-encoded.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import cast

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError
from PIL import __version__ as pillow_version

from tamizdat.content.slugs import slugify
from tamizdat.errors import ContentError
from tamizdat.files import write_atomic

__all__ = [
    "IMAGE_SUFFIXES",
    "EncodedImage",
    "ImageLimits",
    "article_image_output",
    "cache_key",
    "is_image",
    "process_image",
    "reencode_image",
    "slugify_stem",
]

# Bump when the encoding changes, so cached variants made by older code are not reused.
ENCODER_VERSION = "1"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".gif"})
# Formats that carry metadata we cannot promise to strip while keeping the file's name and
# type; refusing them is safer than copying them through.
_REFUSED_SUFFIXES = frozenset({".tif", ".tiff", ".heic", ".heif", ".avif", ".bmp"})


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Hard limits on what an image may be before we refuse to decode it."""

    max_pixels: int = 64_000_000  # a decompression bomb guard (8000 × 8000)
    max_bytes: int = 100 * 1024 * 1024


LIMITS = ImageLimits()


@dataclass(frozen=True, slots=True)
class EncodedImage:
    """One re-encoded picture: its size, type and file extension (without the dot)."""

    width: int
    height: int
    media_type: str
    ext: str


def is_image(path: str) -> bool:
    """True if ``path`` names a format that must be re-encoded rather than copied.

    Raises:
        ContentError: the file is a format (TIFF, HEIC, …) we refuse to publish, since its
            metadata could not be stripped reliably.
    """
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in _REFUSED_SUFFIXES:
        raise ContentError(
            f"unsupported image format {suffix!r}: expected JPEG, PNG, WebP or GIF",
            where=path,
            hint="convert it to JPEG or PNG; it would otherwise be published with its metadata",
        )
    return suffix in IMAGE_SUFFIXES


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


def cache_key(source_sha256: str, widths: tuple[int, ...] | None, quality: int) -> str:
    """Name of a cache entry: source bytes + every setting that changes the output."""
    settings = json.dumps(
        [ENCODER_VERSION, pillow_version, list(widths) if widths else "original", quality]
    )
    digest = hashlib.sha256(settings.encode()).hexdigest()[:16]
    return f"{source_sha256}-{digest}"


def _open(data: bytes, source: str, limits: ImageLimits) -> Image.Image:
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
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ContentError(
            f"refusing to decode a possible decompression bomb: {exc}", where=source
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ContentError(f"not a readable image: {exc}", where=source) from None
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


def _clean_pixels(data: bytes, source: str, limits: ImageLimits) -> tuple[Image.Image, bool]:
    """Decode, orient, convert to sRGB, and rebuild from pixels alone (no ``info``)."""
    image = _open(data, source, limits)
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
    else:
        image.save(buffer, "GIF", optimize=True)
    return buffer.getvalue()


_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}


def process_image(
    data: bytes,
    *,
    source: str,
    widths: tuple[int, ...],
    quality: int,
    limits: ImageLimits = LIMITS,
) -> list[tuple[EncodedImage, bytes]]:
    """Re-encode ``data`` into the given widths, smallest first, with no metadata at all.

    Photos become progressive, optimised JPEG; images with real transparency become PNG.
    Widths at or above the original collapse into one variant at the original width
    (never upscale).

    Raises:
        ContentError: not a readable image, or larger than ``limits`` (names ``source``).
    """
    image, alpha = _clean_pixels(data, source, limits)
    fmt = "PNG" if alpha else "JPEG"
    media_type, ext = _FORMATS[fmt]
    original_width, original_height = image.size
    targets = sorted({min(w, original_width) for w in widths} or {original_width})
    out: list[tuple[EncodedImage, bytes]] = []
    for width in targets:
        if width == original_width:
            scaled = image
        else:
            height = max(1, round(original_height * width / original_width))
            scaled = image.resize((width, height), Image.Resampling.LANCZOS)
        out.append(
            (
                EncodedImage(scaled.width, scaled.height, media_type, ext),
                _encode(scaled, fmt, quality),
            )
        )
    return out


def reencode_image(
    data: bytes, *, source: str, quality: int, limits: ImageLimits = LIMITS
) -> tuple[EncodedImage, bytes]:
    """Re-encode at the original size in the format the file name promises, no metadata.

    Used for images in static folders that no article shows: they keep their URL.

    Raises:
        ContentError: not a readable image, too large, or a format we refuse.
    """
    suffix = PurePosixPath(source).suffix.lower()
    image, alpha = _clean_pixels(data, source, limits)
    if suffix in (".jpg", ".jpeg"):
        fmt, media_type = "JPEG", "image/jpeg"
        if image.mode == "RGBA":
            image = image.convert("RGB")
    elif suffix == ".png":
        fmt, media_type = "PNG", "image/png"
    elif suffix == ".webp":
        fmt, media_type = "WEBP", "image/webp"
    elif suffix == ".gif":
        fmt, media_type = "GIF", "image/gif"
    else:
        raise ContentError(f"not an image type we publish: {suffix!r}", where=source)
    del alpha
    encoded = EncodedImage(image.width, image.height, media_type, suffix.lstrip("."))
    return encoded, _encode(image, fmt, quality)


@dataclass(frozen=True, slots=True)
class CachedVariant:
    """A processed variant stored in the cache: ``file`` holds its bytes."""

    info: EncodedImage
    file: Path
    sha256: str
    size: int


def read_cache(cache_dir: Path, key: str) -> tuple[CachedVariant, ...] | None:
    """The variants cached under ``key``, or ``None`` if absent or incomplete."""
    meta = cache_dir / f"{key}.json"
    try:
        entries = json.loads(meta.read_text("utf-8"))
        variants = []
        for entry in entries:
            file = cache_dir / entry["file"]
            if file.stat().st_size != entry["size"]:
                return None
            info = EncodedImage(entry["width"], entry["height"], entry["media_type"], entry["ext"])
            variants.append(CachedVariant(info, file, entry["sha256"], entry["size"]))
        return tuple(variants)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_cache(
    cache_dir: Path, key: str, encoded: list[tuple[EncodedImage, bytes]]
) -> tuple[CachedVariant, ...]:
    """Store encoded variants under ``key`` (files first, the index last: atomic)."""
    variants = []
    entries = []
    for index, (info, data) in enumerate(encoded):
        name = f"{key}-{index}-{info.width}.{info.ext}"
        file = cache_dir / name
        write_atomic(file, data)
        digest = hashlib.sha256(data).hexdigest()
        variants.append(CachedVariant(info, file, digest, len(data)))
        entries.append(
            {
                "file": name,
                "width": info.width,
                "height": info.height,
                "media_type": info.media_type,
                "ext": info.ext,
                "sha256": digest,
                "size": len(data),
            }
        )
    write_atomic(cache_dir / f"{key}.json", json.dumps(entries, sort_keys=True).encode())
    return tuple(variants)
