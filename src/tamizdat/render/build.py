"""The build orchestrator: content → images → page plans → only the changed pages → public/.

Invariants:

- *Deterministic*: the output depends only on the content, the settings and the tamizdat
  version; every page's bytes come from the renderer, every image's from the encoder.
- *Incremental*: a page whose plan key equals the previous build's (and whose file in
  ``public/`` is untouched) is not rendered again; a rendered page whose bytes did not change
  keeps its old file (inode and mtime). See :mod:`tamizdat.render.output`.
- *Atomic*: nothing touches ``public/`` until every page rendered; any failure, in this
  process or in a worker, leaves it exactly as it was.
- *Bounded*: worker processes are waited on with timeouts and stopped cleanly on a failure or
  Ctrl-C (see :func:`tamizdat.render.media.run_forked`); a stuck worker is an InternalError.
- *No two producers write one path*: a clash is an error naming both.
- *Private and light*: copied static files pass the privacy rule
  (:mod:`tamizdat.render.static_check`) before anything is placed, and every article page
  it renders is held to the first-screen budget (:mod:`tamizdat.render.budget`).
- *No silent corrections*: an article whose own content changed without a newer
  ``updated`` date is reported, or refuses the build (:mod:`tamizdat.render.corrections`);
  the records it compares with are kept in the manifest.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from tamizdat.config import Config
from tamizdat.config.public_url import preview_base_url_warning
from tamizdat.config.site import BudgetMode, CorrectionsMode
from tamizdat.content.model import Article, Site
from tamizdat.errors import ContentError
from tamizdat.progress import Progress, report
from tamizdat.render.budget import check_first_screen
from tamizdat.render.corrections import check_corrections
from tamizdat.render.media import (
    Failure,
    MediaNote,
    MediaResult,
    PoolLimits,
    plan_and_process_media,
    run_forked,
    stop_requested,
)
from tamizdat.render.output import (
    ManifestEntry,
    Staging,
    check_output_path,
    read_manifest,
    write_manifest,
)
from tamizdat.render.static_check import StaticFile, check_static_files
from tamizdat.render.types import ImageSet, PagePlan

__all__ = ["BuildLimits", "BuildReport", "PageRenderer", "build_from_site", "build_site"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BuildLimits:
    """Tuning of the build: when to use worker processes, how to batch and bound their work."""

    serial_below: int = 48  # fewer pages to render than this: render in this process
    chunk_size: int = 64  # pages per task sent to a worker
    pool: PoolLimits = field(default_factory=PoolLimits)  # timeouts on every worker wait


LIMITS = BuildLimits()


class PageRenderer(Protocol):
    """What the build needs from ``tamizdat.render.pages.Renderer``."""

    def plan(self) -> list[PagePlan]: ...

    def render(self, plan: PagePlan) -> bytes: ...


RendererFactory = Callable[[Site, Mapping[str, ImageSet]], PageRenderer]


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What one build did. Paths are relative to ``output_dir``."""

    output_dir: Path
    articles: int
    written: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]
    pages_rendered: int
    pages_skipped: int
    images_processed: int
    images_cached: int
    warnings: tuple[str, ...]
    seconds: float
    metadata_removed: tuple[MediaNote, ...] = ()  # per file, what the build stripped
    published_unstripped: tuple[MediaNote, ...] = ()  # allowed by [media] publish_unstripped

    def to_dict(self) -> dict[str, Any]:
        return {
            "output_dir": str(self.output_dir),
            "articles": self.articles,
            "written": list(self.written),
            "unchanged": self.unchanged,
            "removed": list(self.removed),
            "pages_rendered": self.pages_rendered,
            "pages_skipped": self.pages_skipped,
            "images_processed": self.images_processed,
            "images_cached": self.images_cached,
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
            "metadata_removed": [note.to_dict() for note in self.metadata_removed],
            "published_unstripped": [note.to_dict() for note in self.published_unstripped],
        }


@dataclass(slots=True)
class _Tally:
    entries: dict[str, ManifestEntry] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    rendered: int = 0
    warnings: list[str] = field(default_factory=list)


# Set in the parent just before forking the render pool; workers inherit it (fork start
# method), so the renderer and the staging tree are built once, never pickled.
_WORKER: tuple[PageRenderer, Staging, BudgetMode] | None = None


