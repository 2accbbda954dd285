"""One page against a verified release: is it byte-for-byte a page this publisher signed?

Invariant: the answer comes only from a release whose metadata verified completely
(:func:`load_release`), matching on length *and* SHA-256 of the
signed entry; the release and time the content first appeared come from the verified
publication log. The seen-versions store is read (rollback protection), never written:
looking up a page does not vouch for the whole copy.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from tamizdat.fingerprint import normalize_fingerprint
from tamizdat.layout import LOG_JSON
from tamizdat.transport.fetch import SourceFetcher
from tamizdat.transport.sources import Source
from tamizdat.trust.log import path_history
from tamizdat.trust.verify.policy import Limits, SeenVersions
from tamizdat.trust.verify.seen import SeenStore
from tamizdat.trust.verify.workflow import ClientWorkflow, LoadedRelease

__all__ = ["PageReport", "find_page", "load_release", "whole_release"]


def whole_release(
    source: Source,
    *,
    fingerprint: str,
    seen: SeenVersions | None = None,
    now: datetime | None = None,
    limits: Limits | None = None,
) -> ClientWorkflow:
    """The workflow after steps 1–7 over ``source``: every role verified on every edge.

    Raises:
        NotThisPublisherError, BadSignatureError, RollbackError, MixAndMatchError,
        TamperedError, OversizeError, UnauthorizedPathError; TransportError.
    """
    workflow = ClientWorkflow(
        SourceFetcher(source),
        now=now or datetime.now(UTC),
        fingerprint=normalize_fingerprint(fingerprint),
        seen=seen,
        limits=limits,
    )
    workflow.refresh()
    workflow.load_all_roles()
    return workflow


def load_release(
    source: Source,
    *,
    fingerprint: str,
    seen: SeenVersions | None = None,
    now: datetime | None = None,
    limits: Limits | None = None,
) -> LoadedRelease:
    """Fetch and verify all metadata of the release ``source`` serves (no target bytes).

    Raises:
        As :func:`whole_release`.
    """
    return whole_release(
        source, fingerprint=fingerprint, seen=seen, now=now, limits=limits
    ).release()


@dataclass(frozen=True, slots=True)
class PageReport:
    """Is this page byte-for-byte one the publisher signed? ``paths`` is empty if not.

    ``first_seen`` maps each matching path to the release (and time) where this content
    appeared: its last "added" or "changed" entry in the publication log.
    """

    signed: bool
    source: str
    release: int
    stale: bool
    sha256: str
    length: int
    paths: tuple[str, ...]
    first_seen: dict[str, tuple[int, str]]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["paths"] = list(self.paths)
        data["first_seen"] = {p: {"release": v, "time": t} for p, (v, t) in self.first_seen.items()}
        return data


def find_page(
    source: Source,
    page: bytes,
    *,
    fingerprint: str,
    seen: SeenStore | None = None,
    now: datetime | None = None,
    limits: Limits | None = None,
) -> PageReport:
    """Search the verified release at ``source`` for a file equal to ``page`` (sha256, length).

    ``seen`` is only read (rollback protection), never updated.

    Raises:
        As :func:`load_release` for a release that is not
        authentic; TamperedError/LogForkError for a bad log; TransportError.
    """
    fingerprint = normalize_fingerprint(fingerprint)
    previous = seen.load(fingerprint) if seen else SeenVersions()
    workflow = whole_release(source, fingerprint=fingerprint, seen=previous, now=now, limits=limits)
    loaded = workflow.release()
    targets = loaded.policy.delegations.resolved_targets()
    digest = hashlib.sha256(page).hexdigest()
    paths = tuple(
        p
        for p, info in targets.items()
        if info.length == len(page) and info.hashes.get("sha256") == digest
    )
    first_seen: dict[str, tuple[int, str]] = {}
    if paths and LOG_JSON in targets:
        log_bytes = workflow.fetch_target(LOG_JSON, targets[LOG_JSON])
        log = workflow.check_log(log_bytes, history=True)
        for path in paths:
            events = [e for e in path_history(log, path) if e.kind != "removed"]
            if events:
                first_seen[path] = (events[-1].version, events[-1].time)
    return PageReport(
        signed=bool(paths),
        source=source.name,
        release=loaded.policy.snapshot.version,
        stale=loaded.policy.stale,
        sha256=digest,
        length=len(page),
        paths=paths,
        first_seen=first_seen,
    )
