"""``tamizdat announce``: what each ``[[channels]]`` entry is told about the signed release.

This module decides *what* is sent; a sender (:class:`~tamizdat.channels.announce.Sender`)
only knows *how*. Senders are looked up by the channel's ``kind`` in
:data:`tamizdat.registry.BUILTINS`, declared as ``Extension("channel", KIND,
"module:Class")``. The class is the factory; its exact signature is::

    class MySender:                       # implements tamizdat.channels.announce.Sender
        def __init__(self, name: str, options: Mapping[str, Any],
                     environ: Mapping[str, str]) -> None: ...

``name`` is the ``[[channels]]`` name, ``options`` its ``[channels.options]`` table as read
(secrets appear only as ``*_env`` keys naming environment variables) plus, from announce,
``tamizdat.site_dir``, ``tamizdat.cache_dir`` and ``tamizdat.theme_dir`` (:func:`site_options`;
tamizdat.toml may not use a ``tamizdat.`` key), ``environ`` the environment to read secrets
from. The constructor raises
:class:`~tamizdat.errors.ConfigError` (a missing option or variable, naming the channel).

Invariants:

- Only articles whose page is a target of the signed release are announced (never a draft,
  never a page that was built but not signed), each linked on mirrors of the *signed* mirror
  list that the last ``mirrors check`` saw working. Unlisted mirrors are never announced: a
  public post would hand them to the censor; only the distributor gives those out.
- A story is announced when its revision (the article's ``updated`` date, else its date) is
  newer than the one the channel's journal last recorded; a story the journal already had is
  announced as a correction. A channel's first run announces the newest ``max_stories`` per
  language and records the rest as its starting point.
- The journal (:mod:`tamizdat.channels.journal`) is written before and after every send;
  a pending key is never sent again unless the sender confirms it did not go out
  (``can_confirm``), or a human says so (``retry_pending``).
- A dry run reads the journal but neither locks nor writes it and makes no sender.
- With ``attach_bundle``, the first announcement of each language carries the signed delta
  bundle since the channel's last announced release (the whole release the first time): a
  reader verifies it offline with the fingerprint the message gives. A bundle over
  ``attach_max_bytes`` stops the channel before anything is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tamizdat.channels.announce import Announcement, Receipt, Sender
from tamizdat.channels.base import is_sender_factory
from tamizdat.channels.journal import Journal, open_journal
from tamizdat.channels.planning import (
    Planned,
    Planner,
    ReleaseView,
    attach_bundle,
    read_release_view,
)
from tamizdat.config import Config
from tamizdat.config._table import suggest
from tamizdat.config.channels import ChannelSettings
from tamizdat.content.model import Site
from tamizdat.errors import ChannelError, ConfigError, InternalError, TamizdatError, UserError
from tamizdat.registry import BUILTINS, Registry

__all__ = [
    "AnnounceReport",
    "ChannelOutcome",
    "SenderFactory",
    "announce_channels",
    "load_sender",
    "resolve_sender_factory",
    "site_options",
]

SenderFactory = Callable[[str, Mapping[str, Any], Mapping[str, str]], Sender]
Progress = Callable[[str, int, int | None, str], None]


# -- senders ---------------------------------------------------------------------------------
def resolve_sender_factory(
    settings: ChannelSettings, registry: Registry = BUILTINS
) -> SenderFactory:
    """The sender class declared for ``settings.kind`` (imported, not instantiated).

    Raises:
        ConfigError: no channel of that kind, or it does not announce (an export channel
            such as ``bundle``); names the file and key.
        UserError: its optional backend is not installed.
    """
    declared = list(registry.of_kind("channel"))
    found = next((e for e in declared if e.name == settings.kind), None)
    if found is None:
        kinds = [e.name for e in declared]
        raise ConfigError(
            f"unknown channel kind {settings.kind!r} for channel {settings.name!r} "
            f"(declared: {', '.join(kinds)})",
            where=f"{settings.where}.kind",
            hint=suggest(settings.kind, kinds),
        )
    made = found.load()
    if not is_sender_factory(made):
        raise ConfigError(
            f"channel kind {settings.kind!r} does not announce (it writes a file: "
            f"'tamizdat {settings.kind}')",
            where=f"{settings.where}.kind",
        )
    factory: SenderFactory = made
    return factory


def site_options(config: Config) -> dict[str, str]:
    """What ``announce`` adds to every sender's options: where the site lives, under keys
    ``tamizdat.*`` that tamizdat.toml may not write (config.channels refuses them). A sender
    may read them (an e-mail sender finds its
    subscriber store in the cache folder, its templates in the theme) and ignores the rest."""
    return {
        "tamizdat.site_dir": str(config.root),
        "tamizdat.cache_dir": str(config.build.cache_dir),
        "tamizdat.theme_dir": str(config.build.theme_dir),
    }


def load_sender(
    settings: ChannelSettings,
    environ: Mapping[str, str],
    registry: Registry = BUILTINS,
    site: Mapping[str, str] | None = None,
) -> Sender:
    """A ready sender for one channel; ``site`` (:func:`site_options`) is added to its
    options.

    Raises:
        ConfigError: unknown or non-announcing kind, a missing option or secret variable.
        UserError: the kind's optional backend is not installed.
    """
    factory = resolve_sender_factory(settings, registry)
    sender = factory(settings.name, {**settings.options, **(site or {})}, environ)
    if not isinstance(sender, Sender):
        raise InternalError(f"the {settings.kind} channel kind made no Sender")
    return sender


# -- running ---------------------------------------------------------------------------------
@dataclass(slots=True)
class ChannelOutcome:
    """What happened on one channel."""

    channel: str
    kind: str
    sent: list[dict[str, Any]] = field(default_factory=list)
    planned: list[dict[str, Any]] = field(default_factory=list)  # dry run
    confirmed: list[str] = field(default_factory=list)  # pending keys the sender confirmed
    unresolved: list[str] = field(default_factory=list)  # pending keys nobody can confirm
    started_at: int = 0  # stories recorded as the channel's starting point (first run)
    error: TamizdatError | None = None

    def to_json(self) -> dict[str, Any]:
        error = None
        if self.error is not None:
            error = {
                "type": type(self.error).__name__,
                "message": self.error.message,
                "where": self.error.where,
                "permanent": bool(getattr(self.error, "permanent", False)),
            }
        return {
            "channel": self.channel,
            "kind": self.kind,
            "sent": self.sent,
            "planned": self.planned,
            "confirmed": self.confirmed,
            "unresolved": self.unresolved,
            "started_at": self.started_at,
            "error": error,
        }


@dataclass(slots=True)
class AnnounceReport:
    """What ``tamizdat announce`` did on every channel it ran."""

    release: int
    dry_run: bool
    channels: list[ChannelOutcome]

    @property
    def errors(self) -> list[TamizdatError]:
        return [c.error for c in self.channels if c.error is not None]

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "dry_run": self.dry_run,
            "channels": [c.to_json() for c in self.channels],
        }


def _describe(announcement: Announcement, receipt: Receipt | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "key": announcement.key,
        "lang": announcement.lang,
        "kind": announcement.kind,
        "stories": [
            {"path": s.path, "title": s.title, "correction": s.correction}
            for s in announcement.stories
        ],
        "dont_miss": [s.path for s in announcement.dont_miss],
        "mirrors": list(announcement.mirrors),
        "attachment": announcement.attachment_name,
    }
    if receipt is not None:
        data["ids"] = list(receipt.ids)
        data["counts"] = dict(receipt.counts)
    return data


def _select(config: Config, names: Sequence[str]) -> list[ChannelSettings]:
    if not config.channels:
        raise ConfigError(
            "no [[channels]] in tamizdat.toml",
            where=str(config.file),
            hint='add one: [[channels]] name = "tg" kind = "telegram" …',
        )
    known = {c.name: c for c in config.channels}
    for name in names:
        if name not in known:
            raise UserError(
                f"no channel named {name!r} (configured: {', '.join(known)})",
                where="--channel",
                hint=suggest(name, list(known)),
            )
    return [known[n] for n in dict.fromkeys(names)] if names else list(config.channels)


def _send_one(
    journal: Journal, sender: Sender, planned: Planned, digest_at: datetime | None
) -> Receipt:
    key = planned.entry.key
    journal.begin(planned.entry)
    try:
        receipt = sender.send(planned.announcement)
    except ChannelError as exc:
        journal.fail(key, str(exc))
        raise
    journal.finish(key, receipt, digest_at=digest_at)
    return receipt


def _run_channel(
    config: Config,
    site: Site,
    release: ReleaseView,
    settings: ChannelSettings,
    outcome: ChannelOutcome,
    *,
    dry_run: bool,
    retry_pending: bool,
    environ: Mapping[str, str],
    registry: Registry,
    now: datetime,
    progress: Progress | None,
) -> None:
    planner = Planner(config, site, release, settings)
    digest_at = now if settings.mode == "digest" else None
    with open_journal(config.build.cache_dir, settings.name, lock=not dry_run) as journal:
        if dry_run:
            resolve_sender_factory(settings, registry)  # an unknown kind fails a dry run too
            outcome.unresolved = [e.key for e in journal.unsettled() if e.state == "pending"]
            planned, start = planner.plan(journal, now)
            outcome.started_at = len(start)
            outcome.planned = [_describe(p.announcement) for p in planned]
            return
        sender = load_sender(settings, environ, registry, site_options(config))
        try:
            _settle(journal, planner, sender, outcome, retry_pending, digest_at)
            planned, start = planner.plan(journal, now)
            if settings.attach_bundle:
                planned = attach_bundle(config, settings, journal, planned)
            if start or not journal.started:
                journal.record_start(start)
                outcome.started_at = len(start)
            total = len(planned)
            for done, item in enumerate(planned):
                if progress:
                    progress(f"announce {settings.name}", done, total, item.entry.lang)
                receipt = _send_one(journal, sender, item, digest_at)
                outcome.sent.append(_describe(item.announcement, receipt))
            if progress and total:
                progress(f"announce {settings.name}", total, total, "")
        finally:
            sender.close()


def _settle(
    journal: Journal,
    planner: Planner,
    sender: Sender,
    outcome: ChannelOutcome,
    retry_pending: bool,
    digest_at: datetime | None,
) -> None:
    """Resolve what an earlier run left unsent (see the module docstring)."""
    for entry in journal.unsettled():
        if entry.state == "failed":
            journal.forget(entry.key)  # not delivered: its stories are planned anew
            continue
        announcement = planner.rebuild(entry)
        if announcement is None:  # a story left the release or the channel's selection
            if retry_pending:  # a human looked: its stories are planned anew
                journal.forget(entry.key)
                journal.save()
            else:
                outcome.unresolved.append(entry.key)
            continue
        verdict = sender.was_sent(announcement) if sender.can_confirm else None
        if verdict is True:
            journal.finish(
                entry.key,
                Receipt(ids=(), notes=("confirmed sent after an interrupted run",)),
                digest_at=digest_at,
            )
            outcome.confirmed.append(entry.key)
        elif verdict is False or retry_pending:
            receipt = _send_one(journal, sender, Planned(announcement, entry), digest_at)
            outcome.sent.append(_describe(announcement, receipt))
        else:
            outcome.unresolved.append(entry.key)


def announce_channels(
    config: Config,
    *,
    mirror_states: Mapping[str, str],
    names: Sequence[str] = (),
    dry_run: bool = False,
    retry_pending: bool = False,
    environ: Mapping[str, str],
    registry: Registry = BUILTINS,
    now: datetime | None = None,
    site: Site | None = None,
    progress: Progress | None = None,
) -> AnnounceReport:
    """Announce what is new or corrected on each selected channel (all when ``names`` is
    empty). A channel that fails is recorded in the report (its journal consistent) and
    the next channel still runs. ``mirror_states``: mirror name → its state in the latest
    ``mirrors check`` (the CLI reads them from the check's history).

    Raises:
        ConfigError: no channels configured. UserError: an unknown channel name, no signed
            release, a damaged journal.
    """
    selected = _select(config, names)
    release = read_release_view(config, mirror_states)
    if site is None:
        from tamizdat.content import load_site

        site = load_site(config)
    when = now or datetime.now(UTC)
    report = AnnounceReport(release=release.version, dry_run=dry_run, channels=[])
    for settings in selected:
        outcome = ChannelOutcome(settings.name, settings.kind)
        report.channels.append(outcome)
        try:
            _run_channel(
                config, site, release, settings, outcome,
                dry_run=dry_run, retry_pending=retry_pending, environ=environ,
                registry=registry, now=when, progress=progress,
            )  # fmt: skip
        except TamizdatError as exc:
            if exc.where is None:  # every error of a channel names it
                exc.where = f"channel {settings.name}"
                exc.args = (f"{exc.where}: {exc.message}",)
            outcome.error = exc
    return report


def pending_summary(outcomes: Iterable[ChannelOutcome]) -> list[str]:
    """One line per unresolved pending key, for a human to check."""
    return [f"{o.channel}: {key}" for o in outcomes for key in o.unresolved]
