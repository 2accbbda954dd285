"""Push a signed release to many mirrors at once: ordered, incremental, resumable.

Invariant (DESIGN.md invariant 2, TUF §5.2 from the mirror's side): per mirror, phases run
strictly in order — by-hash objects, natural paths, versioned metadata, unversioned
metadata, the state file, and ``timestamp.json`` last — and a phase starts only when the
one before it fully succeeded. A verifying client enters through the timestamp, so at every
instant a mirror serves the old release or the new one, never a mix. Deletions happen only
after the new timestamp is up. A failing mirror stops only itself.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from tamizdat.config import suggest
from tamizdat.config.mirrors import MirrorSettings
from tamizdat.errors import TamizdatError, TransportError, UserError
from tamizdat.progress import Progress
from tamizdat.publish.cors import CorsOutcome
from tamizdat.publish.forked import fork_available, run_forked
from tamizdat.publish.headers import PUBLISH_STATE, Phase, cache_control, content_type
from tamizdat.publish.plan import MirrorPlan, plan_mirror
from tamizdat.publish.release import ReleaseFile, ReleaseManifest, read_release
from tamizdat.publish.report import MirrorReport, PublishReport
from tamizdat.publish.state import Journal, PublishState
from tamizdat.publish.stores import Store

__all__ = [
    "MirrorReport",
    "PublishReport",
    "RetryPolicy",
    "publish_release",
    "select_mirrors",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and jitter for transport failures."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int) -> float:
        backoff: float = min(self.max_delay, self.base_delay * 2.0**attempt)
        return backoff * random.uniform(0.5, 1.0)


@dataclass
class _Run:
    """Shared, read-only settings of one publish, plus the thread-safe progress hook."""

    manifest: ReleaseManifest
    dry_run: bool
    keep_releases: int
    grace: timedelta
    retry: RetryPolicy
    workers: int
    state_dir: Path | None
    now: datetime
    progress: Progress | None
    sleep: Callable[[float], None] = time.sleep
    lock: threading.Lock = field(default_factory=threading.Lock)

    def report(self, task: str, done: int, total: int, detail: str) -> None:
        if self.progress is not None:
            with self.lock:  # one terminal, many mirror threads
                self.progress(task, done, total, detail)

    def retried(self, what: str, store: Store, fn: Callable[[], T]) -> T:
        for attempt in range(self.retry.attempts):
            try:
                return fn()
            except TransportError as exc:
                if attempt + 1 >= self.retry.attempts:
                    raise
                delay = self.retry.delay(attempt)
                log.info("%s on %s failed (%s); retrying in %.1fs", what, store.name, exc, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


class _Pusher:
    """Uploads one mirror's plan, phase by phase."""

    def __init__(self, run: _Run, store: Store, journal: Journal, plan: MirrorPlan) -> None:
        self.run = run
        self.store = store
        self.journal = journal
        self.plan = plan
        self.total = len(plan.uploads) + (1 if plan.state is not None else 0)
        self.done = 0
        self.bytes = 0
        self.lock = threading.Lock()

    def upload(self, item: ReleaseFile) -> None:
        atomic = item.phase is not Phase.BY_HASH
        self.run.retried(
            f"upload {item.path}",
            self.store,
            lambda: self.store.put_file(
                item.path,
                item.local,
                content_type=content_type(item.path),
                cache_control=cache_control(item.path),
                atomic=atomic,
            ),
        )
        self.journal.record(item.path, item.size, item.sha256)
        self._advance(item.size)

    def upload_state(self, data: bytes) -> None:
        self.run.retried(
            "upload state",
            self.store,
            lambda: self.store.put_bytes(
                PUBLISH_STATE,
                data,
                content_type="application/json",
                cache_control=cache_control(PUBLISH_STATE),
                atomic=True,
            ),
        )
        self._advance(len(data))

    def _advance(self, size: int) -> None:
        with self.lock:
            self.done += 1
            self.bytes += size
            done, sent = self.done, self.bytes
        self.run.report(self.store.name, done, self.total, f"{sent / 1e6:.1f} MB")

    def push(self) -> None:
        """Run every phase in order; raise on the first failure, before later phases."""
        by_phase: dict[Phase, list[ReleaseFile]] = {}
        for item in self.plan.uploads:
            by_phase.setdefault(item.phase, []).append(item)
        with ThreadPoolExecutor(self.run.workers, thread_name_prefix=self.store.name) as pool:
            for phase in Phase:
                if phase is Phase.STATE:
                    if self.plan.state is not None:
                        self.upload_state(self.plan.state)
                    continue
                items = by_phase.get(phase, [])
                if phase is Phase.TIMESTAMP or len(items) <= 1:
                    for item in items:
                        self.upload(item)
                    continue
                futures = [pool.submit(self.upload, item) for item in items]
                finished, pending = wait(futures, return_when=FIRST_EXCEPTION)
                for future in pending:
                    future.cancel()
                for future in finished:
                    future.result()  # re-raise the first failure of this phase
        # A store served through a root pointer switches to the new release here, in one
        # step; old files go only after that (for other stores commit does nothing).
        self.run.retried("commit", self.store, self.store.commit)
        if self.plan.delete_after:
            self.run.retried(
                "delete", self.store, lambda: self.store.delete(self.plan.delete_after)
            )
            for path in self.plan.delete_after:
                self.journal.record(path, None)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _push_one(run: _Run, mirror: MirrorSettings, open_store: Callable[..., Store]) -> MirrorReport:
    started = time.monotonic()
    journal = Journal(run.state_dir, mirror.name)
    plan: MirrorPlan | None = None
    pusher: _Pusher | None = None
    store: Store | None = None
    cors: CorsOutcome | None = None
    try:
        store = open_store(mirror)
        live = store
        previous_bytes = run.retried("read state", live, lambda: live.get(PUBLISH_STATE))
        if previous_bytes is not None and journal.marker == _digest(previous_bytes):
            # The mirror holds exactly the state our last complete push left: skip the
            # listing (minutes over SFTP for a large archive) and trust the journal.
            on_mirror = journal.listing()
        else:
            on_mirror = run.retried("list", live, live.list_sizes)
            journal.forget_missing(on_mirror)
        plan = plan_mirror(
            run.manifest,
            on_mirror,
            journal,
            PublishState.parse(previous_bytes),
            previous_bytes,
            keep_releases=run.keep_releases,
            grace=run.grace,
            now=run.now,
        )
        if not run.dry_run:
            pusher = _Pusher(run, live, journal, plan)
            pusher.push()
            final_state = plan.state if plan.state is not None else previous_bytes
            journal.compact(_digest(final_state) if final_state else None)
            cors = _allow_cross_origin(run, live)
    except TamizdatError as exc:
        # Only logged at info: the report says it, once (the CLI prints the report).
        log.info("mirror %s failed: %s", mirror.name, exc)
        failed = _mirror_report(mirror.name, plan, pusher, started, error=str(exc), dry=run.dry_run)
        return replace(failed, exit_code=int(exc.exit_code))
    finally:
        journal.close()
        if store is not None:
            store.close()
    report = _mirror_report(mirror.name, plan, pusher, started, error=None, dry=run.dry_run)
    if cors is None:
        return report
    return replace(report, cors_state=cors.state, cors_detail=cors.detail)


