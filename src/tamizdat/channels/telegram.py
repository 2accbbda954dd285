"""Telegram: announcements posted to a channel through the Bot API, and the bot's replies.

Declared as ``Extension("channel", "telegram", "tamizdat.channels.telegram:TelegramSender")``.
Options (``[channels.options]``)::

    chat_id = "@example_news"                  # the channel (or a numeric chat id)
    token_env = "TAMIZDAT_TELEGRAM_TOKEN"      # the variable holding the bot token (default)
    api_url = "https://api.telegram.org"       # the Bot API server (default)
    link_preview = false                       # true: a preview of the first mirror link
    answer_requests = false                    # true: 'tamizdat robot' serves the bot's chat

The transport is one small class, :class:`BotApi` (``call(method, payload)``): plain JSON over
HTTPS with the standard library, so a local Bot API server or an emulator is one option away.

Invariants:

- *Nothing from an article reaches Telegram unescaped.* Titles and leads are cleaned
  (control characters and bidirectional overrides removed, length capped) and then
  HTML-escaped; links are built only from mirror URLs of the signed list and the article's
  own path, percent-encoded and attribute-escaped. Messages are split at block boundaries
  below Telegram's 4,096-character limit (counted in UTF-16 units, as Telegram counts).
- *The token never leaves the request line*: it is read from the environment, refused if it
  could change the URL, never printed, and only sent over HTTPS (plain HTTP only to a server
  on this machine).
- *Errors are classified*: 429 is retried after ``retry_after`` (bounded); 400, 401, 403 and
  404 are permanent (``ChannelError(permanent=True)``: a rejected message, a wrong token, a
  bot removed from the channel); a server that is down or answers 5xx is a transient
  ``ChannelError``. A timeout is not retried: the message may have gone out.
- *An announcement goes out whole or not at all*, as far as the API allows: when a later
  part of a split announcement fails, the parts already posted are deleted
  (``deleteMessage``) before the error is raised, so the re-run posts it once, whole; parts
  that cannot be deleted are named in the error.
- The Bot API cannot read a channel's history, so ``can_confirm`` is False: after a crash
  between a send and its journal entry, ``tamizdat announce`` reports the key for a human.
"""

from __future__ import annotations

import html
import ipaddress
import json
import re
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tamizdat.channels.announce import Announcement, Receipt, Story
from tamizdat.channels.messages import channel_translations, clean_text
from tamizdat.errors import ChannelError, ConfigError
from tamizdat.fingerprint import format_fingerprint

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_TOKEN_ENV",
    "BotApi",
    "TelegramLimits",
    "TelegramSender",
    "clean_text",
    "format_announcement",
    "utf16_length",
]

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_TOKEN_ENV = "TAMIZDAT_TELEGRAM_TOKEN"  # noqa: S105 (a variable name, not a secret)
_TOKEN = re.compile(r"^[A-Za-z0-9_:-]{1,200}$")
_CHAT = re.compile(r"^(@[A-Za-z][A-Za-z0-9_]{3,31}|-?[0-9]{1,20})$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")
_MAX_BODY = 4 << 20  # the largest API answer read (a full getUpdates batch fits)


@dataclass(frozen=True, slots=True)
class TelegramLimits:
    """Telegram's message limit and how long this sender waits for it."""

    max_message: int = 4096  # UTF-16 units of a message's text (Bot API sendMessage)
    max_title: int = 300  # characters of a headline shown (longer ones are cut with "…")
    max_lead: int = 800
    max_upload: int = 50 * 1024 * 1024  # the Bot API's limit for a file a bot sends
    max_retries: int = 5  # 429 answers honoured for one call
    max_retry_after: float = 300.0  # a longer wait is reported instead of slept through
    timeout: float = 30.0


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def _link(mirror: str, path: str) -> str:
    return mirror.rstrip("/") + urllib.parse.quote(path, safe="/-._~")


def _host(mirror: str) -> str:
    """A mirror's label: its host, and its port if it has one (to tell two apart)."""
    parts = urllib.parse.urlsplit(mirror)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or mirror
    return f"{host}:{port}" if port else host


