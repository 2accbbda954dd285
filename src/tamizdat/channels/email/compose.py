"""One subscriber's copy of an announcement as a MIME message, and the robot's short mails.

Invariants:

- The HTML part loads nothing: no ``<img>``, no remote style or font, no tracking pixel;
  its only links are the stories' pages on the announcement's mirrors (``http(s)`` base URLs
  joined with the story's site path, percent-encoded) and a ``mailto:`` to the robot. No
  redirector, no per-reader parameter in a link: a link tells no mirror who clicked.
- The per-reader part lives only in headers the reader's own client uses: ``To``, and
  ``List-Unsubscribe`` (RFC 2369) with its secret token; ``List-Unsubscribe-Post``
  (RFC 8058) only when an HTTPS endpoint is configured, as the RFC requires.
- ``Message-ID`` is derived from (announcement key, address): a copy re-sent after a crash
  carries the same id, which most clients fold into one.
- Every mail carries ``Auto-Submitted`` (RFC 3834), so well-behaved robots never answer it
  and two robots cannot talk to each other forever.
- With DKIM configured, the exact bytes handed to SMTP are signed (relaxed/relaxed,
  RSA-SHA256).
"""

from __future__ import annotations

import hashlib
import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, urlsplit

import dkim

from tamizdat.channels.announce import Announcement, Story
from tamizdat.channels.email.settings import DkimSettings, MailSettings
from tamizdat.channels.email.subscribers import Subscriber
from tamizdat.channels.email.words import words_for
from tamizdat.errors import ChannelError, ConfigError
from tamizdat.fingerprint import format_fingerprint
from tamizdat.render.theme import Theme

__all__ = [
    "NEWSLETTER_HTML",
    "NEWSLETTER_TEXT",
    "check_attachment",
    "compose_newsletter",
    "compose_note",
    "message_id",
    "render_parts",
    "sign_message",
    "story_links",
]

NEWSLETTER_TEXT = "email/newsletter.txt"
NEWSLETTER_HTML = "email/newsletter.html"
_SIGNED_HEADERS = [
    b"from", b"to", b"subject", b"date", b"message-id", b"list-id", b"list-unsubscribe",
    b"list-unsubscribe-post", b"mime-version", b"content-type", b"auto-submitted",
]  # fmt: skip
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def story_links(mirrors: tuple[str, ...], story: Story, limit: int) -> tuple[str, ...]:
    """The story's page on the first ``limit`` usable mirrors (http(s) base URLs only: a
    ``javascript:`` or ``file:`` "mirror" is dropped, never linked)."""
    path = story.path if story.path.startswith("/") else "/" + story.path
    if "//" in path or "\\" in path or any(ord(c) < 0x20 for c in path):
        return ()
    links = []
    for base in mirrors:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            continue
        links.append(base.rstrip("/") + quote(path, safe="/-._~%!$&'()*+,;=:@"))
        if len(links) == limit:
            break
    return tuple(links)


