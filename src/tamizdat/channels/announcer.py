"""``tamizdat announce``: what each ``[[channels]]`` entry is told about the signed release.

This module decides *what* is sent; a sender (:class:`~tamizdat.channels.announce.Sender`)
only knows *how*. Senders are looked up by the channel's ``kind`` in
:data:`tamizdat.registry.BUILTINS`, declared as ``Extension("channel", KIND,
"module:Class")``. The class is the factory; its exact signature is::

    class MySender:                       # implements tamizdat.channels.announce.Sender
        def __init__(self, name: str, options: Mapping[str, Any],
                     environ: Mapping[str, str]) -> None: ...

``name`` is the ``[[channels]]`` name, ``options`` its ``[channels.options]`` table as read
(secrets appear only as ``*_env`` keys naming environment variables), ``environ`` the
environment to read those from. The constructor raises
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

import dataclasses
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tamizdat.channels.announce import Announcement, Receipt, Sender, Story
from tamizdat.channels.base import is_sender_factory
from tamizdat.channels.journal import Journal, JournalEntry, open_journal
from tamizdat.config import Config
from tamizdat.config._table import suggest
from tamizdat.config.channels import ChannelSettings
from tamizdat.content.model import Article, Site
from tamizdat.errors import ChannelError, ConfigError, InternalError, TamizdatError, UserError
from tamizdat.registry import BUILTINS, Registry

__all__ = [
    "AnnounceReport",
    "ChannelOutcome",
    "ReleaseView",
    "SenderFactory",
    "announce_channels",
    "load_sender",
    "read_release_view",
    "resolve_sender_factory",
]

logger = logging.getLogger(__name__)

SenderFactory = Callable[[str, Mapping[str, Any], Mapping[str, str]], Sender]
Progress = Callable[[str, int, int | None, str], None]
_DONT_MISS = 3


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


def load_sender(
    settings: ChannelSettings, environ: Mapping[str, str], registry: Registry = BUILTINS
) -> Sender:
    """A ready sender for one channel.

    Raises:
        ConfigError: unknown or non-announcing kind, a missing option or secret variable.
        UserError: the kind's optional backend is not installed.
    """
    factory = resolve_sender_factory(settings, registry)
    sender = factory(settings.name, settings.options, environ)
    if not isinstance(sender, Sender):
        raise InternalError(f"the {settings.kind} channel kind made no Sender")
    return sender


# -- the signed release ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ReleaseView:
    """What the signed release says, as announcing needs it."""

    version: int
    published: datetime
    fingerprint: str
    mirrors: tuple[str, ...]  # working mirrors of the signed list, base URLs ending in '/'
    pages: frozenset[str]  # target paths of the release


def read_release_view(config: Config, mirror_states: Mapping[str, str]) -> ReleaseView:
    """Read the signed release in ``config.signing.release_dir``; ``mirror_states`` maps each
    mirror's name to its state in the latest ``mirrors check`` (``current``, ``lagging``, …).

    Raises:
        UserError: nothing signed there yet, or its metadata or mirror list is unreadable
            (names the file).
    """
    from tamizdat.channels.distributor import working_mirrors
    from tamizdat.fingerprint import root_fingerprint
    from tamizdat.layout import METADATA_DIR, MIRRORS_JSON, metadata_path
    from tamizdat.release.listing import DirLayout, read_listing

    release_dir = config.signing.release_dir
    first_root = release_dir / metadata_path("root", 1)
    stamp = release_dir / METADATA_DIR / "timestamp.json"
    listed = release_dir / MIRRORS_JSON
    for file in (first_root, stamp, listed):
        if not file.is_file():
            raise UserError(
                "no signed release here", where=str(file), hint="run 'tamizdat sign' first"
            )
    listing = read_listing(DirLayout(release_dir))
    working = working_mirrors(listed.read_bytes(), mirror_states, str(listed))
    return ReleaseView(
        version=listing.version,
        published=datetime.fromtimestamp(stamp.stat().st_mtime, UTC),
        fingerprint=root_fingerprint(first_root.read_bytes()),
        mirrors=tuple(working.values()),
        pages=frozenset(t.path for t in listing.targets),
    )


# -- planning --------------------------------------------------------------------------------
def _revision(article: Article) -> str:
    when: datetime = article.updated or article.date
    return when.astimezone(UTC).isoformat()


def _newer(revision: str, than: str | None) -> bool:
    if than is None:
        return True
    try:
        return datetime.fromisoformat(revision) > datetime.fromisoformat(than)
    except ValueError:
        return revision != than


def _story(article: Article, revision: str | None = None, correction: bool = False) -> Story:
    return Story(
        path="/" + article.url_path,
        lang=article.lang,
        title=article.title,
        lead=article.lead or article.summary,
        published=article.date,
        updated=article.updated,
        desk=article.desk,
        tags=tuple(article.tags),
        reading_minutes=article.reading_minutes,
        revision=revision or _revision(article),
        correction=correction,
    )


@dataclass(frozen=True, slots=True)
class _Planned:
    announcement: Announcement
    entry: JournalEntry


class _Planner:
    """Builds announcements for one channel from the site, the release and the journal."""

    def __init__(
        self, config: Config, site: Site, release: ReleaseView, settings: ChannelSettings
    ) -> None:
        from tamizdat.content.related import RelatedIndex

        self.config = config
        self.release = release
        self.settings = settings
        self.related = RelatedIndex(site)
        wanted = set(settings.tags)
        self.articles = {
            "/" + a.url_path: a
            for a in site.articles
            if a.lang in settings.languages
            and a.url_path + "index.html" in release.pages
            and (not wanted or any(t.casefold() in wanted for t in a.tags))
        }

    def announcement(
        self, key: str, lang: str, stories: Sequence[Story], kind: str, release: int
    ) -> Announcement:
        if not self.release.mirrors:
            raise UserError(
                "no mirror of the signed list is known to work",
                where=f"channel {self.settings.name}",
                hint="run 'tamizdat mirrors check' after 'tamizdat publish'",
            )
        shown = {s.path for s in stories}
        dont_miss: list[Story] = []
        for story in stories:
            for other in self.related.related(self.articles[story.path], _DONT_MISS + len(shown)):
                path = "/" + other.url_path
                if path in self.articles and path not in shown and len(dont_miss) < _DONT_MISS:
                    shown.add(path)
                    dont_miss.append(_story(other))
        try:
            site_title = self.config.site.language(lang).title or self.config.site.title
        except KeyError:
            site_title = self.config.site.title
        return Announcement(
            key=key,
            channel=self.settings.name,
            kind="digest" if kind == "digest" else "release",
            lang=lang,
            release=release,
            published=self.release.published,
            stories=tuple(stories),
            mirrors=self.release.mirrors[: self.settings.mirrors],
            fingerprint=self.release.fingerprint,
            site_title=site_title,
            dont_miss=tuple(dont_miss),
        )

    def rebuild(self, entry: JournalEntry) -> Announcement | None:
        """The announcement of an unsettled entry, or None if a story left the release."""
        stories = []
        for path, revision in entry.stories:
            article = self.articles.get(path)
            if article is None:
                return None
            stories.append(_story(article, revision, path in entry.corrections))
        kind = "digest" if ":digest:" in entry.key else "release"
        return self.announcement(entry.key, entry.lang, stories, kind, entry.release)

    def due(self, journal: Journal) -> tuple[dict[str, list[Story]], dict[str, str]]:
        """Stories to announce per language, and (first run) the starting point to record."""
        held = journal.held_paths()
        due: dict[str, list[Story]] = {}
        start: dict[str, str] = {}
        for path, article in self.articles.items():
            if path in held:
                continue
            revision = _revision(article)
            known = journal.revision_of(path)
            if not _newer(revision, known):
                continue
            due.setdefault(article.lang, []).append(
                _story(article, revision, correction=known is not None)
            )
        for lang, stories in due.items():
            stories.sort(key=lambda s: (s.updated or s.published, s.path))  # oldest first
            if not journal.started:
                cut = len(stories) - self.settings.max_stories
                for story in stories[: max(cut, 0)]:
                    start[story.path] = story.revision
                due[lang] = stories[max(cut, 0) :]
        return due, start

    def plan(self, journal: Journal, now: datetime) -> tuple[list[_Planned], dict[str, str]]:
        due, start = self.due(journal)
        settings = self.settings
        planned: list[_Planned] = []
        if settings.mode == "digest" and journal.last_digest:
            last = datetime.fromisoformat(journal.last_digest)
            if now - last < timedelta(hours=settings.digest_hours):
                return [], start
        for lang in settings.languages:
            stories = due.get(lang, [])
            if settings.per_story:
                groups = [[s] for s in stories]
            else:
                size = settings.max_stories
                groups = [stories[i : i + size] for i in range(0, len(stories), size)]
            for group in groups:
                if not group:
                    continue
                key = self._key(lang, group, now)
                entry = JournalEntry(
                    key=key,
                    state="pending",
                    lang=lang,
                    release=self.release.version,
                    stories=tuple((s.path, s.revision) for s in group),
                    corrections=tuple(s.path for s in group if s.correction),
                )
                announcement = self.announcement(
                    key, lang, group, settings.mode, self.release.version
                )
                planned.append(_Planned(announcement, entry))
        return planned, start

    def _key(self, lang: str, group: Sequence[Story], now: datetime) -> str:
        name = self.settings.name
        if self.settings.per_story:
            story = group[0]
            return f"{name}:{lang}:{story.path}@{story.revision}"
        digest = hashlib.sha256(
            "\n".join(f"{s.path}@{s.revision}" for s in group).encode()
        ).hexdigest()[:16]
        if self.settings.mode == "digest":
            return f"{name}:{lang}:digest:{now:%Y-%m-%d}:{digest}"
        return f"{name}:{lang}:r{self.release.version}:{digest}"


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


def _attach_bundle(
    config: Config, settings: ChannelSettings, journal: Journal, planned: list[_Planned]
) -> list[_Planned]:
    """``planned`` with the signed delta bundle on the first announcement of each language.

    Raises:
        UserError: the bundle is larger than ``attach_max_bytes`` (names the channel), or the
            release cannot be bundled.
    """
    from tamizdat.channels.bundle import write_bundle

    if not planned:
        return planned
    version = planned[0].announcement.release
    since = journal.last_release if (journal.last_release or 0) < version else None
    folder = config.build.cache_dir / "channels"
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{settings.name}-bundle-", suffix=".zip", dir=folder)
    os.close(fd)
    temp = Path(name)
    try:
        try:
            write_bundle(config.signing.release_dir, temp, since_version=since)
        except UserError:
            if since is None:
                raise
            since = None  # the older release's metadata is gone: carry the whole release
            write_bundle(config.signing.release_dir, temp, since_version=None)
        size = temp.stat().st_size
        if size > settings.attach_max_bytes:
            raise UserError(
                f"channel {settings.name!r}: the signed bundle is {size} bytes, over "
                f"attach_max_bytes = {settings.attach_max_bytes}",
                where=f"{settings.where}.attach_max_bytes",
                hint="raise attach_max_bytes, or set attach_bundle = false",
            )
        data = temp.read_bytes()
    finally:
        temp.unlink(missing_ok=True)
    label = f"r{version}" if since is None else f"r{since}-r{version}"
    file_name = f"{settings.name}-{label}.zip"
    seen: set[str] = set()
    out = []
    for item in planned:
        if item.entry.lang not in seen:
            seen.add(item.entry.lang)
            item = _Planned(
                dataclasses.replace(item.announcement, attachment=data, attachment_name=file_name),
                item.entry,
            )
        out.append(item)
    return out


def _send_one(
    journal: Journal, sender: Sender, planned: _Planned, digest_at: datetime | None
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
    planner = _Planner(config, site, release, settings)
    digest_at = now if settings.mode == "digest" else None
    with open_journal(config.build.cache_dir, settings.name, lock=not dry_run) as journal:
        if dry_run:
            resolve_sender_factory(settings, registry)  # an unknown kind fails a dry run too
            outcome.unresolved = [e.key for e in journal.unsettled() if e.state == "pending"]
            planned, start = planner.plan(journal, now)
            outcome.started_at = len(start)
            outcome.planned = [_describe(p.announcement) for p in planned]
            return
        sender = load_sender(settings, environ, registry)
        try:
            _settle(journal, planner, sender, outcome, retry_pending, digest_at)
            planned, start = planner.plan(journal, now)
            if settings.attach_bundle:
                planned = _attach_bundle(config, settings, journal, planned)
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
    planner: _Planner,
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
            receipt = _send_one(journal, sender, _Planned(announcement, entry), digest_at)
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
