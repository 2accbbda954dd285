"""A real SMTP server on 127.0.0.1 (aiosmtpd) with STARTTLS or implicit TLS and AUTH, whose
handler records what it accepted and can misbehave on cue; and announcements to send.

Shared by the e-mail integration tests and the child process of the kill test.
"""

from __future__ import annotations

import asyncio
import imaplib
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from support.processes import free_port
from tamizdat.channels.announce import Announcement, Story

USER, PASSWORD = "newsroom", "correct horse battery staple"
FINGERPRINT = "ab" * 32
MIRRORS = ("https://mirror-one.example/", "https://mirror-two.example/news/",
           "https://mirror-three.example/")  # fmt: skip


def story(path: str = "/en/news/flood/", lang: str = "en", **changes: Any) -> Story:
    values: dict[str, Any] = {
        "path": path, "lang": lang, "title": "The river rose overnight",
        "lead": "Three villages were cut off & evacuated <today>.",
        "published": datetime(2026, 12, 1, 9, 30, tzinfo=UTC), "updated": None,
        "desk": "news", "tags": ("floods",), "reading_minutes": 4, "revision": "r1",
    }  # fmt: skip
    values.update(changes)
    return Story(**values)


def announcement(lang: str = "en", key: str = "k1", **changes: Any) -> Announcement:
    values: dict[str, Any] = {
        "key": key, "channel": "newsletter", "kind": "release", "lang": lang, "release": 7,
        "published": datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        "stories": (story(lang=lang), story(f"/{lang}/news/roads/", lang, title="Roads closed",
                                            revision="r2")),
        "mirrors": MIRRORS, "fingerprint": FINGERPRINT, "site_title": "Free Voice",
        "dont_miss": (story(f"/{lang}/news/2025/dam/", lang, title="The dam report"),),
    }  # fmt: skip
    values.update(changes)
    return Announcement(**values)


def parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


@dataclass
class Accepted:
    sender: str
    recipients: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return parse(self.data)


@dataclass
class RecordingHandler:
    """Accepts mail, or misbehaves: ``defer`` (address → how many 451s first), ``refuse``
    (550 for these), ``drop_at`` (close the connection at the MAIL of message number N,
    once), ``hold_at`` (at DATA number N, tell ``held`` and wait for ``release``; then the
    message is refused with 451, as a server does when its client went away)."""

    accepted: list[Accepted] = field(default_factory=list)
    defer: dict[str, int] = field(default_factory=dict)
    refuse: set[str] = field(default_factory=set)
    drop_at: int | None = None
    hold_at: int | None = None
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    mails: int = 0
    datas: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook names)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.mails += 1
        if self.drop_at is not None and self.mails == self.drop_at:
            self.drop_at = None
            server.transport.close()
            return "421 4.3.2 going down"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook names)
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such user"
        if self.defer.get(address, 0) > 0:
            self.defer[address] -= 1
            return "451 4.7.1 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook names)
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        self.datas += 1
        if self.hold_at is not None and self.datas == self.hold_at:
            self.held.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
            return "451 4.4.2 connection lost before the end of data"
        with self.lock:
            self.accepted.append(Accepted(envelope.mail_from, list(envelope.rcpt_tos),
                                          bytes(envelope.original_content or envelope.content)))  # fmt: skip
        return "250 2.0.0 accepted"

    def received_by(self, address: str) -> list[Accepted]:
        return [a for a in self.accepted if address in a.recipients]


@dataclass
class MailServer:
    host: str
    port: int
    security: str
    ca_file: Path
    handler: RecordingHandler

    def options(self, tmp: Path, **extra: Any) -> dict[str, Any]:
        """A newsletter channel's options pointing at this server."""
        values: dict[str, Any] = {
            "from": "news@free-voice.example", "from_name": "Free Voice",
            "robot": "robot@free-voice.example", "smtp_host": self.host, "smtp_port": self.port,
            "smtp_security": self.security, "smtp_user_env": "T_SMTP_USER",
            "smtp_password_env": "T_SMTP_PASSWORD", "ca_file": str(self.ca_file),
            "site_dir": str(tmp), "rate_per_second": 1000, "backoff_seconds": 0.01,
            "timeout_seconds": 10,
        }  # fmt: skip
        values.update(extra)
        return values


@dataclass
class ImapServer:
    host: str
    imaps_port: int
    imap_port: int
    user: str
    password: str
    ca_file: Path

    def client(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        conn = imaplib.IMAP4_SSL(self.host, self.imaps_port, ssl_context=context)
        conn.login(self.user, self.password)
        return conn

    def deliver(self, data: bytes, folder: str = "INBOX") -> None:
        """Put a mail in the inbox as the MTA would (IMAP APPEND)."""
        conn = self.client()
        try:
            status, _ = conn.append(folder, None, None, data)
            assert status == "OK"
        finally:
            conn.logout()


ENVIRON = {"T_SMTP_USER": USER, "T_SMTP_PASSWORD": PASSWORD}


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, data: Any
) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd replies 535


class _ImplicitTlsController(Controller):
    """aiosmtpd counts only STARTTLS as TLS for AUTH; with implicit TLS every byte is
    already encrypted, so its warning about AUTH without TLS does not apply here."""

    def factory(self) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return super().factory()  # type: ignore[no-untyped-call]


def make_ca(folder: Path) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    path = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


@contextmanager
def smtp_server(folder: Path, security: str = "starttls") -> Iterator[MailServer]:
    """An SMTP server on a free loopback port: ``starttls`` (TLS required before AUTH and
    mail) or ``tls`` (implicit TLS from the first byte), AUTH required either way; or
    ``stripped``: no TLS and no AUTH offered at all, as after a downgrade attack."""
    ca, ca_file = make_ca(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    handler = RecordingHandler()
    port = free_port()
    # LOGIN is left out: after a refused PLAIN, smtplib tries it and aiosmtpd's LOGIN
    # dialogue then waits for a line smtplib never sends (a test-server quirk).
    common: dict[str, Any] = {"auth_required": True, "authenticator": _authenticate,
                              "hostname": "127.0.0.1", "port": port,
                              "auth_exclude_mechanism": ["LOGIN"]}  # fmt: skip
    controller: Controller
    if security == "stripped":  # a censor's box that removed STARTTLS from the EHLO answer
        controller = Controller(handler, hostname="127.0.0.1", port=port)
    elif security == "tls":
        controller = _ImplicitTlsController(
            handler, ssl_context=context, auth_require_tls=False, **common
        )
    else:
        controller = Controller(handler, tls_context=context, require_starttls=True, **common)
    controller.start()
    try:
        yield MailServer("127.0.0.1", port, security, ca_file, handler)
    finally:
        handler.release.set()
        controller.stop()
