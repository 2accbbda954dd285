"""The e-mail channel's :class:`~tamizdat.channels.announce.Sender`: one announcement to
every confirmed subscriber of its language, one personal copy each.

Invariants:

- Subscribers are read a page at a time and each message is built, signed, sent and
  forgotten before the next: memory stays flat however long the list.
- Each copy handed to the server is journalled per (announcement key, mailbox) in the
  subscriber store right after the server accepts it; a run killed after k of N copies and
  run again sends only the other N − k. SMTP gives no way to ask a server whether it
  accepted a message, so the one copy in flight at the moment of a kill may go out twice
  (with the same ``Message-ID``): hence ``can_confirm = False``, and ``was_sent`` answers
  None.
- A recipient refused for good (5xx) is marked bounced and the run goes on; a recipient
  deferred (4xx after every retry) stays unjournalled, and the run ends with a
  :class:`ChannelError` so ``announce`` keeps the key pending and a re-run retries only them.
  Five deferred in a row stop the run at once (the server, not a mailbox, is deferring).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from tamizdat.channels.announce import Announcement, Receipt
from tamizdat.channels.email.compose import (
    check_attachment,
    compose_newsletter,
    message_id,
    render_parts,
    sign_message,
)
from tamizdat.channels.email.settings import MailSettings, read_mail_settings
from tamizdat.channels.email.smtp import RecipientRefusedError, SmtpTransport
from tamizdat.channels.email.subscribers import (
    DEFAULT_STORE,
    SubscriberStore,
    check_store_location,
)
from tamizdat.errors import ChannelError, ConfigError, TamizdatError
from tamizdat.render.theme import Theme

__all__ = ["EmailSender", "open_store"]

log = logging.getLogger(__name__)

# Consecutive recipients deferred for good before the run stops: greylisting defers one
# mailbox; a streak means the server itself is refusing for now, and every other copy
# would wait through its retries too.
_DEFER_STREAK = 5


def open_store(settings: MailSettings) -> SubscriberStore:
    """The channel's subscriber store (``subscribers_file``, else the site's default).

    Raises:
        UserError: the store would lie inside a folder the site publishes or builds from
            (checked when ``site_dir`` holds a tamizdat.toml).
        ConfigError: neither ``site_dir`` nor ``subscribers_file`` is set and the current
            folder is not a site.
    """
    outside = settings.subscribers_file is None and settings.site_dir == Path()
    if outside and not Path("tamizdat.toml").is_file():
        # Never a fresh, empty list in whatever folder we were started from: that would
        # "send" to nobody and report success.
        raise ConfigError(
            "expected the site folder (no tamizdat.toml in the current folder)",
            where=f"channel {settings.channel}: options.site_dir",
            hint="run from the site folder, or set site_dir or subscribers_file",
        )
    file = settings.subscribers_file or settings.site_dir / DEFAULT_STORE
    if (settings.site_dir / "tamizdat.toml").is_file():
        from tamizdat.channels.email.site import published_folders
        from tamizdat.config import load_config

        file = check_store_location(file, published_folders(load_config(settings.site_dir)))
    return SubscriberStore(file)


class EmailSender:
    """Newsletter sender for one ``[[channels]]`` entry of kind ``email``."""

    can_confirm = False

    def __init__(
        self,
        name: str,
        options: Mapping[str, Any],
        environ: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Raises:
        ConfigError: invalid options or a missing secret (names the channel and option).
        """
        self.name = name
        self.settings = read_mail_settings(name, options, environ)
        self._clock = clock
        self.transport = SmtpTransport(name, self.settings.smtp, sleep=sleep)
        self._theme: Theme | None = None
        self._store: SubscriberStore | None = None

    @property
    def store(self) -> SubscriberStore:
        if self._store is None:
            self._store = open_store(self.settings)
        return self._store

    @property
    def theme(self) -> Theme:
        if self._theme is None:
            override = self.settings.theme_dir or self.settings.site_dir / "theme"
            self._theme = Theme(override if Path(override).is_dir() else None)
        return self._theme

    def send(self, announcement: Announcement) -> Receipt:
        """Mail ``announcement`` to each confirmed subscriber of its language not yet mailed.

        Raises:
            ChannelError: the server is unreachable, TLS or login failed, the message was
                refused, the attachment is too big, or some recipients were deferred (names
                the channel; every copy already sent is journalled).
            ContentError: a newsletter template failed.
        """
        notes = [n for n in [check_attachment(announcement, self.settings)] if n]
        counts = {"sent": 0, "already_sent": 0, "bounced": 0, "deferred": 0}
        first_deferral: str | None = None
        parts: tuple[str, str] | None = None
        streak = 0
        for subscriber in self.store.subscribers(lang=announcement.lang, state="confirmed"):
            if self.store.delivered(announcement.key, subscriber):
                counts["already_sent"] += 1
                continue
            parts = parts or render_parts(announcement, self.settings, self.theme)
            message = compose_newsletter(announcement, subscriber, self.settings, self.theme, parts)
            data = sign_message(message, self.settings.dkim)
            try:
                self.transport.send(self.settings.sender, subscriber.address, data)
            except RecipientRefusedError as refused:
                self.store.record_bounce(subscriber, refused.reply)
                counts["bounced"] += 1
                continue
            except ChannelError as exc:
                if exc.permanent or not self._recipient_specific(exc):
                    raise
                first_deferral = first_deferral or exc.message
                counts["deferred"] += 1
                streak += 1
                if streak >= _DEFER_STREAK:  # the server, not one mailbox, is deferring
                    raise ChannelError(
                        f"{streak} recipients in a row deferred ({exc.message}); "
                        f"{counts['sent']} sent this run",
                        where=f"channel {self.name}",
                        hint="run 'tamizdat announce' again later: only the unsent copies go out",
                    ) from None
                continue
            streak = 0
            self.store.record_delivery(announcement.key, subscriber, str(message["Message-ID"]),
                                       self._clock())  # fmt: skip
            counts["sent"] += 1
        if first_deferral is not None:
            raise ChannelError(
                f"{counts['deferred']} recipient(s) deferred ({first_deferral}); "
                f"{counts['sent']} sent this run",
                where=f"channel {self.name}",
                hint="run 'tamizdat announce' again later: only the unsent copies go out",
            )
        domain = self.settings.sender.rpartition("@")[2]
        return Receipt(
            ids=(message_id(announcement.key, self.settings.list_id, domain),),
            counts=counts,
            notes=tuple(notes),
        )

    def _recipient_specific(self, error: TamizdatError) -> bool:
        # A 4xx to one RCPT (greylisting, a full mailbox) leaves the session usable; a
        # session that cannot even be opened means every other copy would fail too.
        return self.transport.connected

    def was_sent(self, announcement: Announcement) -> bool | None:
        return None  # see the module docstring: SMTP cannot tell

    def close(self) -> None:
        self.transport.close()
        if self._store is not None:
            self._store.close()
