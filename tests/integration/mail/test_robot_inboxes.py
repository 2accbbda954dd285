"""``tamizdat robot --once`` serving the e-mail channel's IMAP inbox (Dovecot, answers through
aiosmtpd) and a telegram bot (the Bot API emulator) in one run, all on 127.0.0.1: both
answered through one distributor, and an inbox whose server is down reported on one line
naming its channel while the other is still served."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from support.announce_site import signed_site, story
from support.mail import ENVIRON, ImapServer, MailServer, free_port, parse
from support.telegram_servers import TelegramEmulator
from tamizdat.cli import main
from tamizdat.fingerprint import format_fingerprint, root_fingerprint
from tamizdat.layout import metadata_path

READER = 5151


def make_site(
    tmp_path: Path, smtp: MailServer, imap_port: int, ca_file: Path, api_url: str
) -> Path:
    options: dict[str, Any] = {
        **{k: v for k, v in smtp.options(tmp_path).items() if k != "site_dir"},
        "imap_host": "127.0.0.1", "imap_port": imap_port, "imap_user_env": "T_IMAP_USER",
        "imap_password_env": "T_IMAP_PASSWORD", "imap_ca_file": str(ca_file),
    }  # fmt: skip
    channels = ["[[channels]]", 'name = "newsletter"', 'kind = "email"', "[channels.options]"]
    channels += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    channels += ["[[channels]]", 'name = "tg"', 'kind = "telegram"', "[channels.options]",
                 'chat_id = "@free_voice"', f"api_url = {json.dumps(api_url)}",
                 'token_env = "T_TG_TOKEN"', "answer_requests = true"]  # fmt: skip
    articles = {"en/flood": story("Flood in the capital", "2026-03-01")}
    return signed_site(tmp_path / "site", articles, channels="\n".join(channels) + "\n")


@pytest.fixture
def environment(
    tmp_path: Path, bot_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:  # fmt: skip
    for name, value in ENVIRON.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("T_TG_TOKEN", bot_token)
    key = tmp_path / "distribution.key"
    key.write_bytes(b"d" * 32)
    monkeypatch.setenv("TAMIZDAT_DISTRIBUTION_KEY_FILE", str(key))


def fingerprint(site: Path) -> str:
    return format_fingerprint(
        root_fingerprint((site / "release" / metadata_path("root", 1)).read_bytes())
    )


@pytest.mark.usefixtures("environment")
def test_one_run_answers_the_imap_inbox_and_the_telegram_bot(
    smtp: MailServer, dovecot: ImapServer, emulator: TelegramEmulator, bot_token: str,
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("T_IMAP_USER", dovecot.user)
    monkeypatch.setenv("T_IMAP_PASSWORD", dovecot.password)
    site = make_site(tmp_path, smtp, dovecot.imaps_port, dovecot.ca_file, emulator.api_url)
    dovecot.deliver(b"From: ana@readers.example\r\nSubject: mirrors\r\n\r\nhi\r\n")
    emulator.send_as_user(bot_token, "/mirrors", user_id=READER)
    capsys.readouterr()
    assert main(["--json", "-C", str(site), "robot", "--once"]) == 0
    sources = json.loads(capsys.readouterr().out)["sources"]
    assert [(s["channel"], s["kind"], s["answered"], s["error"]) for s in sources] == [
        ("newsletter", "email", 1, None),
        ("tg", "telegram", 1, None),
    ]
    (mail,) = smtp.handler.accepted
    assert fingerprint(site) in parse(mail.data).get_content()
    (reply,) = [m["text"] for m in emulator.bot_messages(bot_token) if m["chat_id"] == READER]
    assert fingerprint(site) in reply
    assert main(["-C", str(site), "robot", "--once"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "newsletter (email): no new requests",
        "tg (telegram): no new requests",
    ]
    assert len(smtp.handler.accepted) == 1


@pytest.mark.usefixtures("environment")
def test_an_imap_server_down_is_one_error_naming_the_channel_and_the_bot_still_answers(
    smtp: MailServer, emulator: TelegramEmulator, bot_token: str, tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("T_IMAP_USER", "robot")
    monkeypatch.setenv("T_IMAP_PASSWORD", "secret")
    site = make_site(tmp_path, smtp, free_port(), smtp.ca_file, emulator.api_url)
    emulator.send_as_user(bot_token, "/mirrors", user_id=READER)
    capsys.readouterr()
    assert main(["-C", str(site), "robot", "--once"]) == 7  # unreachable
    captured = capsys.readouterr()
    (error,) = captured.err.splitlines()
    assert error.startswith("error: channel newsletter (IMAP 127.0.0.1:")
    assert captured.out.splitlines() == [
        "newsletter (email): failed (see the error above)",
        "tg (telegram): 1 answered (1 mirrors)",
    ]
    (reply,) = [m["text"] for m in emulator.bot_messages(bot_token) if m["chat_id"] == READER]
    assert fingerprint(site) in reply
    assert smtp.handler.accepted == []
