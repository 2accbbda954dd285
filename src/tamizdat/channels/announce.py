"""What an announcing channel is handed, and what it hands back: the contract between
``tamizdat announce`` (which decides *what* is new and keeps the journal) and each sender
(which knows only *how* to deliver: e-mail, Telegram, …).

Invariants:

- A sender never decides what to send: ``announce`` computes the :class:`Announcement` values
  from the signed release and the channel's journal, and calls :meth:`Sender.send` once per
  announcement. A sender never reads ``public/``, ``release/`` or keys.
- Every announcement has a stable ``key`` (channel, stories, revision): the journal records
  it as *pending* before :meth:`Sender.send` and as *sent* with the returned
  :class:`Receipt` after, so a re-run never sends a key twice where the protocol lets the
  sender know (``Sender.can_confirm``), and says so where it does not.
- Links point only at mirrors from the signed mirror list that ``mirrors check`` last saw
  working; never a redirector, never a tracking parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = ["Announcement", "AnnouncementKind", "Receipt", "Sender", "Story", "describe_options"]

AnnouncementKind = Literal["release", "digest"]
"""``release``: what one release added or corrected; ``digest``: a period's stories."""


@dataclass(frozen=True, slots=True)
class Story:
    """One article as an announcement shows it (already in the channel's language).

    ``path`` is the article page's site path (``/ru/news/flood/``); ``revision`` changes
    when the article is corrected (its ``updated`` date moved forward), so a correction is
    a new story revision, announced with ``correction=True``.
    """

    path: str
    lang: str
    title: str
    lead: str
    published: datetime
    updated: datetime | None
    desk: str
    tags: tuple[str, ...]
    reading_minutes: int
    revision: str
    correction: bool = False
    image_path: str | None = None


@dataclass(frozen=True, slots=True)
class Announcement:
    """One message (or one mailing) a channel sends.

    ``mirrors`` are base URLs (with trailing slash) to link the stories on; ``fingerprint``
    is the publisher's root key fingerprint readers compare; ``dont_miss`` are older stories
    the site marks as "Don't miss"; ``attachment`` is an optional signed delta bundle.
    """

    key: str
    channel: str
    kind: AnnouncementKind
    lang: str
    release: int
    published: datetime
    stories: tuple[Story, ...]
    mirrors: tuple[str, ...]
    fingerprint: str
    site_title: str
    dont_miss: tuple[Story, ...] = ()
    attachment: bytes | None = None
    attachment_name: str | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a sender reports for one announcement: the protocol's own id(s) and counts."""

    ids: tuple[str, ...]
    counts: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@runtime_checkable
class Sender(Protocol):
    """Delivers announcements for one configured channel (``[[channels]]`` entry).

    Made by the channel kind's factory from the entry's ``options`` (secrets only from the
    environment, named in the options). ``can_confirm`` says whether, after a crash between
    sending and journaling, the sender can tell if an announcement went out (then
    :meth:`was_sent` answers); otherwise ``announce`` reports the pending key for a human.
    """

    name: str
    can_confirm: bool

    def send(self, announcement: Announcement) -> Receipt:
        """Deliver one announcement.

        Raises:
            ChannelError (tamizdat.errors) naming the channel: the delivery failed; the
            journal keeps the key pending and a re-run retries it.
        """
        ...

    def was_sent(self, announcement: Announcement) -> bool | None:
        """Whether ``announcement`` already went out (None: cannot know)."""
        ...

    def close(self) -> None:
        """Release connections (an SMTP session, an HTTP pool)."""
        ...


def describe_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` with every value whose key names a secret replaced by ``"***"``."""
    hidden = ("password", "token", "secret", "key")
    return {k: ("***" if any(h in k.lower() for h in hidden) else v) for k, v in options.items()}
