"""A request mail from a stranger, read defensively: what the robot may act on, or why not.

Invariants: nothing here trusts the mail. The size is bounded before parsing; a MIME tree
is walked to a bounded number of parts; only the Subject and the first ``text/plain`` part
are read, bounded, with control characters removed; the requester is the single address
in ``From`` that passes :func:`~.addresses.check_address` (a CR/LF, a second address or
a display-name trick is refused). Automated mail (RFC 3834 ``Auto-Submitted``,
``Precedence: bulk``, bounces from ``MAILER-DAEMON`` or with an empty return path,
delivery reports, mailing lists) is never answered, so two robots cannot loop.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses

from tamizdat.channels.email.addresses import check_address, same_mailbox
from tamizdat.channels.robot import Request
from tamizdat.errors import UserError

__all__ = ["Ignored", "InboundLimits", "read_request"]

_MESSAGE_ID = re.compile(r"^<[!-;=?-~]{1,250}>$")  # printable ASCII, no < > or space
_ROBOT_LOCALS = {"mailer-daemon", "postmaster", "noreply", "no-reply", "do-not-reply", "bounce",
                 "bounces", "autoreply"}  # fmt: skip


@dataclass(frozen=True, slots=True)
class InboundLimits:
    max_bytes: int = 64 * 1024
    max_parts: int = 20
    max_subject: int = 200
    max_body: int = 2000


@dataclass(frozen=True, slots=True)
class Ignored:
    """A mail the robot will not answer, and why (for the log and the counts)."""

    reason: str


def _clean(text: str, limit: int) -> str:
    kept = (c if unicodedata.category(c)[0] != "C" or c == "\n" else " " for c in text[: limit * 2])
    return "".join(kept)[:limit]


def _automated(message: Message) -> str | None:
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    if auto != "no":
        return "auto-submitted"
    if str(message.get("Precedence", "")).strip().lower() in ("bulk", "junk", "list", "auto_reply"):
        return "bulk or list mail"
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "List-Id",
                   "List-Unsubscribe", "X-Loop"):  # fmt: skip
        if header in message:
            return f"automated ({header})"
    if str(message.get("Return-Path", "")).strip() == "<>":
        return "bounce (empty return path)"
    if message.get_content_type() == "multipart/report":
        return "delivery or read report"
    return None


def _requester(message: Message, ours: Iterable[str]) -> str | Ignored:
    values = message.get_all("From") or []
    if len(values) != 1:
        return Ignored("not exactly one From header")
    raw = str(values[0])
    if any(c in raw for c in "\r\n\0"):
        return Ignored("control characters in From")
    # One '@' in the whole header: a display name holding another address ("a@x <b@y>")
    # is how parsers are told apart; such mail is not worth the doubt.
    pairs = getaddresses([raw])
    if raw.count("@") != 1 or len(pairs) != 1 or not pairs[0][1]:
        return Ignored("not exactly one From address")
    try:
        address = check_address(pairs[0][1])
    except UserError:
        return Ignored("malformed From address")
    if address.rpartition("@")[0].lower() in _ROBOT_LOCALS:
        return Ignored("from a mail system or robot")
    if same_mailbox(address) in {same_mailbox(a) for a in ours}:
        return Ignored("from ourselves")
    return address


_RESULT = re.compile(r"\b(dmarc|dkim|spf)\s*=\s*(\w+)([^;]*)", re.IGNORECASE)
_PROPERTY = re.compile(r"\b(header\.d|header\.from|smtp\.mailfrom)\s*=\s*([^\s;()]+)", re.I)


def _authenticated(message: Message, authserv: str, address: str) -> bool:
    """Whether our own receiving server (``authserv``, RFC 8601 authserv-id) vouches for
    the From domain: ``dmarc=pass``, or ``dkim=pass`` / ``spf=pass`` for that very domain.
    Only headers carrying our server's id count; a receiving server must remove any such
    header a sender forged (RFC 8601 §5), which is why the id must be configured."""
    domain = address.rpartition("@")[2]
    for header in message.get_all("Authentication-Results") or []:
        text = " ".join(str(header).split())
        if text.split(";", 1)[0].strip().lower() != authserv.lower():
            continue
        for method, result, rest in _RESULT.findall(text):
            if result.lower() != "pass":
                continue
            if method.lower() == "dmarc":
                return True
            for _, value in _PROPERTY.findall(rest):
                if value.strip("<>").rpartition("@")[2].lower() == domain:
                    return True
    return False


def _first_text(message: Message, limits: InboundLimits) -> str:
    for count, part in enumerate(message.walk()):
        if count >= limits.max_parts:
            break
        if (
            part.get_content_type() == "text/plain"
            and part.get_content_disposition() != "attachment"
        ):
            payload = part.get_payload(decode=True)
            if not isinstance(payload, bytes):
                return ""
            charset = part.get_content_charset() or "utf-8"
            try:
                return payload[: limits.max_body * 4].decode(charset, "replace")
            except LookupError:  # an unknown charset name
                return payload[: limits.max_body * 4].decode("utf-8", "replace")
    return ""


def read_request(
    data: bytes,
    *,
    ref: str,
    ours: Iterable[str],
    limits: InboundLimits | None = None,
    authserv: str | None = None,
) -> Request | Ignored:
    """The request in raw mail ``data`` (``ref``: the inbox's handle for it), or why it is
    ignored. With ``authserv`` (our receiving server's Authentication-Results id), mail whose
    From that server did not authenticate is ignored: a forged From gets nothing done.
    Never raises on hostile input."""
    limits = limits or InboundLimits()
    if len(data) > limits.max_bytes:
        return Ignored(f"larger than {limits.max_bytes} bytes")
    try:
        message = message_from_bytes(data, policy=policy.compat32)
        why = _automated(message)
        if why is not None:
            return Ignored(why)
        who = _requester(message, ours)
        if isinstance(who, Ignored):
            return who
        if authserv is not None and not _authenticated(message, authserv, who):
            return Ignored("From not authenticated by our server (DKIM, SPF, DMARC)")
        subject = _decoded_subject(data)
        body = _first_text(message, limits)
        msgid = str(message.get("Message-ID", "")).strip()
    except Exception as exc:  # a hostile MIME tree must cost one ignored mail, nothing more
        return Ignored(f"unreadable MIME ({type(exc).__name__})")
    return Request(
        channel="email",
        requester=who,
        subject=_clean(subject, limits.max_subject),
        body=_clean(body, limits.max_body),
        ref=ref,
        reply_to_id=msgid if _MESSAGE_ID.match(msgid) else None,
    )


def _decoded_subject(data: bytes) -> str:
    # The modern policy decodes RFC 2047 words; its parse errors are caught by the caller.
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return str(message.get("Subject", ""))
