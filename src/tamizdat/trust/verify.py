"""Verify a whole release from an untrusted source: the orchestrator around TrustPolicy.

Invariant: :func:`verify_release` returns only for an *authentic* release (outcome
``current`` or ``stale``) and raises an :class:`~tamizdat.errors.UntrustedContentError`
subclass for anything else; only then is the seen-versions store updated. The wrapper
:func:`verify_release_report` turns those errors into a report with outcome ``rollback``,
``tampered`` or ``not-this-publisher`` (transport errors still raise: a mirror that does not
answer says nothing about authenticity). Every fetch is capped: metadata by
:class:`~tamizdat.trust.policy.Limits`, targets by their signed length.

With ``check="all"`` a source that can list its files is also audited for files no role
signed (:mod:`tamizdat.trust.unsigned`). The report's ``published`` is the time of the
publication-log entry bound to this very snapshot (:func:`~tamizdat.trust.workflow.
release_entry`), never a time from an unsigned or older place.

The steps, in order, are written down in docs/verification-policy.md and implemented once, in
:class:`~tamizdat.trust.workflow.ClientWorkflow`; one-page lookups are in
:mod:`tamizdat.trust.pages` (re-exported here).
"""

from __future__ import annotations

import dataclasses
import logging
import random
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from tuf.api.metadata import TargetFile

from tamizdat.errors import (
    LogForkError,
    NotThisPublisherError,
    RollbackError,
    UntrustedContentError,
)
from tamizdat.layout import LOG_JSON
from tamizdat.progress import Progress, report
from tamizdat.trust.fingerprint import normalize_fingerprint
from tamizdat.trust.log import PublicationLog
from tamizdat.trust.pages import PageReport, find_page, load_release, whole_release
from tamizdat.trust.policy import Limits, SeenVersions
from tamizdat.trust.sources import ListableSource, Source
from tamizdat.trust.state import SeenStore
from tamizdat.trust.unsigned import ListingAudit, audit_listing
from tamizdat.trust.workflow import LoadedRelease, release_entry

__all__ = [
    "Check",
    "LoadedRelease",
    "Outcome",
    "PageReport",
    "VerifyReport",
    "find_page",
    "load_release",
    "outcome_of",
    "verify_release",
    "verify_release_report",
]

logger = logging.getLogger(__name__)

Outcome = Literal["current", "stale", "rollback", "tampered", "not-this-publisher"]
Check = Literal["all", "sample", "metadata"]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The answer for one source. ``problem``/``where`` are set for the refusing outcomes.

    ``published`` is the release's signing time from its own log entry (None if unknown).
    ``listing_checked`` says whether the source was audited for unsigned files (only
    ``check="all"`` on a listable source); ``unreferenced_objects`` counts the by-hash
    objects of other releases it tolerated.
    """

    outcome: Outcome
    source: str
    version: int
    timestamp_version: int
    published: datetime | None
    expires: datetime | None
    files_checked: int
    problem: str | None = None
    where: str | None = None
    log_head: tuple[int, str] | None = None
    stale_roles: tuple[str, ...] = ()
    listing_checked: bool = False
    unreferenced_objects: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("published", "expires"):
            data[key] = data[key].isoformat() if data[key] else None
        data["log_head"] = list(self.log_head) if self.log_head else None
        data["stale_roles"] = list(self.stale_roles)
        return data


def _pick(targets: dict[str, TargetFile], check: Check, size: int, seed: int | None) -> list[str]:
    paths = sorted(targets)
    if check == "metadata":
        return [p for p in paths if p == LOG_JSON]
    if check == "sample" and len(paths) > size:
        chosen = set(random.Random(seed).sample(paths, size))
        chosen.update(p for p in paths if p == LOG_JSON)
        return sorted(chosen)
    return paths


def _audit(
    source: Source, targets: dict[str, TargetFile], check: Check, limits: Limits | None
) -> ListingAudit | None:
    if check != "all" or not isinstance(source, ListableSource):
        return None
    cap = (limits or Limits()).object_max_bytes
    return audit_listing(source, targets, object_max_bytes=cap)


def verify_release(
    source: Source,
    *,
    fingerprint: str,
    seen: SeenStore | None = None,
    check: Check = "all",
    sample_size: int = 50,
    now: datetime | None = None,
    limits: Limits | None = None,
    natural: bool | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
) -> VerifyReport:
    """Verify the release at ``source`` against the pinned ``fingerprint``.

    ``natural`` checks the natural-path copy of each file too (default: for every source but
    HTTP mirrors). ``seen`` is read before and updated after a successful verification.
    With ``check="all"`` a :class:`~tamizdat.trust.sources.ListableSource` must hold no file
    that no role signed (see :mod:`tamizdat.trust.unsigned` for what is tolerated).

    Raises:
        NotThisPublisherError, BadSignatureError, RollbackError, TamperedError (also an
        unsigned file), MixAndMatchError, OversizeError, UnauthorizedPathError,
        LogForkError: not authentic. TransportError: the source failed.
        UserError: bad fingerprint or state store.
    """
    fingerprint = normalize_fingerprint(fingerprint)
    previous = seen.load(fingerprint) if seen else SeenVersions()
    workflow = whole_release(source, fingerprint=fingerprint, seen=previous, now=now, limits=limits)
    loaded = workflow.release()
    policy = loaded.policy
    targets = policy.delegations.resolved_targets()
    natural = not source.remote if natural is None else natural
    chosen = _pick(targets, check, sample_size, seed)
    log: PublicationLog | None = None
    for done, path in enumerate(chosen, 1):
        data = workflow.fetch_target(path, targets[path], natural=natural)
        if path == LOG_JSON:
            log = workflow.check_log(data)
        report(progress, "verifying", done, len(chosen), path)
    audit = _audit(source, targets, check, limits)
    head = log.head if log and log.entries else None
    remembered = policy.seen_after()
    if head is not None:
        remembered = dataclasses.replace(remembered, log_head=head)
    if seen is not None:
        seen.save(fingerprint, remembered)
    entry = release_entry(log, loaded)
    return VerifyReport(
        outcome="stale" if policy.stale else "current",
        source=source.name,
        version=policy.snapshot.version,
        timestamp_version=policy.timestamp.version,
        published=entry.moment if entry else None,
        expires=policy.expires,
        files_checked=len(chosen),
        log_head=head,
        stale_roles=tuple(sorted(policy.stale_roles)),
        listing_checked=audit is not None,
        unreferenced_objects=len(audit.unreferenced_objects) if audit else 0,
    )


def outcome_of(error: UntrustedContentError) -> Outcome:
    """The report outcome for a refusing error."""
    if isinstance(error, NotThisPublisherError):
        return "not-this-publisher"
    if isinstance(error, RollbackError | LogForkError):
        return "rollback"
    return "tampered"


def verify_release_report(source: Source, **kwargs: Any) -> VerifyReport:
    """:func:`verify_release`, with refusals as a report instead of an exception.

    Raises:
        TransportError: the source did not answer. UserError: bad fingerprint or state.
    """
    try:
        return verify_release(source, **kwargs)
    except UntrustedContentError as error:
        logger.info("refused %s: %s", source.name, error)
        return VerifyReport(
            outcome=outcome_of(error),
            source=source.name,
            version=0,
            timestamp_version=0,
            published=None,
            expires=None,
            files_checked=0,
            problem=error.message,
            where=error.where,
        )