def _render_one(
    renderer: PageRenderer, staging: Staging, plan: PagePlan, budget: BudgetMode
) -> tuple[ManifestEntry, bool, str | None]:
    """Render and place one page; the third value is its budget warning, if any."""
    data = renderer.render(plan)
    warning = check_first_screen(plan.output, data, budget) if plan.kind == "article" else None
    return (*staging.write_bytes(plan.output, data, plan.key), warning)


def _render_chunk(
    plans: Sequence[PagePlan],
) -> list[tuple[str, ManifestEntry, bool, str | None]] | Failure:
    """Render a batch of plans in a worker; errors come back as a :class:`Failure`."""
    assert _WORKER is not None, "render worker started without a renderer"
    renderer, staging, budget = _WORKER
    results = []
    for plan in plans:
        if stop_requested():
            break  # the build already failed; nothing more will be read
        try:
            entry, written, warning = _render_one(renderer, staging, plan, budget)
        except Exception as exc:
            return Failure.of(exc, where=plan.output, doing="rendering")
        results.append((plan.output, entry, written, warning))
    return results


def _render_pages(
    renderer: PageRenderer,
    staging: Staging,
    plans: list[PagePlan],
    workers: int,
    limits: BuildLimits,
    tally: _Tally,
    progress: Progress | None,
    budget: BudgetMode,
) -> None:
    def record(output: str, entry: ManifestEntry, written: bool, warning: str | None) -> None:
        tally.entries[output] = entry
        tally.rendered += 1
        if written:
            tally.written.append(output)
        if warning is not None:
            tally.warnings.append(warning)
        report(progress, "render", tally.rendered, len(plans), output)

    if workers <= 1 or len(plans) < limits.serial_below:
        for plan in plans:
            record(plan.output, *_render_one(renderer, staging, plan, budget))
        return
    global _WORKER
    chunks = [plans[i : i + limits.chunk_size] for i in range(0, len(plans), limits.chunk_size)]
    _WORKER = (renderer, staging, budget)

    def record_chunk(
        _plans: Sequence[PagePlan], results: list[tuple[str, ManifestEntry, bool, str | None]]
    ) -> None:
        for output, entry, written, warning in results:
            record(output, entry, written, warning)

    try:
        run_forked(_render_chunk, chunks, workers, record_chunk, limits.pool)
    finally:
        _WORKER = None


def _check_unique(media: MediaResult, plans: list[PagePlan]) -> None:
    """Pelican's guard: two producers must never write the same output path."""
    owners: dict[str, str] = {}
    produced = [(f.output, f.origin) for f in media.files]
    produced += [(p.output, f"page {p.kind} {' '.join(map(str, p.args))}".strip()) for p in plans]
    for output, origin in produced:
        check_output_path(output, origin)
        if output in owners:
            raise ContentError(
                f"two sources write the same output {output!r}: {owners[output]} and {origin}",
                where=origin,
                hint="rename one of them, or change its slug",
            )
        owners[output] = origin


