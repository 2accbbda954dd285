"""The mail robot against Debian's Dovecot (requests) and aiosmtpd (answers) on loopback:
answers once per request in the reader's language, ignores robots and hostile mail."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from support.mail import ENVIRON, FINGERPRINT, ImapServer, MailServer
from tamizdat.channels.distributor import Answer, Distributor
from tamizdat.channels.email.imap import ImapSource
from tamizdat.channels.email.settings import read_imap_settings, read_mail_settings
from tamizdat.channels.email.smtp import SmtpTransport
from tamizdat.channels.email.subscribers import SubscriberStore
from tamizdat.channels.requests import MemoryRequestStore, give_answer
from tamizdat.channels.robot import Robot
from tamizdat.errors import ChannelError

WORKING = {f"m{i}": f"https://m{i}.mirror.example/" for i in range(40)}
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def mail(sender: str, subject: str, body: str = "", **headers: str) -> bytes:
    extra = "".join(f"{k.replace('_', '-')}: {v}\r\n" for k, v in headers.items())
    return (
        f"From: {sender}\r\nTo: robot@free-voice.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <{abs(hash((sender, subject, body)))}@readers.example>\r\n{extra}"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


@pytest.fixture
def robot_parts(
    dovecot: ImapServer, smtp: MailServer, tmp_path: Path
) -> Iterator[tuple[Robot, Any, SubscriberStore]]:
    environ = {**ENVIRON, "T_IMAP_USER": dovecot.user, "T_IMAP_PASSWORD": dovecot.password}

    def make(security: str = "tls", **extra: Any) -> ImapSource:
        port = dovecot.imaps_port if security == "tls" else dovecot.imap_port
        values = {"imap_host": "127.0.0.1", "imap_port": port, "imap_security": security,
                  "imap_user_env": "T_IMAP_USER", "imap_password_env": "T_IMAP_PASSWORD",
                  "imap_ca_file": str(dovecot.ca_file)}  # fmt: skip
        options = smtp.options(tmp_path, **{**values, **extra})
        settings = read_mail_settings("newsletter", options, environ)
        source = ImapSource(settings, read_imap_settings("newsletter", options, environ),
                            SmtpTransport("newsletter", settings.smtp))  # fmt: skip
        sources.append(source)
        return source

    sources: list[ImapSource] = []
    store = SubscriberStore(tmp_path / "private" / "subscribers.sqlite")
    distributor = Distributor(b"k" * 32, FINGERPRINT)
    limits = MemoryRequestStore()

    def give(requester: str, channel: str) -> Answer:
        return give_answer(distributor, limits, requester=requester, channel=channel, now=NOW,
                           working=WORKING)  # fmt: skip

    robot = Robot(site_title="Free Voice", store=store, give=give,
                  now=lambda: NOW.timestamp(), robot_address="robot@free-voice.example")  # fmt: skip
    yield robot, make, store
    for source in sources:
        source.close()
    store.close()


def replies_to(smtp: MailServer, address: str) -> list[Any]:
    return [a.message for a in smtp.handler.received_by(address)]


def test_requests_are_answered_once_in_the_readers_language(
    dovecot: ImapServer, smtp: MailServer, robot_parts: tuple[Robot, Any, SubscriberStore]
) -> None:
    robot, make, store = robot_parts
    dovecot.deliver(mail("Ana <ana@readers.example>", "mirrors"))
    dovecot.deliver(mail("boris@readers.example", "Подписаться", "хочу читать"))
    report = robot.run_once(make())
    assert report.counts == {"mirrors": 1, "subscribe": 1}
    (answer,) = replies_to(smtp, "ana@readers.example")
    text = answer.get_body(("plain",)).get_content()
    assert "Addresses of our site that work today:" in text
    assert 1 <= sum(url in text for url in WORKING.values()) <= 3  # a few, never the list
    assert answer["Auto-Submitted"] == "auto-replied"
    assert answer["In-Reply-To"].endswith("@readers.example>")
    (invite,) = replies_to(smtp, "boris@readers.example")
    assert "Подтвердите подписку на Free Voice" in invite["Subject"]
    pending = store.get("boris@readers.example", "ru")
    assert pending is not None
    assert pending.state == "pending"
    # A second run (or a second robot) finds nothing left to answer.
    assert robot.run_once(make()).counts == {}
    assert len(smtp.handler.accepted) == 2
    # The reader replies to the invitation (the code rides in the kept subject).
    dovecot.deliver(mail("boris@readers.example", f"Re: {invite['Subject']}", "> quoted"))
    assert robot.run_once(make()).counts == {"confirm": 1}
    confirmed = store.get("boris@readers.example", "ru")
    assert confirmed is not None
    assert confirmed.state == "confirmed"
    assert "Вы подписаны" in replies_to(smtp, "boris@readers.example")[-1].get_content()
    # One-click mailto from List-Unsubscribe: "unsubscribe TOKEN", in English words, but
    # answered in Russian, the language the address subscribed in.
    dovecot.deliver(mail("boris@readers.example", f"unsubscribe {confirmed.unsubscribe_token}"))
    assert robot.run_once(make("starttls")).counts == {"unsubscribe": 1}
    assert store.get("boris@readers.example", "ru") is None
    assert "Вы отписаны" in replies_to(smtp, "boris@readers.example")[-1].get_content()


def test_the_confirmation_code_only_works_from_the_address_it_was_sent_to(
    dovecot: ImapServer, smtp: MailServer, robot_parts: tuple[Robot, Any, SubscriberStore]
) -> None:
    robot, make, store = robot_parts
    invitation = store.add("victim@readers.example", "en", NOW.timestamp())
    assert invitation.token is not None
    dovecot.deliver(mail("mallory@evil.example", f"confirm {invitation.token}"))
    robot.run_once(make())
    assert store.get("victim@readers.example", "en").state == "pending"  # type: ignore[union-attr]
    assert "unknown or has expired" in replies_to(smtp, "mallory@evil.example")[0].get_content()


def test_the_per_requester_rate_limit_leaves_extra_requests_unanswered(
    dovecot: ImapServer, smtp: MailServer, robot_parts: tuple[Robot, Any, SubscriberStore]
) -> None:
    robot, make, _ = robot_parts
    for n in range(5):
        dovecot.deliver(mail("ana+tag@readers.example", "mirrors", f"please {n}"))
    report = robot.run_once(make())
    assert report.counts == {"mirrors": 3, "unanswered": 2}
    texts = {m.get_content() for m in replies_to(smtp, "ana+tag@readers.example")}
    assert len(texts) == 1  # the same answer all period


HOSTILE = {
    "auto-reply": mail("ana@readers.example", "Out of office: mirrors", Auto_Submitted="auto-replied"),
    "bulk": mail("list@readers.example", "mirrors", Precedence="bulk"),
    "bounce": mail("MAILER-DAEMON@readers.example", "Undelivered: mirrors"),
    "other robot": mail("robot@free-voice.example", "mirrors"),
    "list": mail("ana@readers.example", "mirrors", List_Id="<x.readers.example>"),
    "two senders": mail("ana@readers.example, eve@evil.example", "mirrors"),
    "name trick": mail('"eve@evil.example" <ana@readers.example>', "mirrors"),
    "folded injection": mail("ana@readers.example\r\n Bcc: victim@else.example", "mirrors"),
    "no from": b"Subject: mirrors\r\n\r\nmirrors\r\n",
    "huge": mail("ana@readers.example", "mirrors", "x" * 200_000),
    "bad mime": (b"From: ana@readers.example\r\nSubject: mirrors\r\nMIME-Version: 1.0\r\n"
                 b"Content-Type: multipart/mixed; boundary=\"\r\n\r\n--\r\n" + b"--x\r\n" * 500),
}  # fmt: skip


def test_robots_bounces_and_hostile_mail_are_never_answered(
    dovecot: ImapServer, smtp: MailServer, robot_parts: tuple[Robot, Any, SubscriberStore]
) -> None:
    robot, make, _ = robot_parts
    for data in HOSTILE.values():
        dovecot.deliver(data)
    source = make()
    report = robot.run_once(source)
    answered = {r for a in smtp.handler.accepted for r in a.recipients}
    assert "victim@else.example" not in answered
    assert "eve@evil.example" not in answered
    # Only the malformed-MIME mail from a plausible sender may get the help or an answer.
    assert answered <= {"ana@readers.example"}
    assert sum(report.counts.values()) <= 1
    assert len(source.ignored) >= len(HOSTILE) - 1
    assert robot.run_once(make()).counts == {}


def test_handled_mail_is_moved_when_a_folder_is_configured(
    dovecot: ImapServer, smtp: MailServer, robot_parts: tuple[Robot, Any, SubscriberStore]
) -> None:
    robot, make, _ = robot_parts
    conn = dovecot.client()
    conn.create("Handled")
    conn.logout()
    dovecot.deliver(mail("ana@readers.example", "help"))
    assert robot.run_once(make(imap_move_to="Handled")).counts == {"help": 1}
    conn = dovecot.client()
    try:
        assert conn.select("INBOX")[1] == [b"0"]
        assert conn.select("Handled")[1] == [b"1"]
    finally:
        conn.logout()


def test_wrong_imap_credentials_and_untrusted_tls_name_the_channel(
    dovecot: ImapServer, smtp: MailServer, robot_parts: tuple[Robot, Any, SubscriberStore],
    tmp_path: Path,
) -> None:  # fmt: skip
    robot, make, _ = robot_parts
    with pytest.raises(ChannelError, match="the server refused") as caught:
        robot.run_once(make(imap_password_env="T_SMTP_PASSWORD"))  # the wrong secret
    assert caught.value.where is not None
    assert caught.value.where.startswith("channel newsletter")
    (tmp_path / "other").mkdir()
    from support.mail import make_ca

    _, other = make_ca(tmp_path / "other")
    with pytest.raises(ChannelError, match="TLS failed"):
        robot.run_once(make(imap_ca_file=str(other)))


def test_a_subscription_is_only_taken_in_a_language_the_newsletter_is_sent_in(
    dovecot: ImapServer, smtp: MailServer, robot_parts: tuple[Robot, Any, SubscriberStore]
) -> None:
    robot, make, store = robot_parts
    robot.newsletter_languages = ("ru",)
    dovecot.deliver(mail("ana@readers.example", "subscribe"))
    assert robot.run_once(make()).counts == {"subscribe": 1}
    assert store.languages_of("ana@readers.example") == ("ru",)
    assert "Подтвердите" in replies_to(smtp, "ana@readers.example")[0]["Subject"]