def _a(url: str, label: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{html.escape(label, quote=False)}</a>'


def _story_block(story: Story, mirrors: Sequence[str], lang: str, limits: TelegramLimits) -> str:
    texts = channel_translations(lang)
    title = html.escape(clean_text(story.title, limits.max_title), quote=False)
    head = f"<b>{title}</b>"
    if story.correction:
        head = f"<b>{html.escape(texts.gettext('Correction:'), quote=False)}</b> {head}"
    lines = [head]
    lead = clean_text(story.lead, limits.max_lead)
    if lead:
        lines.append(html.escape(lead, quote=False))
    minutes = texts.ngettext("%(num)d min read", "%(num)d min read", story.reading_minutes)
    links = " · ".join(_a(_link(m, story.path), _host(m)) for m in mirrors)
    lines.append(html.escape(minutes % {"num": story.reading_minutes}, quote=False) + " · " + links)
    return "\n".join(lines)


def format_announcement(announcement: Announcement, limits: TelegramLimits) -> list[str]:
    """The announcement as Telegram HTML messages, each within ``limits.max_message``."""
    lang = announcement.lang
    texts = channel_translations(lang)
    mirrors = announcement.mirrors
    blocks = [_story_block(s, mirrors, lang, limits) for s in announcement.stories]
    if announcement.dont_miss and mirrors:
        items = [
            "• " + _a(_link(mirrors[0], s.path), clean_text(s.title, limits.max_title))
            for s in announcement.dont_miss
        ]
        label = html.escape(texts.gettext("Don't miss"), quote=False)
        blocks.append(f"<b>{label}</b>\n" + "\n".join(items))
    check = texts.gettext("Check a copy: the publisher's fingerprint is")
    blocks.append(
        f"{html.escape(check, quote=False)}\n"
        f"<code>{format_fingerprint(announcement.fingerprint)}</code>"
    )
    messages: list[str] = []
    current = ""
    for block in blocks:
        joined = f"{current}\n\n{block}" if current else block
        if utf16_length(joined) <= limits.max_message:
            current = joined
            continue
        if current:
            messages.append(current)
        current = block
        if utf16_length(current) > limits.max_message:  # only with absurd limits: cut whole
            raise ChannelError(
                f"one story does not fit in a Telegram message ({utf16_length(current)} > "
                f"{limits.max_message})",
                where=f"channel {announcement.channel}",
                permanent=True,
            )
    if current:
        messages.append(current)
    return messages


def _check_api_url(url: str, where: str) -> str:
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host or parts.query or parts.fragment:
        raise ConfigError(f"expected an http(s):// Bot API URL, found {url[:80]!r}", where=where)
    if parts.scheme == "http":
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ConfigError(
                "the bot token would travel in clear text: use https:// (plain http only to "
                "a Bot API server on this machine)",
                where=where,
            )
    return url.rstrip("/")


class BotApi:
    """One Bot API endpoint: ``call(method, payload) -> result`` (see the module docstring).

    Raises (from :meth:`call`):
        ChannelError: naming ``channel``; ``permanent`` for 400/401/403/404.
    """

    def __init__(
        self, api_url: str, token: str, *, channel: str, limits: TelegramLimits | None = None
    ) -> None:
        self._base = f"{api_url.rstrip('/')}/bot{token}/"
        self.where = f"channel {channel}"
        self.limits = limits or TelegramLimits()

    def call(self, method: str, payload: Mapping[str, Any]) -> Any:
        """``method`` with a JSON ``payload``; its ``result``."""
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return self._call(method, body, "application/json")

    def upload(
        self, method: str, fields: Mapping[str, str], file_field: str, file_name: str, data: bytes
    ) -> Any:
        """``method`` with ``fields`` and one file, as ``multipart/form-data``; its ``result``."""
        if not _FILE_NAME.match(file_name):
            raise ChannelError(f"unsafe attachment name {file_name[:60]!r}", where=self.where)
        boundary = secrets.token_hex(16)
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
            for key, value in fields.items()
        ]
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; '
            f'filename="{file_name}"\r\nContent-Type: application/zip\r\n\r\n'
        ).encode()
        body = b"".join([*parts, head, data, f"\r\n--{boundary}--\r\n".encode()])
        return self._call(method, body, f"multipart/form-data; boundary={boundary}")

    def _call(self, method: str, body: bytes, content_type: str) -> Any:
        for _attempt in range(self.limits.max_retries + 1):
            status, answer = self._post(method, body, content_type)
            if status == 200 and answer.get("ok") is True:
                return answer.get("result")
            code = answer.get("error_code", status)
            description = str(answer.get("description", ""))[:200] or f"HTTP {status}"
            if code == 429:
                wait = self._retry_after(answer)
                if wait > self.limits.max_retry_after:
                    raise ChannelError(
                        f"Telegram asks to wait {wait:.0f} s before {method} (over the "
                        f"{self.limits.max_retry_after:.0f} s this run waits)",
                        where=self.where,
                        hint="run 'tamizdat announce' again later: the rest stays pending",
                    )
                time.sleep(wait)
                continue
            permanent = code in (400, 401, 403, 404)
            hint = None
            if code in (401, 404):
                hint = "check the bot token in the environment variable named by token_env"
            elif code == 403:
                hint = "add the bot to the channel as an administrator allowed to post"
            raise ChannelError(
                f"Telegram refused {method}: {clean_text(description, 200)} (error {code})",
                where=self.where,
                hint=hint,
                permanent=permanent,
            )
        raise ChannelError(
            f"Telegram kept answering 429 to {method} ({self.limits.max_retries} retries)",
            where=self.where,
            hint="run 'tamizdat announce' again later: the rest stays pending",
        )

    def _retry_after(self, answer: Mapping[str, Any]) -> float:
        parameters = answer.get("parameters")
        value = parameters.get("retry_after") if isinstance(parameters, dict) else None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
            return 1.0
        return max(float(value), 0.0)

    def _post(self, method: str, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 (the scheme is checked: http(s) only)
            self._base + method,
            data=body,
            headers={"Content-Type": content_type},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.limits.timeout) as response:  # noqa: S310
                status, raw = response.status, response.read(_MAX_BODY + 1)
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read(_MAX_BODY + 1)
            exc.close()
        except TimeoutError:
            raise ChannelError(
                f"no answer from the Bot API to {method} within {self.limits.timeout:.0f} s "
                "(the message may have gone out)",
                where=self.where,
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ChannelError(
                f"cannot reach the Bot API: {clean_text(str(reason), 120)}", where=self.where
            ) from None
        try:
            answer = json.loads(raw[:_MAX_BODY]) if len(raw) <= _MAX_BODY else None
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            if status >= 500 or status == 429:
                return status, {"ok": False, "error_code": status}
            raise ChannelError(
                f"not a Bot API answer to {method} (HTTP {status})", where=self.where
            )
        return status, answer


def _option_text(options: Mapping[str, Any], key: str, default: str | None, where: str) -> str:
    value = options.get(key, default)
    if value is None:
        raise ConfigError(f"the telegram channel needs options.{key}", where=where)
    if not isinstance(value, str):
        raise ConfigError(
            f"expected a string, found {type(value).__name__}", where=f"{where}.{key}"
        )
    return value


def read_token(options: Mapping[str, Any], environ: Mapping[str, str], where: str) -> str:
    """The bot token from the variable named by ``options.token_env``.

    Raises:
        ConfigError: the variable is unset or holds something that is not a token.
    """
    variable = _option_text(options, "token_env", DEFAULT_TOKEN_ENV, where)
    token = environ.get(variable, "").strip()
    if not token:
        raise ConfigError(
            f"the bot token is not set: environment variable {variable} is empty",
            where=where,
            hint=f"export {variable}=… (the token @BotFather gave)",
        )
    if not _TOKEN.match(token):
        raise ConfigError(f"environment variable {variable} does not hold a bot token", where=where)
    return token


class TelegramSender:
    """Posts announcements to one Telegram channel (see the module docstring)."""

    can_confirm = False

    def __init__(self, name: str, options: Mapping[str, Any], environ: Mapping[str, str]) -> None:
        where = f"channel {name}"
        self.name = name
        known = {"chat_id", "token_env", "api_url", "link_preview", "disable_notification"}
        known.add("answer_requests")  # read by 'tamizdat robot' (channels.inboxes), not here
        for key in options:
            if key not in known and not key.startswith("tamizdat."):  # announce's own keys
                raise ConfigError(
                    f"unknown telegram option {key!r} (known: {', '.join(sorted(known))})",
                    where=where,
                )
        chat = _option_text(options, "chat_id", None, where)
        if not _CHAT.match(chat):
            raise ConfigError(
                f"expected a chat id such as @channel_name or -1001234567890, found {chat[:40]!r}",
                where=f"{where}: options.chat_id",
            )
        self.chat_id = chat
        self.link_preview = bool(options.get("link_preview", False))
        self.silent = bool(options.get("disable_notification", False))
        api_url = _check_api_url(
            _option_text(options, "api_url", DEFAULT_API_URL, where), f"{where}: options.api_url"
        )
        self.limits = TelegramLimits()
        self.api = BotApi(api_url, read_token(options, environ, where), channel=name)

    def send(self, announcement: Announcement) -> Receipt:
        """Post ``announcement`` as one or more messages.

        Raises:
            ChannelError: the Bot API refused or could not be reached (names the channel).
        """
        ids: list[int] = []
        parts: list[str | bytes] = [*format_announcement(announcement, self.limits)]
        if announcement.attachment is not None:
            size = len(announcement.attachment)
            if size > self.limits.max_upload:
                raise ChannelError(
                    f"the attached bundle is {size} bytes, over the Bot API's "
                    f"{self.limits.max_upload} for a bot's upload",
                    where=self.api.where,
                    hint="lower attach_max_bytes for this channel, or set attach_bundle = false",
                    permanent=True,
                )
            parts.append(announcement.attachment)
        try:
            for part in parts:
                if isinstance(part, bytes):
                    ids.append(self._post_document(announcement, part))
                else:
                    ids.append(self._post_part(announcement, part))
        except ChannelError as exc:
            if not ids:
                raise
            # Half an announcement is out: take it back, so the re-run posts it whole once.
            left = self._delete(ids)
            undone = (
                "the parts already posted were deleted"
                if not left
                else f"messages {', '.join(map(str, left))} stay posted: delete them before "
                "the re-run"
            )
            raise ChannelError(
                f"{exc.message} (part {len(ids) + 1} of {len(parts)}; {undone})",
                where=exc.where,
                hint=exc.hint,
                permanent=exc.permanent,
            ) from None
        return Receipt(ids=tuple(map(str, ids)), counts={"messages": len(ids)})

    def _delete(self, ids: Sequence[int]) -> list[int]:
        """Delete this bot's messages ``ids``; return those that could not be deleted."""
        left = []
        for message_id in ids:
            try:
                self.api.call("deleteMessage", {"chat_id": self.chat_id, "message_id": message_id})
            except ChannelError:
                left.append(message_id)
        return left

    def _post_document(self, announcement: Announcement, data: bytes) -> int:
        caption = channel_translations(announcement.lang).gettext(
            "The signed copy of release %(release)d, to read and check offline."
        ) % {"release": announcement.release}
        result = self.api.upload(
            "sendDocument",
            {"chat_id": self.chat_id, "caption": caption,
             "disable_notification": "true" if self.silent else "false"},
            "document",
            announcement.attachment_name or f"release-{announcement.release}.zip",
            data,
        )  # fmt: skip
        return self._message_id(result)

    def _message_id(self, result: Any) -> int:
        message_id = result.get("message_id") if isinstance(result, dict) else None
        if not isinstance(message_id, int) or isinstance(message_id, bool):
            raise ChannelError(
                "the Bot API accepted a message but returned no message id",
                where=self.api.where,
            )
        return message_id

    def _post_part(self, announcement: Announcement, text: str) -> int:
        payload: dict[str, Any] = {
            "chat_id": self.chat_id,
            "text": text,
            "parse_mode": "HTML",
            "disable_notification": self.silent,
            "link_preview_options": {"is_disabled": True},
        }
        if self.link_preview and announcement.mirrors and announcement.stories:
            first = _link(announcement.mirrors[0], announcement.stories[0].path)
            payload["link_preview_options"] = {"url": first, "prefer_small_media": True}
        return self._message_id(self.api.call("sendMessage", payload))

    def was_sent(self, announcement: Announcement) -> bool | None:
        """Always None: the Bot API cannot read a channel's history."""
        return None

    def close(self) -> None:
        """Nothing to release (one HTTP request per call)."""
