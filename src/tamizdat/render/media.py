"""Decide where every image and static file goes, and process images through the cache.

Invariant: originals never reach the output. An image an article shows is re-encoded into
``media/{desk}/{yyyy}/{mm}/…`` under the desk and month of the *oldest* article using it
(deterministic, and it keeps each desk's photos inside the section that desk signs); an
image in a static folder that no article shows is re-encoded in place; every other static
file is copied as it is. Processed variants are cached by source SHA-256 and settings, so an
unchanged image is never re-encoded.

It also holds the build's worker pool (:func:`run_forked`, used here for encoding and by
:mod:`tamizdat.render.build` for pages). Invariant: no wait on a worker is unbounded, and a
failure or Ctrl-C never leaves a worker running. Workers ignore SIGINT (the parent decides);
on the first error the parent sets a shared stop flag, cancels queued tasks, waits a bounded
time for the running ones (which see the flag and return at once), and kills any worker still
busy after that. ``Pool.terminate()`` is not used: it can deadlock on its handler threads.
Errors cross the process boundary as plain values (:class:`Failure`), so they keep their type,
message and ``where``.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import signal
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing.synchronize import Event
from pathlib import Path, PurePosixPath
from typing import TypeVar

from tamizdat.config import Config
from tamizdat.content.assets import site_file
from tamizdat.content.model import Article, Site
from tamizdat.errors import ContentError, InternalError, TamizdatError
from tamizdat.files import read_regular, sha256_file, write_atomic
from tamizdat.progress import Progress, report
from tamizdat.render.cleaning import (
    MediaNote,
    StripJob,
    StrippedFile,
    mismatch_warning,
    read_stripped,
    refuse_unstrippable,
    run_strip_job,
    sniff_media,
)
from tamizdat.render.images import (
    CachedImage,
    CachedVariant,
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
from tamizdat.render.sniff import FileType
from tamizdat.render.strip import can_strip
from tamizdat.render.svg_clean import CLEANER_VERSION, clean_svg
from tamizdat.render.types import ImageSet, ImageVariant

__all__ = [
    "Failure",
    "FileOutput",
    "MediaNote",
    "MediaResult",
    "PoolLimits",
    "plan_and_process_media",
    "run_forked",
    "stop_requested",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """Bounds on every wait for worker processes: a stuck worker fails the build, never hangs it."""

    task_timeout: float = 600.0  # longest wait, in seconds, for the next task to finish
    stop_timeout: float = 30.0  # longest wait for running tasks to wind down after an error


POOL_LIMITS = PoolLimits()


@dataclass(frozen=True, slots=True)
class Failure:
    """A worker's error, carried back as plain values so the parent re-raises it intact.

    (A pickled ``TamizdatError`` would lose ``where`` and ``hint``: they are keyword-only.)
    """

    kind: type[TamizdatError]
    message: str
    where: str | None
    hint: str | None

    @classmethod
    def of(cls, exc: BaseException, where: str | None = None, doing: str = "work") -> Failure:
        """``exc`` as a failure; anything not a TamizdatError becomes an InternalError."""
        if isinstance(exc, TamizdatError):
            return cls(type(exc), exc.message, exc.where, exc.hint)
        detail = "".join(traceback.format_exception_only(exc)).strip()
        return cls(InternalError, f"{doing} failed: {detail}", where, None)

    def error(self) -> TamizdatError:
        return self.kind(self.message, where=self.where, hint=self.hint)


# The stop flag, inherited by each worker at start-up (fork start method).
_STOP: Event | None = None


def _start_worker(stop: Event) -> None:
    global _STOP
    # Ctrl-C reaches the whole process group; only the parent acts on it, so that a worker
    # never dies mid-task and breaks the pool while the parent is still waiting on it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _STOP = stop


def stop_requested() -> bool:
    """True in a worker once the parent gave up on the run: return early, results are unused."""
    return _STOP is not None and _STOP.is_set()


def _guarded(task: Callable[[T], R | Failure], item: T) -> R | Failure | None:
    if stop_requested():
        return None  # the parent no longer reads results
    try:
        return task(item)
    except Exception as exc:
        return Failure.of(exc)


def _wind_down(
    executor: ProcessPoolExecutor, stop: Event, futures: list[Future[object]], limits: PoolLimits
) -> None:
    """Stop after an error or Ctrl-C: bounded, and no worker outlives it."""
    stop.set()
    processes = list((executor._processes or {}).values())  # private, but the only handle
    for future in futures:
        future.cancel()  # only queued tasks can be cancelled; running ones see the flag
    running = [f for f in futures if not f.done()]
    _done, stuck = wait(running, timeout=limits.stop_timeout)
    if stuck:
        log.warning(
            "killing %d worker(s) still busy %g s after the build stopped",
            len(processes),
            limits.stop_timeout,
        )
        # The executor then sees a broken pool, so the shutdown below does not wait on them.
        for process in processes:
            process.kill()
    # Not shutdown(wait=False) first: a second shutdown would no longer join the workers.
    executor.shutdown(wait=True)
    for process in processes:
        process.join(limits.stop_timeout)


def run_forked(
    task: Callable[[T], R | Failure],
    items: Sequence[T],
    workers: int,
    on_result: Callable[[T, R], None],
    limits: PoolLimits = POOL_LIMITS,
) -> None:
    """Run ``task`` on every item in forked workers; call ``on_result`` in this process.

    ``task`` must be a module-level function (it is pickled by name); results arrive in
    completion order. The first :class:`Failure` (or exception in ``on_result``) stops the
    run: queued tasks are cancelled, running ones see :func:`stop_requested`.

    Raises:
        TamizdatError: the first failure a task returned or raised, with its original type,
            message and ``where``; other exceptions in a task become InternalError.
        InternalError: no task finished within ``limits.task_timeout`` seconds, or a worker
            process died.
    """
    context = multiprocessing.get_context("fork")
    stop = context.Event()
    executor = ProcessPoolExecutor(
        max(1, min(workers, len(items))),
        mp_context=context,
        initializer=_start_worker,
        initargs=(stop,),
    )
    futures: list[Future[object]] = []
    finished = False
    try:
        by_future = {}
        for item in items:
            future: Future[object] = executor.submit(_guarded, task, item)
            by_future[future] = item
            futures.append(future)
        pending = set(futures)
        while pending:
            done, pending = wait(pending, timeout=limits.task_timeout, return_when=FIRST_COMPLETED)
            if not done:
                raise InternalError(
                    f"no worker finished a task within {limits.task_timeout:g} s "
                    f"({len(pending)} of {len(items)} tasks left): a worker is stuck",
                    hint="run with --workers 1 to see where it stops",
                )
            for future in done:
                try:
                    result = future.result()
                except BrokenProcessPool as exc:
                    raise InternalError(f"a worker process died: {exc}") from exc
                if isinstance(result, Failure):
                    raise result.error()
                on_result(by_future[future], result)  # type: ignore[arg-type]
        finished = True
    finally:
        if finished:
            executor.shutdown(wait=True)
        else:
            _wind_down(executor, stop, futures, limits)


@dataclass(frozen=True, slots=True)
class ImageJob:
    """One source image to encode: into widths (article image) or as is (static image)."""

    source: str  # relative to the site root
    path: Path
    sha256: str
    widths: tuple[int, ...] | None  # None: re-encode at original size as ``as_type``
    quality: int
    cache_dir: Path
    as_type: FileType | None = None  # static images: the type they are re-encoded to

    @property
    def key(self) -> str:
        output = ""
        if self.as_type is not None:
            output = f"{self.as_type.name} {PurePosixPath(self.source).suffix.lower()}"
        return cache_key(self.sha256, self.widths, self.quality, output)


@dataclass(frozen=True, slots=True)
class FileOutput:
    """An output file produced by copying ``file`` (bytes with SHA-256 ``sha256``)."""

    output: str
    file: Path
    sha256: str
    origin: str  # what produced it, for error messages


@dataclass(frozen=True, slots=True)
class MediaResult:
    """Image sets for the renderer, files to place, how much work was done, and the report:
    metadata removed per file, files published unstripped by the publisher's choice, and
    warnings (names that do not match the bytes)."""

    images: dict[str, ImageSet]
    files: tuple[FileOutput, ...]
    processed: int
    cached: int
    cleaned: tuple[MediaNote, ...] = ()
    unstripped: tuple[MediaNote, ...] = ()
    warnings: tuple[str, ...] = ()
    # SHA-256 of each image source an article shows (what its own content includes).
    image_hashes: dict[str, str] = field(default_factory=dict)


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


def _encode_job(job: ImageJob) -> CachedImage:
    """Encode one image into the cache (may run in a worker process)."""
    data = read_regular(job.path, where=job.source)
    if job.as_type is not None:
        encoded = [
            reencode_image(data, source=job.source, quality=job.quality, as_type=job.as_type)
        ]
    else:
        widths = job.widths or ()
        encoded = process_image(data, source=job.source, widths=widths, quality=job.quality)
    return write_cache(job.cache_dir, job.key, encoded, describe_image_metadata(data))


@dataclass(frozen=True, slots=True)
class _Done:
    """A worker's result (one type, so that ``run_forked`` can tell it from a Failure)."""

    result: CachedImage | StrippedFile


