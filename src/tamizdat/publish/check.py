"""``mirrors check``: which mirrors serve the current, authentic release — and which do not.

Invariant: a mirror is called *current* only after its metadata chain verified against the
pinned root (the verification policy in :mod:`tamizdat.trust.verify.whole`, TUF §5.3–5.6, with a
sample of target files checked against their signed hashes); any refusal is *tampered* or
*not-this-publisher* with the file named, a transport failure is *unreachable* with the
error, and an authentic but older or expired copy is *lagging* or *stale*. A reachable mirror
whose answers a browser on another origin may not read (no ``Access-Control-Allow-Origin:
*``, see :mod:`tamizdat.publish.cors`) keeps its state and gets a warning: readers of the
Python client are served, the browser worker's fail-over to it is not.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tamizdat.config.mirrors import MirrorSettings
from tamizdat.errors import ExitCode, TransportError, UserError
from tamizdat.fingerprint import normalize_fingerprint
from tamizdat.layout import metadata_path
from tamizdat.progress import Progress, report
from tamizdat.publish.cors import CrossOriginAnswer, probe_cross_origin
from tamizdat.publish.history import HistoryEntry, append_history, read_timelines
from tamizdat.publish.mirrorlist import active_mirrors
from tamizdat.transport.network import Deadline, NetworkLimits
from tamizdat.transport.sources import HttpSource, Source
from tamizdat.trust.verify.whole import VerifyReport, verify_release_report

__all__ = [
    "CheckReport",
    "MirrorHealth",
    "MirrorState",
    "check_mirrors",
    "local_release_version",
]

MirrorState = Literal[
    "current", "lagging", "stale", "unreachable", "not-this-publisher", "tampered"
]

# Worst last: the exit code is the worst state's.
_SEVERITY: dict[str, int] = {
    "current": 0,
    "lagging": 1,
    "stale": 2,
    "unreachable": 3,
    "not-this-publisher": 4,
    "tampered": 5,
}
_EXIT: dict[str, ExitCode] = {
    "current": ExitCode.OK,
    "lagging": ExitCode.STALE,
    "stale": ExitCode.STALE,
    "unreachable": ExitCode.UNREACHABLE,
    "not-this-publisher": ExitCode.NOT_THIS_PUBLISHER,
    "tampered": ExitCode.TAMPERED,
}

Verifier = Callable[..., VerifyReport]
SourceFactory = Callable[[MirrorSettings], Source]
# Asks a mirror's public URL for its cross-origin header (raises TransportError).
CorsProbe = Callable[[MirrorSettings], CrossOriginAnswer]


@dataclass(frozen=True, slots=True)
class MirrorHealth:
    """One mirror's state in one check."""

    name: str
    url: str
    state: MirrorState
    version: int
    lagging_by: int
    published: datetime | None
    expires: datetime | None
    problem: str | None
    where: str | None
    latency_ms: int
    failing_since: datetime | None = None
    time_to_block_seconds: float | None = None
    # True/False once asked; None when not asked (unreachable, or the probe failed).
    cross_origin: bool | None = None
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "url": self.url,
            "state": self.state,
            "version": self.version,
            "lagging_by": self.lagging_by,
            "published": self.published.isoformat() if self.published else None,
            "expires": self.expires.isoformat() if self.expires else None,
            "problem": self.problem,
            "where": self.where,
            "latency_ms": self.latency_ms,
            "failing_since": self.failing_since.isoformat() if self.failing_since else None,
            "time_to_block_seconds": self.time_to_block_seconds,
            "cross_origin": self.cross_origin,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True, slots=True)
class CheckReport:
    """Every checked mirror, and the local release they were compared with."""

    checked_at: datetime
    local_version: int
    mirrors: tuple[MirrorHealth, ...]

    @property
    def worst(self) -> MirrorState:
        if not self.mirrors:
            return "current"
        return max(self.mirrors, key=lambda m: _SEVERITY[m.state]).state

    @property
    def exit_code(self) -> ExitCode:
        return _EXIT[self.worst]

    def to_json(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at.isoformat(),
            "local_version": self.local_version,
            "worst": self.worst,
            "mirrors": [m.to_json() for m in self.mirrors],
        }


def local_release_version(release_dir: Path) -> int:
    """The snapshot version the local ``timestamp.json`` names (the release number).

    Raises:
        UserError: there is no readable signed release in ``release_dir``.
    """
    file = Path(release_dir) / metadata_path("timestamp", None)
    try:
        doc = json.loads(file.read_bytes())
        version = doc["signed"]["meta"]["snapshot.json"]["version"]
    except FileNotFoundError:
        raise UserError(
            "no signed release here", where=str(file), hint="run 'tamizdat sign' first"
        ) from None
    except (ValueError, KeyError, TypeError):
        raise UserError("expected TUF timestamp metadata", where=str(file)) from None
    return int(version)


def _classify(result: VerifyReport, local_version: int) -> tuple[MirrorState, int]:
    if result.outcome in ("tampered", "rollback"):
        return "tampered", 0
    if result.outcome == "not-this-publisher":
        return "not-this-publisher", 0
    lag = max(0, local_version - result.version)
    if result.outcome == "stale":
        return "stale", lag
    return ("lagging" if lag else "current"), lag


