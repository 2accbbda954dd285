"""The newsletter through a real SMTP server on loopback: what readers receive, and how
the sender behaves when the server defers, refuses, drops, or cannot be trusted."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from support.mail import ENVIRON, MIRRORS, ImapServer, MailServer, announcement, make_ca, parse
from tamizdat.channels.announce import Announcement, Sender
from tamizdat.channels.email.sender import EmailSender, open_store
from tamizdat.channels.email.smtp import SmtpTransport
from tamizdat.channels.email.subscribers import SubscriberStore
from tamizdat.errors import ChannelError

READERS = ["ana@readers.example", "boris@readers.example", "chen@other.example"]


def subscribe(store: SubscriberStore, addresses: Iterable[str], lang: str = "en") -> None:
    store.import_rows([(a, lang, "test") for a in addresses], 0.0, confirmed=True)


_OPEN: list[EmailSender] = []


@pytest.fixture(autouse=True)
def _close_senders(request: pytest.FixtureRequest) -> Iterator[None]:
    # Set up after the server fixture (requested first), so closed before it stops.
    for name in ("smtp", "smtps"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
    yield
    while _OPEN:
        _OPEN.pop().close()


def sender_for(server: MailServer, tmp: Path, environ: dict[str, str] | None = None,
               **options: Any) -> EmailSender:  # fmt: skip
    """A sender that never really sleeps between retries, closed after the test."""
    sender = EmailSender("newsletter", server.options(tmp, **options), environ or ENVIRON,
                         sleep=lambda _s: None)  # fmt: skip
    _OPEN.append(sender)
    return sender


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("href", "src", "srcset", "background", "action", "poster", "data"):
                self.urls.append((tag, name, value or ""))
            if name == "style" and value and "url(" in value:
                self.urls.append((tag, name, value))


def test_each_confirmed_reader_gets_one_personal_multipart_copy(
    smtp: MailServer, tmp_path: Path
) -> None:
    sender = sender_for(smtp, tmp_path)
    store = open_store(sender.settings)
    subscribe(store, READERS)
    store.add("pending@readers.example", "en", 0.0)  # never confirmed: gets nothing
    subscribe(store, ["ru-only@readers.example"], "ru")
    assert isinstance(sender, Sender)
    receipt = sender.send(announcement())
    sender.close()
    assert receipt.counts["sent"] == 3
    assert sorted(r for a in smtp.handler.accepted for r in a.recipients) == sorted(READERS)
    for accepted in smtp.handler.accepted:
        (reader,) = accepted.recipients
        message = accepted.message
        assert accepted.sender == "news@free-voice.example"
        assert message["To"] == reader
        assert message["Subject"] == "The river rose overnight (and 1 more)"
        assert message["List-Id"] == "Free Voice <newsletter.free-voice.example>"
        assert message["Auto-Submitted"] == "auto-generated"
        token = store.get(reader, "en").unsubscribe_token  # type: ignore[union-attr]
        # Static-only newsroom: mailto only, and no RFC 8058 header (it needs HTTPS).
        assert message["List-Unsubscribe"] == (
            f"<mailto:robot@free-voice.example?subject=unsubscribe%20{token}>"
        )
        assert message["List-Unsubscribe-Post"] is None
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert "Three villages were cut off & evacuated <today>." in text
        assert "4 min read" in text
        assert "Don't miss" in text
        assert "https://mirror-two.example/news/en/news/flood/" in text
        assert "ab ab" in text.lower() or "abab" in text.lower()
        assert "cut off &amp; evacuated &lt;today&gt;." in html
        assert token not in html
        assert token not in text


def test_the_html_part_loads_nothing_and_links_only_to_the_stories_on_mirrors(
    smtp: MailServer, tmp_path: Path
) -> None:
    sender = sender_for(smtp, tmp_path)
    subscribe(open_store(sender.settings), READERS[:1])
    sent = announcement()
    sender.send(sent)
    html = smtp.handler.accepted[0].message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    parser = Links()
    parser.feed(html)
    assert not {"img", "script", "iframe", "link", "object", "embed", "form"} & set(parser.tags)
    paths = {s.path for s in (*sent.stories, *sent.dont_miss)}
    allowed = {m.rstrip("/") + p for m in MIRRORS for p in paths}
    assert parser.urls, "expected links to the stories"
    for tag, attribute, url in parser.urls:
        assert (tag, attribute) == ("a", "href"), (tag, attribute, url)
        assert url in allowed or url == "mailto:robot@free-voice.example?subject=unsubscribe", url


def test_one_click_unsubscribe_is_offered_with_an_https_endpoint(
    smtp: MailServer, tmp_path: Path
) -> None:
    sender = sender_for(smtp, tmp_path, unsubscribe_url="https://free-voice.example/unsubscribe")
    store = open_store(sender.settings)
    subscribe(store, READERS[:1])
    sender.send(announcement())
    message = smtp.handler.accepted[0].message
    token = store.get(READERS[0], "en").unsubscribe_token  # type: ignore[union-attr]
    assert " ".join(message["List-Unsubscribe"].split()) == (
        f"<https://free-voice.example/unsubscribe?token={token}>, "
        f"<mailto:robot@free-voice.example?subject=unsubscribe%20{token}>"
    )
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert store.unsubscribe(token) is not None
    assert store.get(READERS[0], "en") is None


def _dkim_key(tmp_path: Path) -> tuple[Path, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())  # fmt: skip
    path = tmp_path / "dkim.pem"
    path.write_bytes(pem)
    public = key.public_key().public_bytes(serialization.Encoding.DER,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)  # fmt: skip
    return path, b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def test_dkim_signature_verifies_against_the_published_key(
    smtp: MailServer, tmp_path: Path
) -> None:
    key_file, record = _dkim_key(tmp_path)
    environ = {**ENVIRON, "T_DKIM": str(key_file)}
    sender = sender_for(smtp, tmp_path, environ, dkim_selector="mail2026", dkim_key_file_env="T_DKIM",
                        unsubscribe_url="https://free-voice.example/u")  # fmt: skip
    subscribe(open_store(sender.settings), READERS[:2])
    sender.send(announcement(attachment=b"PK\x05\x06" + bytes(18), attachment_name="../delta.zip"))
    asked: list[bytes] = []

    def dns(name: bytes, timeout: int = 5) -> bytes:
        asked.append(name)
        return record if name == b"mail2026._domainkey.free-voice.example." else b""

    for accepted in smtp.handler.accepted:
        assert accepted.data.startswith(b"DKIM-Signature:")
        assert dkim.verify(accepted.data, dnsfunc=dns)
        signed = accepted.message["DKIM-Signature"]
        for header in ("from", "to", "subject", "list-unsubscribe", "list-unsubscribe-post"):
            assert header in signed.lower()
        tampered = accepted.data.replace(b"Subject: The river", b"Subject: The sea")
        assert not dkim.verify(tampered, dnsfunc=dns)
        (part,) = list(accepted.message.iter_attachments())
        assert part.get_filename() == "delta.zip"  # no path from the announcement survives
        assert part.get_content() == b"PK\x05\x06" + bytes(18)
    assert asked


def test_implicit_tls_server(smtps: MailServer, tmp_path: Path) -> None:
    sender = sender_for(smtps, tmp_path)
    subscribe(open_store(sender.settings), READERS)
    assert sender.send(announcement()).counts["sent"] == 3


def test_greylisting_4xx_is_retried_then_delivered(smtp: MailServer, tmp_path: Path) -> None:
    smtp.handler.defer = {READERS[1]: 2}
    sender = sender_for(smtp, tmp_path)
    subscribe(open_store(sender.settings), READERS)
    receipt = sender.send(announcement())
    assert receipt.counts == {"sent": 3, "already_sent": 0, "bounced": 0, "deferred": 0}
    assert len(smtp.handler.received_by(READERS[1])) == 1


def test_a_permanent_5xx_is_recorded_for_that_address_only(
    smtp: MailServer, tmp_path: Path
) -> None:
    smtp.handler.refuse = {READERS[0]}
    sender = sender_for(smtp, tmp_path)
    store = open_store(sender.settings)
    subscribe(store, READERS)
    receipt = sender.send(announcement())
    assert receipt.counts["sent"] == 2
    assert receipt.counts["bounced"] == 1
    bounced = store.get(READERS[0], "en")
    assert bounced is not None
    assert bounced.state == "bounced"
    assert bounced.failure == "550 5.1.1 no such user"
    smtp.handler.refuse = set()
    assert sender.send(announcement(key="k2")).counts["sent"] == 2  # bounced: not mailed again


def test_deferred_for_good_keeps_the_announcement_pending_and_a_rerun_sends_only_the_rest(
    smtp: MailServer, tmp_path: Path
) -> None:
    smtp.handler.defer = {READERS[2]: 100}
    sender = sender_for(smtp, tmp_path, max_attempts=2)
    subscribe(open_store(sender.settings), READERS)
    with pytest.raises(ChannelError, match=r"1 recipient\(s\) deferred") as caught:
        sender.send(announcement())
    assert caught.value.where == "channel newsletter"
    smtp.handler.defer = {}
    receipt = sender.send(announcement())
    assert receipt.counts == {"sent": 1, "already_sent": 2, "bounced": 0, "deferred": 0}
    for reader in READERS:
        assert len(smtp.handler.received_by(reader)) == 1


def test_a_server_that_drops_mid_batch_is_reconnected(smtp: MailServer, tmp_path: Path) -> None:
    smtp.handler.drop_at = 2
    sender = sender_for(smtp, tmp_path)
    subscribe(open_store(sender.settings), READERS)
    assert sender.send(announcement()).counts["sent"] == 3
    assert sorted(r for a in smtp.handler.accepted for r in a.recipients) == sorted(READERS)


def _one_line_channel_error(error: ChannelError) -> str:
    text = str(error)
    assert "\n" not in text
    assert error.where == "channel newsletter"
    return text


def test_wrong_credentials_fail_once_naming_the_channel(smtp: MailServer, tmp_path: Path) -> None:
    environ = {**ENVIRON, "T_SMTP_PASSWORD": "wrong"}
    sender = sender_for(smtp, tmp_path, environ)
    subscribe(open_store(sender.settings), READERS)
    with pytest.raises(ChannelError, match="refused the login") as caught:
        sender.send(announcement())
    assert "wrong" not in _one_line_channel_error(caught.value)
    assert smtp.handler.accepted == []


def test_an_untrusted_certificate_is_a_tls_failure(smtp: MailServer, tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    _, other_ca = make_ca(tmp_path / "other")
    sender = sender_for(smtp, tmp_path, ca_file=str(other_ca))
    subscribe(open_store(sender.settings), READERS)
    with pytest.raises(ChannelError, match=r"TLS with 127\.0\.0\.1:\d+ failed") as caught:
        sender.send(announcement())
    _one_line_channel_error(caught.value)
    assert smtp.handler.accepted == []


def test_a_server_that_is_down_fails_without_journaling(smtp: MailServer, tmp_path: Path) -> None:
    from support.processes import free_port

    sender = sender_for(smtp, tmp_path, smtp_port=free_port(), max_attempts=2)
    store = open_store(sender.settings)
    subscribe(store, READERS)
    with pytest.raises(ChannelError, match="cannot open an SMTP session") as caught:
        sender.send(announcement())
    _one_line_channel_error(caught.value)
    assert store.deliveries("k1") == 0


def test_an_oversized_attachment_fails_or_is_left_out_as_configured(
    smtp: MailServer, tmp_path: Path
) -> None:
    big: Announcement = announcement(attachment=bytes(2048), attachment_name="d.zip")
    sender = sender_for(smtp, tmp_path, attachment_max_bytes=1024)
    subscribe(open_store(sender.settings), READERS)
    with pytest.raises(ChannelError, match="2048 bytes, over attachment_max_bytes") as caught:
        sender.send(big)
    _one_line_channel_error(caught.value)
    assert smtp.handler.accepted == []
    skipping = sender_for(smtp, tmp_path, attachment_max_bytes=1024, attachment_oversize="skip")
    receipt = skipping.send(big)
    assert receipt.counts["sent"] == 3
    assert "sent without it" in receipt.notes[0]
    assert not list(smtp.handler.accepted[0].message.iter_attachments())


def test_a_subscriber_reads_it_back_from_an_imap_mailbox_and_the_signature_holds(
    smtp: MailServer, dovecot: ImapServer, tmp_path: Path
) -> None:
    key_file, record = _dkim_key(tmp_path)
    sender = sender_for(smtp, tmp_path, {**ENVIRON, "T_DKIM": str(key_file)},
                        dkim_selector="s1", dkim_key_file_env="T_DKIM")  # fmt: skip
    subscribe(open_store(sender.settings), READERS[:1])
    sender.send(announcement())
    dovecot.deliver(smtp.handler.accepted[0].data)  # the relay hands it to the mailbox
    client = dovecot.client()
    try:
        client.select("INBOX")
        status, data = client.fetch("1", "(BODY.PEEK[])")
    finally:
        client.logout()
    assert status == "OK"
    fetched = data[0][1]  # type: ignore[index]
    assert isinstance(fetched, bytes)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        return record if name == b"s1._domainkey.free-voice.example." else b""

    assert dkim.verify(fetched, dnsfunc=dns)
    message = parse(fetched)
    assert message["List-Id"] == "Free Voice <newsletter.free-voice.example>"
    assert {p.get_content_type() for p in message.walk()} == {
        "multipart/alternative", "text/plain", "text/html"}  # fmt: skip


def test_the_rate_limit_and_the_backoff_pause_as_configured(
    smtp: MailServer, tmp_path: Path
) -> None:
    now = [0.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(round(seconds, 6))
        now[0] += seconds

    settings = sender_for(smtp, tmp_path, rate_per_second=4, backoff_seconds=1.5).settings
    transport = SmtpTransport("newsletter", settings.smtp, clock=lambda: now[0], sleep=sleep)
    smtp.handler.defer = {READERS[2]: 2}
    try:
        for reader in READERS:
            transport.send(settings.sender, reader, b"Subject: x\r\n\r\nx\r\n")
    finally:
        transport.close()
    # 0.25 s between messages (4 per second); a greylisted recipient waits 1.5 s, then 3 s.
    assert pauses == [0.25, 0.25, 1.5, 3.0]


def test_a_server_without_starttls_is_refused_not_used_in_plain_text(tmp_path: Path) -> None:
    from support.mail import smtp_server

    with smtp_server(tmp_path, "stripped") as stripped:
        sender = sender_for(stripped, tmp_path, smtp_security="starttls")
        store = open_store(sender.settings)
        subscribe(store, READERS)
        with pytest.raises(ChannelError, match="does not offer STARTTLS; refusing") as caught:
            sender.send(announcement())
        sender.close()
        _one_line_channel_error(caught.value)
        assert stripped.handler.accepted == []
        assert store.deliveries("k1") == 0


def test_a_server_deferring_everyone_stops_the_run_after_a_streak(
    smtp: MailServer, tmp_path: Path
) -> None:
    readers = [f"r{n}@readers.example" for n in range(12)]
    smtp.handler.defer = dict.fromkeys(readers, 100)
    sender = sender_for(smtp, tmp_path, max_attempts=2)
    store = open_store(sender.settings)
    subscribe(store, readers)
    with pytest.raises(ChannelError, match="5 recipients in a row deferred") as caught:
        sender.send(announcement())
    _one_line_channel_error(caught.value)
    assert store.deliveries("k1") == 0
