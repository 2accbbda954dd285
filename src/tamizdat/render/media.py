"""Decide where every image and static file goes, and process images through the cache.

Invariant: originals never reach the output. An image an article shows is re-encoded into
``media/{desk}/{yyyy}/{mm}/…`` under the desk and month of the *oldest* article using it
(deterministic, and it keeps each desk's photos inside the section that desk signs); an
image in a static folder that no article shows is re-encoded in place; every other static
file is copied as it is. Processed variants are cached by source SHA-256 and settings, so an
unchanged image is never re-encoded.
"""

from __future__ import annotations

import hashlib
import multiprocessing
from dataclasses import dataclass
from pathlib import Path

from tamizdat.config import Config
from tamizdat.content.model import Article, Site
from tamizdat.errors import ContentError
from tamizdat.progress import Progress, report
from tamizdat.render.images import (
    CachedVariant,
    article_image_output,
    cache_key,
    is_image,
    process_image,
    read_cache,
    reencode_image,
    write_cache,
)
from tamizdat.render.types import ImageSet, ImageVariant

__all__ = ["FileOutput", "MediaResult", "plan_and_process_media"]


@dataclass(frozen=True, slots=True)
class ImageJob:
    """One source image to encode: into widths (article image) or as is (static image)."""

    source: str  # relative to the site root
    path: Path
    sha256: str
    widths: tuple[int, ...] | None  # None: re-encode at original size, same format
    quality: int
    cache_dir: Path

    @property
    def key(self) -> str:
        return cache_key(self.sha256, self.widths, self.quality)


@dataclass(frozen=True, slots=True)
class FileOutput:
    """An output file produced by copying ``file`` (bytes with SHA-256 ``sha256``)."""

    output: str
    file: Path
    sha256: str
    origin: str  # what produced it, for error messages


@dataclass(frozen=True, slots=True)
class MediaResult:
    """Image sets for the renderer, files to place, and how much work was done."""

    images: dict[str, ImageSet]
    files: tuple[FileOutput, ...]
    processed: int
    cached: int


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _owners(site: Site) -> dict[str, Article]:
    """For each image source, the oldest article using it (ties broken by URL, source)."""
    owners: dict[str, Article] = {}
    for article in site.articles:
        sources = [src for _ref, src in article.body_images]
        if article.image is not None:
            sources.append(article.image.source)
        for source in sources:
            current = owners.get(source)
            rank = (article.date, article.url_path, article.source)
            if current is None or rank < (current.date, current.url_path, current.source):
                owners[source] = article
    return owners


def _encode_job(job: ImageJob) -> tuple[CachedVariant, ...]:
    """Encode one image into the cache (runs in a worker process)."""
    data = job.path.read_bytes()
    if job.widths is None:
        encoded = [reencode_image(data, source=job.source, quality=job.quality)]
    else:
        encoded = process_image(data, source=job.source, widths=job.widths, quality=job.quality)
    return write_cache(job.cache_dir, job.key, encoded)


def _run_jobs(
    jobs: list[ImageJob], workers: int, progress: Progress | None
) -> dict[str, tuple[CachedVariant, ...]]:
    results: dict[str, tuple[CachedVariant, ...]] = {}
    if workers > 1 and len(jobs) > 1:
        context = multiprocessing.get_context("fork")
        with context.Pool(min(workers, len(jobs))) as pool:
            for done, (job, variants) in enumerate(
                zip(jobs, pool.imap(_encode_job, jobs), strict=True), 1
            ):
                results[job.key] = variants
                report(progress, "images", done, len(jobs), job.source)
    else:
        for done, job in enumerate(jobs, 1):
            results[job.key] = _encode_job(job)
            report(progress, "images", done, len(jobs), job.source)
    return results


def _image_set(
    source: str, sha256: str, owner: Article, variants: tuple[CachedVariant, ...]
) -> tuple[ImageSet, list[FileOutput]]:
    outputs = []
    files = []
    for variant in variants:
        info = variant.info
        output = article_image_output(
            source, sha256, owner.desk, owner.date.year, owner.date.month, info.width, info.ext
        )
        outputs.append(ImageVariant(output, info.width, info.height, info.media_type))
        files.append(FileOutput(output, variant.file, variant.sha256, f"image {source}"))
    return ImageSet(source, tuple(outputs)), files


def plan_and_process_media(
    config: Config,
    site: Site,
    *,
    workers: int,
    progress: Progress | None = None,
) -> MediaResult:
    """Plan every image and static file, encoding images missing from the cache.

    Raises:
        ContentError: an article names an image that does not exist, or an image cannot be
            decoded, is too large or has a format we refuse (names the file).
    """
    settings = config.build
    cache_dir = settings.cache_dir / "images"
    static_by_source = {f.source: f for f in site.static_files}
    owners = _owners(site)

    article_jobs: dict[str, ImageJob] = {}
    for source, owner in sorted(owners.items()):
        static = static_by_source.get(source)
        path = config.root / source
        if static is not None:
            sha256 = static.content_hash
        elif path.is_file():
            sha256 = _sha256_file(path)
        else:
            raise ContentError(f"image {source!r} not found", where=owner.source)
        if not is_image(source):
            raise ContentError(
                f"{source!r} is not an image: expected JPEG, PNG, WebP or GIF", where=owner.source
            )
        article_jobs[source] = ImageJob(
            source, path, sha256, settings.image_widths, settings.image_quality, cache_dir
        )

    static_jobs: list[tuple[str, ImageJob]] = []
    files: list[FileOutput] = []
    for static in site.static_files:
        if static.source in owners:
            continue  # shown by an article: published only as processed widths
        path = config.root / static.source
        if is_image(static.source):
            job = ImageJob(
                static.source, path, static.content_hash, None, settings.image_quality, cache_dir
            )
            static_jobs.append((static.output, job))
        else:
            files.append(FileOutput(static.output, path, static.content_hash, static.source))

    all_jobs = list(article_jobs.values()) + [job for _out, job in static_jobs]
    cached: dict[str, tuple[CachedVariant, ...]] = {}
    missing: dict[str, ImageJob] = {}
    for job in all_jobs:
        hit = read_cache(cache_dir, job.key)
        if hit is not None:
            cached[job.key] = hit
        else:
            missing.setdefault(job.key, job)
    encoded = _run_jobs(list(missing.values()), workers, progress)
    variants_by_key = {**cached, **encoded}

    images: dict[str, ImageSet] = {}
    for source, job in article_jobs.items():
        image_set, image_files = _image_set(
            source, job.sha256, owners[source], variants_by_key[job.key]
        )
        images[source] = image_set
        files.extend(image_files)
    for output, job in static_jobs:
        (variant,) = variants_by_key[job.key]
        files.append(FileOutput(output, variant.file, variant.sha256, job.source))
    return MediaResult(images, tuple(files), processed=len(missing), cached=len(cached))