def _check_one(
    mirror: MirrorSettings,
    *,
    verify: Verifier,
    make_source: SourceFactory,
    probe: CorsProbe | None,
    fingerprint: str,
    local_version: int,
    sample_size: int,
    now: datetime,
) -> MirrorHealth:
    started = time.monotonic()
    try:
        result = verify(
            make_source(mirror),
            fingerprint=fingerprint,
            check="sample",
            sample_size=sample_size,
            now=now,
        )
    except TransportError as exc:
        return MirrorHealth(
            name=mirror.name,
            url=mirror.public_url,
            state="unreachable",
            version=0,
            lagging_by=0,
            published=None,
            expires=None,
            problem=exc.message,
            where=exc.where or mirror.public_url,
            latency_ms=int((time.monotonic() - started) * 1000),
        )
    state, lag = _classify(result, local_version)
    cross_origin, warnings = _ask_cross_origin(mirror, probe)
    return MirrorHealth(
        name=mirror.name,
        url=mirror.public_url,
        state=state,
        version=result.version,
        lagging_by=lag,
        published=result.published,
        expires=result.expires,
        problem=result.problem,
        where=result.where,
        latency_ms=int((time.monotonic() - started) * 1000),
        cross_origin=cross_origin,
        warnings=warnings,
    )


def _ask_cross_origin(
    mirror: MirrorSettings, probe: CorsProbe | None
) -> tuple[bool | None, tuple[str, ...]]:
    if probe is None:
        return None, ()
    try:
        answer = probe(mirror)
    except TransportError as exc:
        return None, (f"could not ask for the cross-origin header: {exc.message}",)
    problem = answer.problem()
    if problem is None:
        return True, ()
    return False, (
        f"{problem}: the browser worker on other mirrors' addresses cannot read it "
        f"(tamizdat mirrors headers --server nginx|apache|caddy {mirror.name})",
    )


def _with_history(
    healths: Sequence[MirrorHealth],
    mirrors: Sequence[MirrorSettings],
    history_file: Path,
    now: datetime,
) -> tuple[MirrorHealth, ...]:
    append_history(
        history_file,
        (HistoryEntry(now, h.name, h.state, h.version, h.latency_ms) for h in healths),
    )
    timelines = read_timelines(history_file)
    created = {m.name: m.created for m in mirrors}
    out = []
    for health in healths:
        line = timelines.get(health.name)
        since = line.failing_since if line else None
        ttb = None
        if since is not None and line is not None:
            start = line.first_seen
            if created.get(health.name):
                try:
                    start = datetime.fromisoformat(str(created[health.name])).replace(tzinfo=UTC)
                except ValueError:
                    start = line.first_seen
            ttb = max(0.0, (since - start).total_seconds())
        out.append(
            MirrorHealth(
                **{
                    **{f: getattr(health, f) for f in MirrorHealth.__dataclass_fields__},
                    "failing_since": since,
                    "time_to_block_seconds": ttb,
                }
            )
        )
    return tuple(out)


def check_mirrors(
    mirrors: Sequence[MirrorSettings],
    *,
    fingerprint: str,
    local_release_dir: Path,
    sample_size: int = 20,
    timeout: float = 10.0,
    deadline: float = 120.0,
    history_file: Path | None = None,
    now: datetime | None = None,
    ca_file: str | None = None,
    verify: Verifier = verify_release_report,
    make_source: SourceFactory | None = None,
    probe_cors: CorsProbe | None = None,
    progress: Progress | None = None,
) -> CheckReport:
    """Check every active mirror's public URL concurrently, all within ``deadline`` seconds
    (``timeout``: one network read); a mirror still not done by then is unreachable.

    Each reachable mirror is also asked, as a browser on another origin would ask, whether
    it allows cross-origin reads (``probe_cors``; by default a GET of its timestamp over
    HTTP when the mirrors are read over HTTP, none when ``make_source`` replaces HTTP).

    Raises:
        UserError: no signed local release to compare with, or a malformed fingerprint.
    """
    fingerprint = normalize_fingerprint(fingerprint)
    moment = now or datetime.now(UTC)
    local_version = local_release_version(local_release_dir)
    chosen = active_mirrors(mirrors)

    limits = NetworkLimits(read_timeout=timeout, deadline=deadline)
    whole = Deadline(deadline)  # one clock for all mirrors: the check ends in time
    opened: list[HttpSource] = []

    def http_source(mirror: MirrorSettings) -> Source:
        source = HttpSource(
            mirror.public_url, ca_file=ca_file, limits=limits, deadline=whole, name=mirror.name
        )
        opened.append(source)
        return source

    factory = make_source or http_source

    def http_probe(mirror: MirrorSettings) -> CrossOriginAnswer:
        left = whole.remaining()
        limit = timeout if left is None else min(timeout, max(0.1, left))
        return probe_cross_origin(mirror.public_url, timeout=limit, ca_file=ca_file)

    probe = probe_cors or (http_probe if make_source is None else None)
    done = 0

    def one(mirror: MirrorSettings) -> MirrorHealth:
        nonlocal done
        health = _check_one(
            mirror,
            verify=verify,
            make_source=factory,
            probe=probe,
            fingerprint=fingerprint,
            local_version=local_version,
            sample_size=sample_size,
            now=moment,
        )
        done += 1
        report(progress, "mirrors check", done, len(chosen), mirror.name)
        return health

    try:
        with ThreadPoolExecutor(max(1, min(16, len(chosen)))) as pool:
            healths = tuple(pool.map(one, chosen))
    finally:
        for source in opened:
            source.close()
    if history_file is not None:
        healths = _with_history(healths, chosen, history_file, moment)
    return CheckReport(checked_at=moment, local_version=local_version, mirrors=healths)
