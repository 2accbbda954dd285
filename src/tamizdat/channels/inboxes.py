"""Every request inbox a site configures, behind one interface, for ``tamizdat robot``.

An inbox is where readers ask for mirrors: the e-mail channel's IMAP folder (when it has
``imap_host``) and the private chat of each telegram channel whose bot answers requests
(``answer_requests = true`` in its options). :func:`open_inboxes` builds them all from the
configuration; each :meth:`RequestInbox.poll` answers one batch and says what it did.

Invariants:

- *Configuration faults surface before any inbox is polled* (a missing secret, an unknown
  channel, no distribution key): :func:`open_inboxes` raises, nothing is answered.
- *Inboxes fail alone*: a poll raises only for its own inbox (its errors name the channel),
  so the caller can report it and go on with the others.
- *One inbox per bot*: two telegram channels posting with the same bot cannot both serve
  its chat (each would read every update with its own offset and answer it): refused.
- *One rate limit for all inboxes*: every inbox answers ``mirrors`` through the same
  distributor key and request store (the cache folder's ``distribution-requests.sqlite``,
  shared with ``tamizdat mirrors give``), and reads the working mirrors from the latest
  ``mirrors check`` on every poll, so a robot that loops follows the checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from tamizdat.errors import ConfigError, UserError

if TYPE_CHECKING:
    from tamizdat.channels.distributor import Answer
    from tamizdat.channels.email.settings import ImapSettings, MailSettings
    from tamizdat.channels.email.subscribers import SubscriberStore
    from tamizdat.channels.robot import Robot
    from tamizdat.channels.telegram_requests import TelegramRequests
    from tamizdat.config import Config

__all__ = [
    "ANSWER_REQUESTS",
    "InboxReport",
    "RequestInbox",
    "mirror_giver",
    "open_inboxes",
]

ANSWER_REQUESTS = "answer_requests"  # the telegram channel option that turns its bot on
# Beside the site, in the cache folder, as 'mirrors give' keeps it: one rate limit for all.
REQUEST_STORE = "distribution-requests.sqlite"


@dataclass(slots=True)
class InboxReport:
    """What polling an inbox did. ``refused``: requests that got no reply (by e-mail, over
    the rate limit; on Telegram, the user blocked the bot); ``ignored``: messages that were
    no request (auto-replies, bounces, bots, group chats); ``replies``: answers per command."""

    answered: int = 0
    refused: int = 0
    ignored: int = 0
    replies: dict[str, int] = field(default_factory=dict)

    def add(self, other: InboxReport) -> None:
        self.answered += other.answered
        self.refused += other.refused
        self.ignored += other.ignored
        for command, count in other.replies.items():
            self.replies[command] = self.replies.get(command, 0) + count

    def to_json(self) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "refused": self.refused,
            "ignored": self.ignored,
            "replies": dict(self.replies),
        }


class RequestInbox(Protocol):
    """One inbox; ``channel`` is its ``[[channels]]`` name, ``kind`` ``email`` or ``telegram``."""

    channel: str
    kind: str

    def poll(self) -> InboxReport:
        """Answer the requests waiting in this inbox, once.

        Raises:
            TamizdatError: this inbox failed (ChannelError: its server; UserError: its
                state files); the error names the channel.
        """
        ...

    def close(self) -> None: ...


def mirror_giver(
    config: Config,
    environ: Mapping[str, str],
    mirror_states: Callable[[], Mapping[str, str]],
) -> Callable[[str, str], Answer]:
    """``(requester, channel) → Answer`` through the distributor, with the rate limit kept
    in the cache folder; ``mirror_states`` (each mirror's state in the latest ``mirrors
    check``) is called on every request, so the answer follows the checks.

    Raises:
        UserError: no signed release here; KeyStoreError: no distribution key.
    """
    from tamizdat.channels.distributor import Distributor, unlisted_working, working_mirrors
    from tamizdat.channels.requests import SqliteRequestStore, give_answer, load_distribution_key
    from tamizdat.fingerprint import root_fingerprint
    from tamizdat.layout import MIRRORS_JSON, metadata_path

    release = config.signing.release_dir
    first_root, listed = release / metadata_path("root", 1), release / MIRRORS_JSON
    for file in (first_root, listed):
        if not file.is_file():
            raise UserError("no signed release here", where=str(file), hint="run 'tamizdat sign'")
    distributor = Distributor(
        load_distribution_key(config.signing.keys_dir, environ),
        root_fingerprint(first_root.read_bytes()),
        config.distribution,
    )
    requests = SqliteRequestStore(config.build.cache_dir / REQUEST_STORE)

    def give(requester: str, channel: str) -> Answer:
        states = mirror_states()
        working: dict[str, Any] = {
            **working_mirrors(listed.read_bytes(), states, str(listed)),
            **unlisted_working(config.mirrors, states),
        }
        return give_answer(distributor, requests, requester=requester, channel=channel,
                           now=datetime.now(UTC), working=working)  # fmt: skip

    return give


class EmailInbox:
    """The e-mail channel's IMAP folder; one IMAP session per poll, answers over SMTP."""

    kind = "email"

    def __init__(
        self, settings: MailSettings, imap: ImapSettings, robot: Robot, store: SubscriberStore
    ) -> None:
        self.channel = settings.channel
        self.settings, self.imap, self.robot, self.store = settings, imap, robot, store

    def poll(self) -> InboxReport:
        from tamizdat.channels.email.imap import ImapSource
        from tamizdat.channels.email.smtp import SmtpTransport

        source = ImapSource(
            self.settings, self.imap, SmtpTransport(self.settings.channel, self.settings.smtp)
        )
        try:
            counts = self.robot.run_once(source).counts
        finally:
            source.close()
        replies = {k: v for k, v in counts.items() if k != "unanswered"}
        return InboxReport(
            answered=sum(replies.values()),
            refused=counts.get("unanswered", 0),
            ignored=len(source.ignored),
            replies=replies,
        )

    def close(self) -> None:
        self.store.close()


