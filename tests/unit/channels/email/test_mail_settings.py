"""A channel's options: every mistake names the channel and the option; secrets only
from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tamizdat.channels.email.settings import read_imap_settings, read_mail_settings
from tamizdat.errors import ConfigError

BASE = {"from": "news@free-voice.example", "smtp_host": "smtp.free-voice.example"}


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"smpt_host": "x"}, "smpt_host", "did you mean 'smtp_host'"),
        ({"from": "news\r\n@x.example"}, "from", "expected an e-mail address"),
        ({"smtp_security": "none"}, "smtp_security", "expected starttls, tls or plain"),
        ({"smtp_security": "plain"}, "smtp_security", "only allowed to a relay on this machine"),
        ({"unsubscribe_url": "http://x.example/u"}, "unsubscribe_url", "https://"),
        ({"smtp_user_env": "NOPE"}, "smtp_user_env", "NOPE holding the SMTP user name is not set"),
        ({"smtp_port": "25"}, "smtp_port", "expected a number"),
        ({"rate_per_second": 0}, "rate_per_second", "expected a number"),
        ({"list_id": "no dots"}, "list_id", "dotted name"),
        ({"attachment_oversize": "ignore"}, "attachment_oversize", "fail or skip"),
        ({"dkim_selector": "s1"}, "dkim_key_file_env", "TAMIZDAT_DKIM_KEY_FILE is not set"),
        ({"from_name": "A\nBcc: x@y.example"}, "from_name", "one line"),
    ],
)
def test_bad_options_name_the_channel_and_option(
    changes: dict[str, Any], key: str, message: str
) -> None:
    options = {**BASE, **changes}
    with pytest.raises(ConfigError, match=message) as caught:
        read_mail_settings("newsletter", options, {})
    assert caught.value.where == f"channel newsletter: options.{key}"


def test_plain_smtp_to_a_loopback_relay_and_secrets_from_the_environment() -> None:
    options = {**BASE, "smtp_host": "127.0.0.1", "smtp_security": "plain",
               "smtp_user_env": "U", "smtp_password_env": "P"}  # fmt: skip
    settings = read_mail_settings("newsletter", options, {"U": "user", "P": "hunter2"})
    assert settings.smtp.port == 25
    assert settings.smtp.password == "hunter2"
    assert "hunter2" not in repr(settings)
    assert settings.list_id == "newsletter.free-voice.example"
    assert settings.robot == "news@free-voice.example"


def test_the_robot_inbox_needs_its_own_secrets() -> None:
    with pytest.raises(ConfigError, match="imap_host"):
        read_imap_settings("newsletter", BASE, {})
    options = {
        **BASE,
        "imap_host": "imap.x.example",
        "imap_user_env": "U",
        "imap_password_env": "P",
    }
    imap = read_imap_settings("newsletter", options, {"U": "robot", "P": "pw"})
    assert (imap.port, imap.security, imap.folder) == (993, "tls", "INBOX")
    with pytest.raises(ConfigError, match="plain folder name"):
        read_imap_settings("newsletter", {**options, "imap_move_to": 'x" y'}, {"U": "r", "P": "p"})


def test_a_sender_outside_any_site_refuses_to_invent_an_empty_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tamizdat.channels.email.sender import EmailSender

    monkeypatch.chdir(tmp_path)
    sender = EmailSender("newsletter", BASE, {})
    with pytest.raises(ConfigError, match="expected the site folder") as caught:
        sender.store  # noqa: B018
    assert caught.value.where == "channel newsletter: options.site_dir"
    assert not (tmp_path / "private").exists()