def _work(job: ImageJob | StripJob) -> _Done:
    return _Done(_encode_job(job) if isinstance(job, ImageJob) else run_strip_job(job))


def _run_jobs(
    jobs: Sequence[ImageJob | StripJob],
    workers: int,
    progress: Progress | None,
    limits: PoolLimits,
) -> dict[str, CachedImage | StrippedFile]:
    results: dict[str, CachedImage | StrippedFile] = {}
    if workers > 1 and len(jobs) > 1:

        def record(job: ImageJob | StripJob, done: _Done) -> None:
            results[job.key] = done.result
            report(progress, "media", len(results), len(jobs), job.source)

        run_forked(_work, jobs, workers, record, limits)
    else:
        for count, job in enumerate(jobs, 1):
            results[job.key] = _work(job).result
            report(progress, "media", count, len(jobs), job.source)
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


def _article_jobs(
    config: Config, site: Site, owners: dict[str, Article], warnings: list[str]
) -> dict[str, ImageJob]:
    settings = config.build
    cache_dir = settings.cache_dir / "images"
    static_by_source = {f.source: f for f in site.static_files}
    jobs: dict[str, ImageJob] = {}
    for source, owner in sorted(owners.items()):
        static = static_by_source.get(source)
        path = site_file(config, source)
        if static is not None:
            sha256 = static.content_hash
        elif path.is_file():
            sha256 = sha256_file(path)
        else:
            raise ContentError(f"image {source!r} not found", where=owner.source)
        found = sniff_media(path, source)
        if found.family != "image":
            raise ContentError(
                f"{source!r} is not an image: its bytes are {found.name}", where=owner.source
            )
        warning = mismatch_warning(source, found, "re-encoded from its pixels")
        if warning:
            warnings.append(warning)
        jobs[source] = ImageJob(
            source, path, sha256, settings.image_widths, settings.image_quality, cache_dir
        )
    return jobs