def message_id(key: str, address: str, domain: str) -> str:
    """A stable ``Message-ID`` for (announcement, recipient)."""
    digest = hashlib.sha256(f"{key}\0{address}".encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def _context(announcement: Announcement, settings: MailSettings) -> dict[str, Any]:
    t = words_for(announcement.lang)
    limit = settings.mirrors_per_story

    def item(story: Story) -> dict[str, Any]:
        return {
            "story": story,
            "links": story_links(announcement.mirrors, story, limit),
            "minutes": t["minutes"].format(n=max(story.reading_minutes, 1)),
        }

    attachment = None
    if (
        announcement.attachment is not None
        and len(announcement.attachment) <= settings.attachment_max_bytes
    ):
        attachment = _attachment_name(announcement)
    return {
        "t": t,
        "a": announcement,
        "items": [item(s) for s in announcement.stories],
        "dont_miss": [item(s) for s in announcement.dont_miss],
        "fingerprint": format_fingerprint(announcement.fingerprint),
        "robot": settings.robot,
        "attachment": attachment,
    }


def _subject(announcement: Announcement) -> str:
    t = words_for(announcement.lang)
    stories = announcement.stories
    if not stories:
        return announcement.site_title
    head = stories[0].title
    if stories[0].correction:
        head = f"{t['correction']}: {head}"
    if announcement.kind == "digest":
        head = f"{t['digest']}: {head}"
    if len(stories) > 1:
        head += f" ({t['more'].format(n=len(stories) - 1)})"
    return " ".join(head.split())[:200]  # one line, whatever a title holds


def _attachment_name(announcement: Announcement) -> str:
    given = announcement.attachment_name or f"release-{announcement.release}.zip"
    base = given.replace("\\", "/").rsplit("/", 1)[-1]  # a name, never a path
    return _SAFE_NAME.sub("_", base).lstrip(".")[:80] or "release.zip"


def _unsubscribe_headers(settings: MailSettings, token: str) -> dict[str, str]:
    mailto = f"<mailto:{settings.robot}?subject=unsubscribe%20{quote(token, safe='')}>"
    if settings.unsubscribe_url is None:
        # A static-only newsroom: no web endpoint, so no RFC 8058 one-click (it requires
        # HTTPS); mail clients still offer the mailto, which the robot handles.
        return {"List-Unsubscribe": mailto}
    sep = "&" if "?" in settings.unsubscribe_url else "?"
    https = f"<{settings.unsubscribe_url}{sep}token={quote(token, safe='')}>"
    return {
        "List-Unsubscribe": f"{https}, {mailto}",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _base_message(
    settings: MailSettings, to: str, subject: str, when: Any, msgid: str
) -> EmailMessage:
    message = EmailMessage(policy=SMTPUTF8 if settings.smtputf8 else SMTP)
    local, _, domain = settings.sender.rpartition("@")
    message["From"] = Address(settings.sender_name or "", local, domain)
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = msgid
    return message


def render_parts(
    announcement: Announcement, settings: MailSettings, theme: Theme
) -> tuple[str, str]:
    """The plain-text and HTML bodies: the same for every subscriber (nothing personal
    lives in a body), so a sender renders them once per announcement.

    Raises:
        ContentError: a newsletter template failed (names the template).
    """
    context = _context(announcement, settings)
    return (
        theme.render(announcement.lang, NEWSLETTER_TEXT, context),
        theme.render(announcement.lang, NEWSLETTER_HTML, context),
    )


def compose_newsletter(
    announcement: Announcement,
    subscriber: Subscriber,
    settings: MailSettings,
    theme: Theme,
    parts: tuple[str, str] | None = None,
) -> EmailMessage:
    """``subscriber``'s copy of ``announcement``: text + HTML (``parts`` from
    :func:`render_parts`, rendered here if not given), optional signed bundle.

    Raises:
        ContentError: a newsletter template failed (names the template).
    """
    text, html = parts or render_parts(announcement, settings, theme)
    domain = settings.sender.rpartition("@")[2]
    msgid = message_id(announcement.key, subscriber.address, domain)
    message = _base_message(settings, subscriber.address, _subject(announcement),
                            announcement.published, msgid)  # fmt: skip
    message["List-Id"] = f"{_one_line(announcement.site_title)[:80]} <{settings.list_id}>"
    for name, value in _unsubscribe_headers(settings, subscriber.unsubscribe_token).items():
        message[name] = value
    message["Precedence"] = "bulk"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    attachment = announcement.attachment
    if attachment is not None and len(attachment) <= settings.attachment_max_bytes:
        message.add_attachment(
            attachment, maintype="application", subtype="zip",
            filename=_attachment_name(announcement),
        )  # fmt: skip
    return message


def check_attachment(announcement: Announcement, settings: MailSettings) -> str | None:
    """None if the attachment (if any) goes out; else a note that it was left out.

    Raises:
        ChannelError: over the cap with ``attachment_oversize = "fail"`` (names the channel).
    """
    size = len(announcement.attachment or b"")
    if announcement.attachment is None or size <= settings.attachment_max_bytes:
        return None
    message = (
        f"the attached bundle is {size} bytes, over attachment_max_bytes "
        f"({settings.attachment_max_bytes})"
    )
    if settings.attachment_oversize == "skip":
        return message + "; sent without it"
    raise ChannelError(
        message,
        where=f"channel {settings.channel}",
        hint='raise attachment_max_bytes, or set attachment_oversize = "skip"',
        permanent=True,
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def compose_note(
    settings: MailSettings,
    to: str,
    subject: str,
    text: str,
    *,
    when: Any,
    in_reply_to: str | None = None,
) -> EmailMessage:
    """A short plain-text mail from the robot: a confirmation request or an answer.
    ``Auto-Submitted: auto-replied`` (RFC 3834) so no other robot answers it."""
    domain = settings.sender.rpartition("@")[2]
    key = hashlib.sha256(f"{subject}\0{text}\0{when}".encode()).hexdigest()
    message = _base_message(settings, to, _one_line(subject)[:200], when,
                            message_id(key, to, domain))  # fmt: skip
    message.replace_header("From", Address(settings.sender_name or "", *settings.robot.split("@")))
    if in_reply_to is not None:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    message["Auto-Submitted"] = "auto-replied"
    message.set_content(text, cte="quoted-printable")
    return message


def sign_message(message: EmailMessage, dkim_settings: DkimSettings | None) -> bytes:
    """The bytes to hand to SMTP, DKIM-signed when a key is configured.

    Raises:
        ConfigError: the DKIM key cannot sign (wrong format).
    """
    data = message.as_bytes()
    if dkim_settings is None:
        return data
    present = {k.lower().encode() for k in message}
    try:
        header = dkim.sign(
            data,
            dkim_settings.selector.encode(),
            dkim_settings.domain.encode(),
            dkim_settings.private_key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[h for h in _SIGNED_HEADERS if h in present],
            signature_algorithm=b"rsa-sha256",
        )
    except (dkim.DKIMException, ValueError) as exc:
        raise ConfigError(f"cannot DKIM-sign with the configured key: {exc}",
                          where=f"DKIM key {dkim_settings!r}") from None  # fmt: skip
    return bytes(header) + data
