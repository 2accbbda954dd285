"""What a channel is told: the signed release as announcing sees it, and the plan of
announcements for one channel (new and corrected stories since its journal's record).

Invariants:

- Only articles whose page is a target of the signed release are candidates (never a draft,
  never a page built but not signed); links go only to mirrors of the *signed* mirror list
  that the last ``mirrors check`` saw working (unlisted mirrors never: a public post would
  hand them to the censor).
- A story is due when its revision (``updated``, else its date) is newer than the one the
  journal records; one the journal had is a correction. Stories held by an unsettled
  journal entry are never planned into another announcement. A channel's first run plans
  the newest ``max_stories`` per language and returns the rest as its starting point.
- Keys are stable: the same stories and release give the same key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tamizdat.channels.announce import Announcement, Story
from tamizdat.channels.journal import Journal, JournalEntry
from tamizdat.config import Config
from tamizdat.config.channels import ChannelSettings
from tamizdat.content.model import Article, Site
from tamizdat.errors import UserError

__all__ = ["Planned", "Planner", "ReleaseView", "attach_bundle", "read_release_view"]

_DONT_MISS = 3


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
class Planned:
    """One announcement and the journal entry that records it."""

    announcement: Announcement
    entry: JournalEntry


class Planner:
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

    def plan(self, journal: Journal, now: datetime) -> tuple[list[Planned], dict[str, str]]:
        due, start = self.due(journal)
        settings = self.settings
        planned: list[Planned] = []
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
                planned.append(Planned(announcement, entry))
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


def attach_bundle(
    config: Config, settings: ChannelSettings, journal: Journal, planned: list[Planned]
) -> list[Planned]:
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
            item = Planned(
                dataclasses.replace(item.announcement, attachment=data, attachment_name=file_name),
                item.entry,
            )
        out.append(item)
    return out