@dataclass(slots=True)
class _StaticPlan:
    """Static files sorted by what they go through (see :mod:`tamizdat.render.cleaning`)."""

    images: list[tuple[str, ImageJob]]
    strips: list[tuple[str, StripJob]]
    files: list[FileOutput]
    unstripped: list[MediaNote]
    warnings: list[str]
    cleaned: list[MediaNote] = field(default_factory=list)  # SVGs without editor metadata


def _clean_svg(item: FileOutput, cache_dir: Path, cleaned: list[MediaNote]) -> FileOutput:
    """``item`` as published: the SVG without editor metadata (see :mod:`.svg_clean`),
    cached by source hash; the file itself when there is nothing to remove or it is left
    to the privacy check."""
    kept = cache_dir / f"{item.sha256}-{CLEANER_VERSION}.svg"
    note = cache_dir / f"{item.sha256}-{CLEANER_VERSION}.json"
    try:
        removed = tuple(str(r) for r in json.loads(note.read_text("utf-8")))
    except (OSError, ValueError, TypeError):
        result = clean_svg(read_regular(item.file, where=item.origin))
        removed = result.removed if result is not None else ()
        if result is not None and removed:
            write_atomic(kept, result.data)
        write_atomic(note, json.dumps(list(removed)).encode())
    if not removed:
        return item
    if not kept.is_file():  # the note without its file: clean again next time
        note.unlink(missing_ok=True)
        return _clean_svg(item, cache_dir, cleaned)
    cleaned.append(MediaNote(item.origin, "SVG", removed))
    return FileOutput(item.output, kept, sha256_file(kept), item.origin)


def _plan_static(config: Config, site: Site, owners: dict[str, Article]) -> _StaticPlan:
    settings = config.build
    plan = _StaticPlan([], [], [], [], [])
    for static in site.static_files:
        if static.source in owners:
            continue  # shown by an article: published only as processed widths
        source, path = static.source, site_file(config, static.source)
        found = sniff_media(path, source)
        allowed = config.media.allows_unstripped(source)
        treated = "copied as it is"
        if found.family == "image":
            try:
                as_type = static_image_type(source, found)
            except ContentError:
                if not allowed:
                    raise
                as_type = None
            if as_type is not None:
                job = ImageJob(
                    source, path, static.content_hash, None, settings.image_quality,
                    settings.cache_dir / "images", as_type,
                )  # fmt: skip
                plan.images.append((static.output, job))
                treated = f"re-encoded as {as_type.name}"
        elif can_strip(found):
            strip = StripJob(
                source, path, static.content_hash, found, settings.cache_dir / "media", allowed
            )
            plan.strips.append((static.output, strip))
            treated = "its metadata removed as such"
        elif found.family not in ("text", "font") and not allowed:
            raise refuse_unstrippable(source, found)
        if treated == "copied as it is":
            output = FileOutput(static.output, path, static.content_hash, source)
            if static.output.lower().endswith(".svg") and found.family == "text":
                output = _clean_svg(output, settings.cache_dir / "svg", plan.cleaned)
            plan.files.append(output)
            if found.family not in ("text", "font"):
                plan.unstripped.append(MediaNote(source, found.name, ()))
        warning = mismatch_warning(source, found, treated)
        if warning:
            plan.warnings.append(warning)
    return plan