class TelegramInbox:
    """A telegram channel's bot: its private chat, one ``getUpdates`` batch per poll."""

    kind = "telegram"

    def __init__(self, channel: str, bot: TelegramRequests) -> None:
        self.channel, self.bot = channel, bot

    def poll(self) -> InboxReport:
        report = self.bot.poll_once()
        return InboxReport(
            answered=sum(report.replies.values()),
            refused=report.refused,
            ignored=report.ignored,
            replies=dict(report.replies),
        )

    def close(self) -> None:
        """Nothing to release (one HTTP request per call)."""


def _answers_requests(entry: Any) -> bool:
    value = entry.options.get(ANSWER_REQUESTS, False)
    if not isinstance(value, bool):
        raise ConfigError(
            f"expected true or false, found {value!r:.40}",
            where=f"channel {entry.name}: options.{ANSWER_REQUESTS}",
        )
    return value


def _serves(entry: Any) -> bool:
    if entry.kind == "email":
        return "imap_host" in entry.options
    return entry.kind == "telegram" and _answers_requests(entry)


def open_inboxes(
    config: Config,
    environ: Mapping[str, str],
    mirror_states: Callable[[], Mapping[str, str]],
    names: Sequence[str] = (),
) -> list[RequestInbox]:
    """The request inboxes of ``names`` (``[[channels]]`` names, e-mail or telegram), or of
    every e-mail channel with ``imap_host`` and every telegram channel with
    ``answer_requests = true`` when ``names`` is empty. ``mirror_states`` returns, when
    called, each mirror's state in the latest ``mirrors check`` (the caller reads the
    check's history). The caller closes the inboxes.

    Raises:
        ConfigError: an unknown or unsuitable channel, no inbox at all, a missing secret or
            a bad option (naming the channel). UserError: no signed release, a subscriber
            store in a published folder. KeyStoreError: no distribution key.
    """
    by_name = {entry.name: entry for entry in config.channels}
    for name in names:
        entry = by_name.get(name)
        if entry is None or entry.kind not in ("email", "telegram"):
            known = ", ".join(e.name for e in config.channels if e.kind in ("email", "telegram"))
            raise ConfigError(
                f"no e-mail or telegram channel named {name!r} (known: {known or 'none'})",
                where=f"{config.file}: channels",
            )
    chosen = (
        [by_name[n] for n in dict.fromkeys(names)]
        if names
        else [e for e in config.channels if _serves(e)]
    )
    if not chosen:
        raise ConfigError(
            "no request inbox to serve: no e-mail channel with imap_host and no telegram "
            f"channel with {ANSWER_REQUESTS} = true",
            where=f"{config.file}: channels",
            hint=f"add imap_* options to the e-mail channel, or {ANSWER_REQUESTS} = true to a "
            "telegram channel's [channels.options]",
        )
    _refuse_shared_bots(chosen, environ)
    give = mirror_giver(config, environ, mirror_states)
    inboxes: list[RequestInbox] = []
    try:
        for entry in chosen:
            if entry.kind == "email":
                inboxes.append(_email_inbox(config, entry.name, environ, give))
            else:
                inboxes.append(_telegram_inbox(config, entry.name, environ, mirror_states))
    except BaseException:
        for inbox in inboxes:
            inbox.close()
        raise
    return inboxes


