"""What the reader commands do: subscribe, sync from mirrors, import and export bundles.

Invariant: each operation either completes or leaves the store as it was (see
:mod:`tamizdat.reader.store`); a bundle is checked for hostile structure before anything
else happens, and an import verifies every file before the first one is written.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from tamizdat.channels.bundle import BundleLimits, open_bundle, write_bundle
from tamizdat.errors import BundleError, UserError
from tamizdat.fingerprint import normalize_fingerprint
from tamizdat.progress import Progress
from tamizdat.reader.health import failed_recently, load_memory, order_mirrors, remember_sync
from tamizdat.reader.store import Store, Subscription, reader_home, subscription_names
from tamizdat.reader.sync import SyncReport, update_store
from tamizdat.transport.failover import MirrorPool
from tamizdat.transport.network import Deadline, NetworkLimits
from tamizdat.transport.sources import HttpSource

__all__ = [
    "TOFU_WARNING",
    "SyncOptions",
    "add_subscription",
    "edit_subscription",
    "export_bundle",
    "import_bundle",
    "list_subscriptions",
    "remove_subscription",
    "sync_subscription",
]

logger = logging.getLogger(__name__)

TOFU_WARNING = (
    "trusting on first use: the first root a mirror (or bundle) hands you is pinned without "
    "any check. If that copy was forged (a cloned site, a censor's mirror), every later "
    "update will be checked against the forger's keys. Compare the fingerprint shown after "
    "the first sync with one printed by the publisher."
)


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """Network settings of one sync; the deadlines bound a censor's stalls.

    ``timeout`` (per read) and ``deadline`` (whole sync) override the fields of ``limits``
    of the same meaning (the command line sets these two).
    """

    ca_file: str | None = None
    timeout: float = 10.0
    deadline: float | None = 120.0
    quorum: int = 2
    workers: int = 8
    limits: NetworkLimits = field(default_factory=NetworkLimits)


def _check_url(url: str) -> str:
    if not re.match(r"^https?://[^/\s]+", url):
        raise UserError(f"expected an http(s):// mirror URL, found {url!r}", where="--mirror")
    return url if url.endswith("/") else url + "/"


def add_subscription(
    name: str,
    *,
    mirrors: tuple[str, ...] = (),
    fingerprint: str | None = None,
    trust_on_first_use: bool = False,
    store_dir: Path | str | None = None,
) -> Store:
    """Subscribe to a publisher (nothing is fetched yet).

    Raises:
        UserError: no fingerprint and no ``trust_on_first_use``; a bad name, URL or
            fingerprint; the name is already subscribed.
    """
    if fingerprint is None and not trust_on_first_use:
        raise UserError(
            "expected the publisher's fingerprint, found none",
            where="--fingerprint",
            hint="copy it from the publisher's pages or printout, or pass "
            "--trust-on-first-use if you accept the risk",
        )
    pinned = normalize_fingerprint(fingerprint) if fingerprint else None
    sub = Subscription(
        name=name,
        fingerprint=pinned,
        trust_on_first_use=pinned is None,
        mirrors=tuple(_check_url(u) for u in mirrors),
    )
    return Store.create(sub, store_dir)


def edit_subscription(
    store: Store,
    *,
    mirrors: tuple[str, ...] | None = None,
    add_mirrors: tuple[str, ...] = (),
    remove_mirrors: tuple[str, ...] = (),
    fingerprint: str | None = None,
) -> Subscription:
    """Change a subscription's mirrors or pinned fingerprint; every value is checked before
    anything is written, and the file is replaced in one step.

    A new fingerprint is accepted only while the store holds no release of another one:
    a different fingerprint is a different publisher, whose copies the held release (and
    its rollback floors) must not be mixed with.

    Raises:
        UserError: a bad URL or fingerprint, a mirror to remove that is not there, or a
            fingerprint that differs from the held release's.
    """
    sub = store.subscription
    current = list(sub.mirrors if mirrors is None else (_check_url(u) for u in mirrors))
    for url in (_check_url(u) for u in add_mirrors):
        if url not in current:
            current.append(url)
    for url in remove_mirrors:
        normal = url if url.endswith("/") else url + "/"
        if normal not in current:
            raise UserError(
                f"{sub.name!r} has no mirror {url!r}",
                where="--remove-mirror",
                hint=f"its mirrors: {', '.join(current) or 'none'}",
            )
        current.remove(normal)
    pinned = sub.fingerprint
    if fingerprint is not None:
        pinned = normalize_fingerprint(fingerprint)
        held = store.release
        if held is not None and held.fingerprint != pinned:
            raise UserError(
                f"{sub.name!r} holds release {held.version} of the publisher with fingerprint "
                f"{held.fingerprint}; a different fingerprint is a different publisher",
                where="--fingerprint",
                hint=f"to follow another publisher, 'tamizdat reader remove {sub.name}' and "
                "add it again (or add it under another name)",
            )
    changed = replace(
        sub,
        mirrors=tuple(current),
        fingerprint=pinned,
        trust_on_first_use=sub.trust_on_first_use and pinned is None,
    )
    store.save_subscription(changed)
    return changed


def remove_subscription(store: Store) -> None:
    """Delete a subscription and everything its store holds.

    The store is first renamed aside in one step, so a removal that is interrupted leaves
    either the whole subscription or none (a leftover ``.removing-…`` folder is harmless).
    """
    aside = store.root.with_name(f".removing-{store.root.name}-{secrets.token_hex(4)}")
    store.root.rename(aside)
    shutil.rmtree(aside, ignore_errors=True)


def sync_subscription(
    store: Store, options: SyncOptions | None = None, progress: Progress | None = None
) -> SyncReport:
    """Sync ``store`` from its configured and learned mirrors (see ``update_store``).

    Mirrors that delivered last time are asked first (the quickest first), those that
    failed recently last (:mod:`tamizdat.reader.health`); how each one answered is
    remembered for the next sync.

    Raises:
        UserError: the subscription has no mirror at all.
    """
    options = options or SyncOptions()
    sub = store.subscription
    if not sub.all_mirrors:
        raise UserError(
            f"subscription {sub.name!r} has no mirror to sync from",
            where=str(store.root / "subscription.json"),
            hint="import a bundle, or add a mirror with 'tamizdat reader add'",
        )
    limits = replace(options.limits, read_timeout=options.timeout, deadline=options.deadline)
    deadline = Deadline(limits.deadline)  # one clock for the pool and every mirror
    now = datetime.now(UTC)
    memory = load_memory(store.root)
    sources = [
        HttpSource(
            url,
            ca_file=options.ca_file,
            limits=limits,
            deadline=deadline,
            name=url,
            connections=options.workers,
        )
        for url in order_mirrors(sub.all_mirrors, memory, now)
    ]
    expected = sum(not failed_recently(url, memory, now) for url in sub.all_mirrors)
    if expected < options.quorum:
        # Mirrors that failed last time are still asked for a second timestamp, but not
        # waited for as long: waiting each sync for them would undo what the memory is for.
        limits = replace(limits, quorum_wait=min(limits.quorum_wait, limits.head_start))
    pool = MirrorPool(sources, deadline=deadline, limits=limits)
    try:
        report = update_store(
            store, pool, now=now, quorum=options.quorum, workers=options.workers,
            progress=progress,
        )  # fmt: skip
        # Mirrors the sync did not wait for: said in the report, remembered for next time.
        report = replace(report, notes=report.notes + tuple(pool.silent()))
        remember_sync(store.root, memory, dict(pool.latency), report.notes, now)
        return report
    finally:
        for source in sources:
            source.close()


def import_bundle(store: Store, bundle: Path, *, limits: BundleLimits | None = None) -> SyncReport:
    """Verify ``bundle`` against the store's pinned root, then merge it.

    Raises:
        BundleError: the bundle is hostile or malformed, or is a delta whose base release
            the store does not hold. (Refusals of authenticity are report outcomes.)
    """
    with open_bundle(bundle, limits) as source:
        held = store.release
        if source.since is not None and (held is None or held.version < source.since):
            have = f"release {held.version}" if held else "no release"
            raise BundleError(
                f"this bundle only holds what changed since release {source.since}; the "
                f"store holds {have}",
                where=str(bundle),
                hint="import a full bundle, or sync first",
            )
        pool = MirrorPool([source])
        return update_store(store, pool, quorum=1, staged=True, workers=1)


def add_from_bundle(
    name: str,
    bundle: Path,
    *,
    fingerprint: str | None,
    trust_on_first_use: bool,
    store_dir: Path | str | None = None,
) -> tuple[Store, SyncReport]:
    """Subscribe and import in one step; on any failure no subscription remains."""
    store = add_subscription(
        name,
        fingerprint=fingerprint,
        trust_on_first_use=trust_on_first_use,
        store_dir=store_dir,
    )
    try:
        result = import_bundle(store, bundle)
    except BaseException:
        shutil.rmtree(store.root, ignore_errors=True)
        raise
    if result.outcome not in ("current", "stale"):
        shutil.rmtree(store.root, ignore_errors=True)
    return store, result


def export_bundle(store: Store, out: Path) -> dict[str, int]:
    """Re-export the release the store holds as a bundle for the next person.

    Raises:
        UserError: the store holds no release yet.
    """
    if not store.has_release:
        raise UserError(
            f"subscription {store.subscription.name!r} holds no release yet",
            where=str(store.root),
            hint="sync or import a bundle first",
        )
    return write_bundle(store, out)


def list_subscriptions(store_dir: Path | str | None = None) -> list[Store]:
    """Every subscription under the reader home, by name."""
    home = reader_home(store_dir)
    return [Store(home / name) for name in subscription_names(home)]