def plan_and_process_media(
    config: Config,
    site: Site,
    *,
    workers: int,
    progress: Progress | None = None,
    limits: PoolLimits = POOL_LIMITS,
) -> MediaResult:
    """Plan every image and static file by its bytes: re-encode, strip, copy or refuse.

    Raises:
        ContentError: an article names an image that does not exist or whose bytes are not
            an image; an image cannot be decoded or is too large; a file's metadata cannot
            be removed (unknown or unsupported type, tool missing or failing) and it is not
            listed under ``[media] publish_unstripped``. Names the file.
        InternalError: a worker got stuck past ``limits`` or died.
    """
    owners = _owners(site)
    warnings: list[str] = []
    article_jobs = _article_jobs(config, site, owners, warnings)
    static = _plan_static(config, site, owners)
    warnings += static.warnings

    all_jobs: list[ImageJob | StripJob] = list(article_jobs.values())
    all_jobs += [job for _out, job in static.images] + [job for _out, job in static.strips]
    done: dict[str, CachedImage | StrippedFile] = {}
    missing: dict[str, ImageJob | StripJob] = {}
    image_cache = config.build.cache_dir / "images"
    index = read_cache_index(image_cache)
    for job in all_jobs:
        hit = read_cache(job.cache_dir, job.key, index) if isinstance(job, ImageJob) else None
        if hit is not None:
            done[job.key] = hit
        elif isinstance(job, StripJob) and (stripped := read_stripped(job)) is not None:
            done[job.key] = stripped
        else:
            missing.setdefault(job.key, job)
    cached = len(done)
    done.update(_run_jobs(list(missing.values()), workers, progress, limits))
    images = {
        job.key: result
        for job in all_jobs
        if isinstance(job, ImageJob) and isinstance(result := done[job.key], CachedImage)
    }
    if images and (missing or set(images) != set(index)):
        write_cache_index(image_cache, images)
    return _collect(article_jobs, static, owners, done, warnings, len(missing), cached)


def _collect(
    article_jobs: dict[str, ImageJob],
    static: _StaticPlan,
    owners: dict[str, Article],
    done: dict[str, CachedImage | StrippedFile],
    warnings: list[str],
    processed: int,
    cached: int,
) -> MediaResult:
    images: dict[str, ImageSet] = {}
    files = list(static.files)
    cleaned: list[MediaNote] = list(static.cleaned)
    unstripped = list(static.unstripped)

    def note(source: str, kind: str, removed: tuple[str, ...]) -> None:
        if removed:
            cleaned.append(MediaNote(source, kind, removed))

    for source, job in article_jobs.items():
        result = done[job.key]
        assert isinstance(result, CachedImage)
        image_set, image_files = _image_set(source, job.sha256, owners[source], result.variants)
        images[source] = image_set
        files.extend(image_files)
        note(source, "image", result.removed)
    for output, job in static.images:
        result = done[job.key]
        assert isinstance(result, CachedImage)
        (variant,) = result.variants
        files.append(FileOutput(output, variant.file, variant.sha256, job.source))
        note(job.source, "image", result.removed)
    for output, strip in static.strips:
        stripped = done[strip.key]
        assert isinstance(stripped, StrippedFile)
        files.append(FileOutput(output, stripped.file, stripped.sha256, strip.source))
        if stripped.unstripped:
            unstripped.append(MediaNote(strip.source, strip.found.name, ()))
        note(strip.source, strip.found.name, stripped.removed)
    return MediaResult(
        images,
        tuple(files),
        processed=processed,
        cached=cached,
        cleaned=tuple(sorted(cleaned, key=lambda n: n.source)),
        unstripped=tuple(sorted(unstripped, key=lambda n: n.source)),
        warnings=tuple(warnings),
        image_hashes={source: job.sha256 for source, job in article_jobs.items()},
    )
