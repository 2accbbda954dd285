"""The Telegram bot's private chat: /start, /mirrors (the distributor), /verify, one poll a call.

:class:`TelegramRequests` reads the bot's pending updates with ``getUpdates`` and answers
each private message in the sender's language (Telegram's ``language_code``), then returns.
A caller loops (``tamizdat robot``) or runs it from cron.

Invariants:

- *A stranger's update is data.* Only private chats with a human (``from.is_bot`` false and
  a positive numeric id) are answered; the text is read only for its first word (at most
  64 characters); replies are plain text (no parse mode), so nothing a user sends is ever
  interpreted as markup.
- *The requester is the numeric user id*, never the @username (its owner can change it), so
  the distributor's stable, rate-limited answer cannot be multiplied by renaming.
- *At most one reply per update*: the next ``offset`` is saved (atomically) before any reply
  is sent, so a crash loses at most the replies of one poll and never answers twice (a
  second answer would also spend the user's rate limit).
- A reply the API refuses (the user blocked the bot: 403) is counted and skipped; a failing
  ``getUpdates`` is a :class:`ChannelError` for the caller.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tamizdat.channels.distributor import Answer, Distributor
from tamizdat.channels.messages import channel_translations, reader_language
from tamizdat.channels.requests import RequestStore, give_answer
from tamizdat.channels.telegram import BotApi
from tamizdat.errors import ChannelError, RateLimitedError, UserError
from tamizdat.files import write_atomic
from tamizdat.fingerprint import format_fingerprint

__all__ = ["PollReport", "TelegramRequests", "open_telegram_requests"]

_MAX_UPDATES = 20  # per poll: 20 messages of 4,096 escaped characters stay far below _MAX_BODY


@dataclass(slots=True)
class PollReport:
    """What one poll did: updates read, replies per command, replies refused, ignored updates."""

    updates: int = 0
    replies: dict[str, int] = field(default_factory=dict)
    refused: int = 0
    ignored: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "updates": self.updates,
            "replies": dict(self.replies),
            "refused": self.refused,
            "ignored": self.ignored,
        }


def _how_to_check(lang: str, fingerprint: str) -> str:
    t = channel_translations(lang).gettext
    return "\n".join(
        [
            t("Publisher fingerprint:"),
            format_fingerprint(fingerprint),
            "",
            t(
                "A copy is genuine only if it is signed by the key with this fingerprint. "
                "Compare it with the one on our channels or printed material, then run:"
            ),
            f"tamizdat verify URL --fingerprint {fingerprint}",
            t(
                "or open the copy's verify page and compare the fingerprint it shows, group by group."
            ),
        ]
    )


def _mirrors_text(lang: str, answer: Answer) -> str:
    t = channel_translations(lang).gettext
    lines = [t("Working addresses today:"), *(m.url for m in answer.mirrors), ""]
    return "\n".join(lines) + _how_to_check(lang, answer.fingerprint)


def _command(text: object) -> str | None:
    if not isinstance(text, str) or not text.startswith("/"):
        return None
    word = text[:64].split(maxsplit=1)[0] if text.strip() else ""
    return word.split("@", 1)[0].lower()


class TelegramRequests:
    """Answers the bot's private messages; :meth:`poll_once` handles one batch of updates.

    ``working`` returns, when called, ``mirror name → public URL`` of the mirrors currently
    seen working (listed and unlisted); ``offset_file`` keeps the next update id.
    """

    def __init__(
        self,
        api: BotApi,
        distributor: Distributor,
        store: RequestStore,
        *,
        working: Callable[[], Mapping[str, str]],
        offset_file: Path,
        site_title: str,
        channel: str = "telegram",
        default_lang: str = "en",
    ) -> None:
        self.api = api
        self.distributor = distributor
        self.store = store
        self.working = working
        self.offset_file = Path(offset_file)
        self.site_title = site_title
        self.channel = channel
        self.default_lang = default_lang

    def _offset(self) -> int:
        try:
            value = json.loads(self.offset_file.read_bytes()).get("offset", 0)
        except FileNotFoundError:
            return 0
        except (OSError, ValueError, AttributeError):
            raise UserError(
                "expected the bot's update offset, found a damaged file",
                where=str(self.offset_file),
                hint="delete it: the bot then answers the updates Telegram still holds",
            ) from None
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def poll_once(self, now: datetime | None = None) -> PollReport:
        """Read pending updates once and answer them.

        Raises:
            ChannelError: ``getUpdates`` failed (names the bot's channel).
            UserError: the offset file is damaged or cannot be written.
        """
        offset = self._offset()
        updates = self.api.call(
            "getUpdates",
            {"offset": offset, "timeout": 0, "limit": _MAX_UPDATES, "allowed_updates": ["message"]},
        )
        report = PollReport()
        if not isinstance(updates, list):
            raise ChannelError("getUpdates did not return a list", where=self.api.where)
        updates = updates[:_MAX_UPDATES]
        report.updates = len(updates)
        ids: list[int] = [
            u["update_id"]
            for u in updates
            if isinstance(u, dict)
            and isinstance(u.get("update_id"), int)
            and not isinstance(u.get("update_id"), bool)
        ]
        if ids:
            try:
                data = json.dumps({"offset": max(ids) + 1}).encode()
                write_atomic(self.offset_file, data, 0o600)
            except OSError as exc:
                raise UserError(
                    f"cannot save the bot's update offset: {exc.strerror}",
                    where=str(self.offset_file),
                ) from None
        when = now or datetime.now(UTC)
        for update in updates:
            reply = self._reply_to(update, when) if isinstance(update, dict) else None
            if reply is None:
                report.ignored += 1
                continue
            chat_id, command, text = reply
            try:
                self.api.call(
                    "sendMessage",
                    {
                        "chat_id": chat_id,
                        "text": text,
                        "link_preview_options": {"is_disabled": True},
                    },
                )
            except ChannelError as exc:
                if not exc.permanent:
                    raise
                report.refused += 1
                continue
            report.replies[command] = report.replies.get(command, 0) + 1
        return report

    def _reply_to(self, update: Mapping[str, Any], now: datetime) -> tuple[int, str, str] | None:
        message = update.get("message")
        if not isinstance(message, dict):
            return None
        sender, chat = message.get("from"), message.get("chat")
        if not isinstance(sender, dict) or not isinstance(chat, dict):
            return None
        user = sender.get("id")
        if not isinstance(user, int) or isinstance(user, bool) or user <= 0 or sender.get("is_bot"):
            return None
        if chat.get("type") != "private" or chat.get("id") != user:
            return None
        command = _command(message.get("text"))
        lang = reader_language(sender.get("language_code"), self.default_lang)
        t = channel_translations(lang).gettext
        if command == "/mirrors":
            try:
                answer = give_answer(
                    self.distributor,
                    self.store,
                    requester=str(user),
                    channel=self.channel,
                    now=now,
                    working=self.working(),
                )
            except RateLimitedError:
                return (
                    user,
                    "/mirrors",
                    t(
                        "You already asked today. Your addresses stay the same until the next "
                        "period; ask again later."
                    ),
                )
            except UserError:
                return (
                    user,
                    "/mirrors",
                    t("No working address can be given right now. Please ask again later."),
                )
            return user, "/mirrors", _mirrors_text(lang, answer)
        if command == "/verify":
            return user, "/verify", _how_to_check(lang, self.distributor.fingerprint)
        hello = t("Hello. This bot gives you working addresses of %(site)s.")
        commands = t(
            "Commands: /mirrors — working addresses of the site; /verify — how to check a copy."
        )
        return user, "/start", f"{hello % {'site': self.site_title}}\n{commands}"


def open_telegram_requests(
    config: Any,
    channel: str,
    environ: Mapping[str, str],
    mirror_states: Callable[[], Mapping[str, str]],
) -> TelegramRequests:
    """The bot of the ``[[channels]]`` entry ``channel`` (a telegram one: its token and API
    URL) answering with the site's distributor (``tamizdat mirrors give``'s key and store).
    ``mirror_states`` returns, when called, each mirror's state in the latest ``mirrors
    check`` (the caller reads the check's history, so each poll sees the newest check).

    Raises:
        ConfigError: no such telegram channel, a missing token variable.
        KeyStoreError: no distribution key. UserError: no signed release.
    """
    from tamizdat.channels.distributor import unlisted_working, working_mirrors
    from tamizdat.channels.requests import SqliteRequestStore, load_distribution_key
    from tamizdat.channels.telegram import DEFAULT_API_URL, _check_api_url, read_token
    from tamizdat.errors import ConfigError
    from tamizdat.fingerprint import root_fingerprint
    from tamizdat.layout import MIRRORS_JSON, metadata_path

    settings = next((c for c in config.channels if c.name == channel), None)
    if settings is None or settings.kind != "telegram":
        raise ConfigError(f"no telegram channel named {channel!r}", where=str(config.file))
    if "telegram" not in config.distribution.channels:
        raise ConfigError(
            "the distributor has no 'telegram' channel to answer /mirrors from",
            where=f"{config.file}: distribution.channels",
        )
    where = f"channel {channel}"
    release_dir = config.signing.release_dir
    first_root, listed = release_dir / metadata_path("root", 1), release_dir / MIRRORS_JSON
    for file in (first_root, listed):
        if not file.is_file():
            raise UserError("no signed release here", where=str(file), hint="run 'tamizdat sign'")
    api_url = str(settings.options.get("api_url", DEFAULT_API_URL))
    api = BotApi(
        _check_api_url(api_url, f"{where}: options.api_url"),
        read_token(settings.options, environ, where),
        channel=channel,
    )

    def working() -> dict[str, str]:
        states = mirror_states()
        return {
            **working_mirrors(listed.read_bytes(), states, str(listed)),
            **unlisted_working(config.mirrors, states),
        }

    return TelegramRequests(
        api,
        Distributor(
            load_distribution_key(config.signing.keys_dir, environ),
            root_fingerprint(first_root.read_bytes()),
            config.distribution,
        ),
        SqliteRequestStore(config.build.cache_dir / "distribution-requests.sqlite"),
        working=working,
        offset_file=config.build.cache_dir / "channels" / f"{channel}.telegram-offset.json",
        site_title=config.site.title,
        default_lang=settings.languages[0],
    )