def _refuse_shared_bots(entries: Sequence[Any], environ: Mapping[str, str]) -> None:
    """Two channels of one bot would each read its updates with their own offset and both
    answer every message (and spend the reader's rate limit twice): one must serve it.

    Raises:
        ConfigError: two chosen telegram channels with the same bot (names both).
    """
    from tamizdat.channels.telegram import DEFAULT_API_URL, read_token

    seen: dict[tuple[str, str], str] = {}
    for entry in entries:
        if entry.kind != "telegram":
            continue
        token = read_token(entry.options, environ, f"channel {entry.name}")
        api_url = str(entry.options.get("api_url", DEFAULT_API_URL)).rstrip("/")
        bot = (api_url, token.split(":", 1)[0])  # the bot's numeric id, not the secret
        if bot in seen:
            raise ConfigError(
                f"channels {seen[bot]} and {entry.name} answer as the same bot: each would "
                "answer every message",
                where=f"channel {entry.name}: options.{ANSWER_REQUESTS}",
                hint=f"keep {ANSWER_REQUESTS} = true on one of them (the bot answers in each "
                "user's language)",
            )
        seen[bot] = entry.name


def _email_inbox(
    config: Config, name: str, environ: Mapping[str, str], give: Callable[[str, str], Answer]
) -> EmailInbox:
    from tamizdat.channels.email.settings import read_imap_settings
    from tamizdat.channels.email.site import (
        email_channel,
        email_channel_languages,
        email_channel_options,
        site_store,
    )
    from tamizdat.channels.robot import Robot

    settings = email_channel(config, name, environ)
    _, options = email_channel_options(config, name)
    imap = read_imap_settings(settings.channel, options, environ)
    store = site_store(config, options)
    robot = Robot(site_title=config.site.title, store=store, give=give, now=time.time,
                  default_lang=imap.default_lang, robot_address=settings.robot,
                  newsletter_languages=email_channel_languages(config, settings.channel))  # fmt: skip
    return EmailInbox(settings, imap, robot, store)


def _telegram_inbox(
    config: Config,
    name: str,
    environ: Mapping[str, str],
    mirror_states: Callable[[], Mapping[str, str]],
) -> TelegramInbox:
    from tamizdat.channels.telegram_requests import open_telegram_requests

    bot = open_telegram_requests(config, name, environ, mirror_states)
    return TelegramInbox(name, bot)
