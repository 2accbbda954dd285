"""Reading a stranger's request mail, and what the robot makes of its words."""

from __future__ import annotations

import pytest

from tamizdat.channels.email.inbound import Ignored, read_request
from tamizdat.channels.robot import Request, find_command

OURS = ("robot@free-voice.example", "news@free-voice.example")


def raw(from_: str, subject: str = "mirrors", body: str = "", extra: str = "") -> bytes:
    return (f"From: {from_}\r\nSubject: {subject}\r\n{extra}\r\n{body}\r\n").encode()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (raw("a@readers.example", extra="Auto-Submitted: auto-replied\r\n"), "auto-submitted"),
        (raw("a@readers.example", extra="Precedence: junk\r\n"), "bulk"),
        (raw("a@readers.example", extra="X-Autoreply: yes\r\n"), "X-Autoreply"),
        (raw("a@readers.example", extra="Return-Path: <>\r\n"), "bounce"),
        (
            raw("a@readers.example", extra="Content-Type: multipart/report; boundary=x\r\n"),
            "report",
        ),
        (raw("MAILER-DAEMON@readers.example"), "mail system"),
        (raw("Robot@Free-Voice.example"), "ourselves"),
        (raw("a@readers.example, b@readers.example"), "exactly one From address"),
        (raw('"b@evil.example" <a@readers.example>'), "exactly one From address"),
        (raw("not an address"), "exactly one From address"),
        (b"Subject: mirrors\r\n\r\nx\r\n", "not exactly one From header"),
        (
            raw("a@readers.example", extra="From: b@readers.example\r\n"),
            "not exactly one From header",
        ),
        (raw("a@readers.example", body="x" * 70_000), "larger than"),
    ],
)
def test_automated_and_hostile_mail_is_ignored(data: bytes, reason: str) -> None:
    found = read_request(data, ref="1", ours=OURS)
    assert isinstance(found, Ignored)
    assert reason in found.reason


def test_a_request_is_bounded_and_cleaned() -> None:
    subject = "=?utf-8?b?0LfQtdGA0LrQsNC70LA=?=" + "\x1b[31m" + "y" * 500
    data = raw(
        "Ana <ana@readers.example>", subject, "line\x00one\r\n> quoted", "Message-ID: <a@b>\r\n"
    )
    found = read_request(data, ref="7", ours=OURS)
    assert isinstance(found, Request)
    assert found.requester == "ana@readers.example"
    assert found.subject.startswith("зеркала")
    assert len(found.subject) == 200
    assert "\x1b" not in found.subject
    assert "\x00" not in found.body
    assert found.reply_to_id == "<a@b>"
    assert (found.ref, found.channel) == ("7", "email")


def test_a_hostile_mime_tree_costs_one_ignored_mail_at_most() -> None:
    nested = b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (n, n + 1)
        for n in range(300)
    )
    data = (b"From: a@readers.example\r\nSubject: help\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n" + nested)  # fmt: skip
    found = read_request(data, ref="1", ours=OURS)
    assert isinstance(found, Request | Ignored)


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        ("mirrors", "", ("mirrors", "en")),
        ("Зеркала, пожалуйста", "", ("mirrors", "ru")),
        ("", "Hello,\nplease subscribe me", ("subscribe", "en")),
        ("Re: Подтвердите подписку на Free Voice [abc]", "", ("confirm", "ru")),
        ("Re: hello", "> mirrors\nthanks", None),
        ("unsubscribe TOKEN_abcdefghijklmnopq", "", ("unsubscribe", "en")),
        ("ОТПИСАТЬСЯ", "", ("unsubscribe", "ru")),
    ],
)
def test_the_first_command_word_and_its_language(
    subject: str, body: str, expected: tuple[str, str] | None
) -> None:
    assert find_command(subject, body) == expected


AR = "Authentication-Results: "


@pytest.mark.parametrize(
    ("headers", "accepted"),
    [
        (f"{AR}mx.free-voice.example; dmarc=pass header.from=readers.example\r\n", True),
        (f"{AR}mx.free-voice.example; dkim=pass header.d=readers.example\r\n", True),
        (f"{AR}mx.free-voice.example; spf=pass smtp.mailfrom=x@readers.example\r\n", True),
        (f"{AR}mx.free-voice.example; dkim=pass header.d=evil.example\r\n", False),
        (f"{AR}mx.free-voice.example; dkim=fail header.d=readers.example\r\n", False),
        (f"{AR}mx.evil.example; dmarc=pass header.from=readers.example\r\n", False),
        (
            f"{AR}MX.free-voice.example; spf=softfail smtp.mailfrom=readers.example; "
            "dkim=pass (good) header.d=readers.example\r\n",
            True,
        ),
        ("", False),
    ],
)
def test_with_an_authserv_only_mail_our_server_authenticated_is_read(
    headers: str, accepted: bool
) -> None:
    data = raw("ana@readers.example", extra=headers)
    found = read_request(data, ref="1", ours=OURS, authserv="mx.free-voice.example")
    assert isinstance(found, Request) is accepted
    if not accepted:
        assert isinstance(found, Ignored)
        assert "not authenticated" in found.reason