def _allow_cross_origin(run: _Run, store: Store) -> CorsOutcome:
    """The store's cross-origin rule, set after the release is up: a store that cannot take
    it (or fails at it) is a warning in the report, never a failed publish."""
    try:
        return run.retried("set cross-origin rule", store, store.allow_cross_origin)
    except TransportError as exc:
        return CorsOutcome("unsupported", f"could not set the cross-origin rule: {exc}")


def _mirror_report(
    name: str,
    plan: MirrorPlan | None,
    pusher: _Pusher | None,
    started: float,
    *,
    error: str | None,
    dry: bool,
) -> MirrorReport:
    return MirrorReport(
        name=name,
        ok=error is None,
        error=error,
        planned=plan.phase_totals() if plan else {},
        uploaded_objects=pusher.done if pusher else 0,
        uploaded_bytes=pusher.bytes if pusher else 0,
        deleted=len(plan.delete_after) if plan and pusher and error is None else 0,
        seconds=time.monotonic() - started,
        paths=tuple(f.path for f in plan.uploads) if plan and dry else (),
    )


def publish_release(
    release_dir: Path,
    mirrors: Sequence[MirrorSettings],
    *,
    open_store: Callable[[MirrorSettings], Store],
    dry_run: bool = False,
    keep_releases: int = 3,
    grace: timedelta = timedelta(days=7),
    progress: Progress | None = None,
    max_workers_per_mirror: int = 4,
    state_dir: Path | None = None,
    retry: RetryPolicy | None = None,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    processes: bool = False,
) -> PublishReport:
    """Push ``release_dir`` to every mirror in ``mirrors`` concurrently.

    Each mirror gets a thread, or with ``processes`` (and more than one mirror, on a system
    that can fork) a forked process of its own, so mirrors do not queue on one interpreter
    lock. A mirror's failure is recorded in its :class:`MirrorReport` and never stops the
    others. ``state_dir`` holds the local upload journals (one per mirror) that make re-runs
    cheap.

    Raises:
        UserError: ``release_dir`` holds no signed release.
    """
    started = time.monotonic()
    run = _Run(
        manifest=read_release(
            release_dir, hash_cache=state_dir / "release-hashes.json" if state_dir else None
        ),
        dry_run=dry_run,
        keep_releases=keep_releases,
        grace=grace,
        retry=retry or RetryPolicy(),
        workers=max(1, max_workers_per_mirror),
        state_dir=state_dir,
        now=now or datetime.now(UTC),
        progress=progress,
        sleep=sleep,
    )
    if processes and len(mirrors) > 1 and fork_available():
        reports = _push_forked(run, list(mirrors), open_store, started)
        return PublishReport(
            version=run.manifest.version,
            dry_run=dry_run,
            mirrors=tuple(reports),
            seconds=time.monotonic() - started,
        )
    results: dict[str, MirrorReport] = {}

    def work(mirror: MirrorSettings) -> None:
        try:
            results[mirror.name] = _push_one(run, mirror, open_store)
        except Exception as exc:  # a bug on one mirror's thread must still be reported
            log.exception("internal error while publishing to %s", mirror.name)
            results[mirror.name] = _mirror_report(
                mirror.name, None, None, started, error=f"internal error: {exc!r}", dry=dry_run
            )

    threads = [
        threading.Thread(target=work, args=(m,), name=f"publish-{m.name}", daemon=True)
        for m in mirrors
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return PublishReport(
        version=run.manifest.version,
        dry_run=dry_run,
        mirrors=tuple(results[m.name] for m in mirrors),
        seconds=time.monotonic() - started,
    )


def _push_forked(
    run: _Run,
    mirrors: list[MirrorSettings],
    open_store: Callable[[MirrorSettings], Store],
    started: float,
) -> list[MirrorReport]:
    def work(index: int, report: Progress) -> MirrorReport:
        mine = replace(run, progress=report, lock=threading.Lock())
        return _push_one(mine, mirrors[index], open_store)

    def failed(index: int, why: str) -> MirrorReport:
        log.info("mirror %s failed: %s", mirrors[index].name, why)
        return _mirror_report(mirrors[index].name, None, None, started, error=why, dry=run.dry_run)

    return run_forked(len(mirrors), work, failed, run.progress, [m.name for m in mirrors])


def select_mirrors(
    mirrors: Sequence[MirrorSettings], names: Sequence[str] = ()
) -> tuple[MirrorSettings, ...]:
    """The mirrors to push to: the named ones, or every enabled, unretired one.

    Raises:
        UserError: a name is unknown (with a "did you mean" hint) or names a retired mirror,
            or no mirror is configured.
    """
    if not names:
        chosen = tuple(m for m in mirrors if m.enabled and not m.retired)
        if not chosen:
            raise UserError(
                "no enabled mirror in tamizdat.toml",
                where="[[mirrors]]",
                hint="add one with 'tamizdat mirrors add NAME URL --public-url URL'",
            )
        return chosen
    by_name = {m.name: m for m in mirrors}
    picked: list[MirrorSettings] = []
    for name in dict.fromkeys(names):
        if name not in by_name:
            raise UserError(
                f"no mirror named {name!r}", where="--mirror", hint=suggest(name, by_name)
            )
        if by_name[name].retired:
            raise UserError(
                f"mirror {name!r} was retired on {by_name[name].retired}", where="--mirror"
            )
        picked.append(by_name[name])
    return tuple(picked)