@contextmanager
def _build_lock(cache_dir: Path) -> Iterator[None]:
    """One build at a time per site (``tamizdat serve`` and ``tamizdat build`` may race)."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / "build.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _worker_count(config: Config, workers: int | None) -> int:
    if workers is not None and workers > 0:
        return workers
    return config.build.workers or os.cpu_count() or 1


def _place(
    staging: Staging,
    media: MediaResult,
    plans: list[PagePlan],
    tally: _Tally,
) -> list[PagePlan]:
    """Place every file output and every unchanged page; return the plans to render."""
    staging.make_dirs([f.output for f in media.files] + [p.output for p in plans])
    for item in media.files:
        entry, written = staging.copy_file(
            item.output, item.file, item.sha256, f"file:{item.sha256}"
        )
        tally.entries[item.output] = entry
        if written:
            tally.written.append(item.output)
    to_render = []
    for plan in plans:
        previous = staging.reusable(plan.output)
        if previous is not None and previous.key == plan.key:
            tally.entries[plan.output] = staging.link_previous(plan.output, previous, plan.key)
        else:
            to_render.append(plan)
    return to_render


def _article_pages(site: Site, plans: list[PagePlan]) -> Iterator[tuple[str, Article]]:
    """Each article page (output path) with the article it shows."""
    by_source = {article.source: article for article in site.articles}
    for plan in plans:
        if plan.kind == "article" and plan.args:
            article = by_source.get(str(plan.args[0]))
            if article is not None:
                yield plan.output, article


def build_from_site(
    config: Config,
    site: Site,
    make_renderer: RendererFactory,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
    limits: BuildLimits = LIMITS,
    corrections: CorrectionsMode | None = None,
) -> BuildReport:
    """Build ``public/`` from an already loaded site with the given renderer.

    ``corrections`` overrides ``[build] corrections`` ("fail": refuse silent corrections).

    Raises:
        ContentError: an image is missing or unreadable, two sources write one path,
            (with ``[build] budget = "fail"``) an article page is over the first-screen
            budget, or (with ``corrections = "fail"``) an article changed without a newer
            ``updated`` date (names its file and page).
        PrivacyError: a page would load a third-party resource (from the renderer), or a
            static file breaks the privacy rule (see :mod:`tamizdat.render.static_check`).
        InternalError: a renderer bug, or a worker stuck past ``limits.pool`` or dead.
        TamizdatError: whatever the renderer raises; ``public/`` is then left untouched.
    """
    started = time.monotonic()
    count = _worker_count(config, workers)
    settings = config.build
    manifest_path = settings.cache_dir / "manifest.json"
    with _build_lock(settings.cache_dir):
        media = plan_and_process_media(
            config, site, workers=count, progress=progress, limits=limits.pool
        )
        renderer = make_renderer(site, media.images)
        plans = renderer.plan()
        _check_unique(media, plans)
        check_static_files(
            (StaticFile(f.output, f.file, f.sha256, f.origin) for f in media.files),
            dict(settings.allow_scripts),
        )
        previous = read_manifest(manifest_path)
        # Before the staging tree is touched: a refused correction costs no rendering.
        records, found = check_corrections(
            _article_pages(site, plans),
            previous.articles,
            media.image_hashes,
            corrections or settings.corrections,
        )
        staging = Staging(settings.output_dir, previous, records_dir=settings.cache_dir)
        tally = _Tally()
        try:
            to_render = _place(staging, media, plans, tally)
            _render_pages(
                renderer, staging, to_render, count, limits, tally, progress, settings.budget
            )
            public_dirs = staging.commit(tally.entries)
        except BaseException:
            staging.abort()
            raise
        write_manifest(manifest_path, tally.entries, public_dirs, records)
    written = sorted(tally.written)
    return BuildReport(
        output_dir=settings.output_dir,
        articles=len(site.articles),
        written=tuple(written),
        unchanged=len(tally.entries) - len(written),
        removed=tuple(sorted(set(previous.files) - set(tally.entries))),
        pages_rendered=tally.rendered,
        pages_skipped=len(plans) - tally.rendered,
        images_processed=media.processed,
        images_cached=media.cached,
        warnings=(
            config.warnings
            + preview_base_url_warning(config)
            + site.warnings
            + media.warnings
            + tuple(c.message() for c in found)
            + tuple(sorted(tally.warnings))
        ),
        seconds=time.monotonic() - started,
        metadata_removed=media.cleaned,
        published_unstripped=media.unstripped,
    )


def build_site(
    config: Config,
    *,
    fingerprint: str | None = None,
    include_drafts: bool = False,
    workers: int | None = None,
    progress: Progress | None = None,
    corrections: CorrectionsMode | None = None,
    mirrors: tuple[str, ...] = (),
) -> BuildReport:
    """Load the content and build ``public/`` with the default theme (or its overrides).

    ``fingerprint`` (the root fingerprint, when signing keys exist) is printed on pages;
    ``corrections`` overrides ``[build] corrections``; ``mirrors`` (the addresses of the
    signed mirror list, which the publish stage writes) are listed on ``/mirrors/``.

    Raises:
        ConfigError, ContentError, PrivacyError: see :func:`build_from_site` and the loader;
            on any error the previous ``public/`` is left exactly as it was.
    """
    from tamizdat.content.loader import load_site
    from tamizdat.render.pages import Renderer

    site = load_site(config, include_drafts=include_drafts, progress=progress)

    theme_dir = config.build.theme_dir if config.build.theme_dir.is_dir() else None

    def make_renderer(site: Site, images: Mapping[str, ImageSet]) -> PageRenderer:
        return Renderer(
            site,
            config.site,
            images,
            fingerprint=fingerprint,
            theme_dir=theme_dir,
            cache_dir=config.build.cache_dir,
            links_inside=config.build.links_inside,
            mirrors=mirrors,
        )

    return build_from_site(
        config, site, make_renderer, workers=workers, progress=progress, corrections=corrections
    )
