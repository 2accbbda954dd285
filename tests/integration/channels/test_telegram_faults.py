"""Telegram faults through ``tamizdat announce`` (and the bundle upload, which the emulator
does not implement): each is one ``error:`` line naming the
channel, a non-zero exit, the journal consistent (the failed key not sent), the token never
printed, and a re-run against a healthy API sends exactly what was missing.

The faults come from a scripted Bot API on 127.0.0.1 (support.telegram_servers), which answers
as Telegram documents: ``{"ok": false, "error_code": …, "description": …, "parameters": …}``.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from support.announce_site import copy_site, signed_site, story
from support.telegram_servers import ScriptedBotApi, free_port, scripted_bot_api
from tamizdat.channels.announce import Announcement, Story
from tamizdat.channels.journal import journal_file
from tamizdat.channels.telegram import TelegramLimits, TelegramSender
from tamizdat.cli import main
from tamizdat.errors import ChannelError, ExitCode

TOKEN = "123456:secret-token-never-printed"
ARTICLES = {
    "en/flood": story("Flood in the capital", "2026-03-01"),
    "en/court": story("Court frees reporter", "2026-03-02"),
}


def ok(message_id: int) -> tuple[int, dict[str, Any]]:
    return 200, {"ok": True, "result": {"message_id": message_id, "chat": {"id": -100}}}


def refused(code: int, description: str, **parameters: Any) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return code, body


@pytest.fixture(scope="module")
def base_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return signed_site(tmp_path_factory.mktemp("tgfaults") / "site", ARTICLES)


@pytest.fixture
def site(base_site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TEST_TELEGRAM_TOKEN", TOKEN)
    return copy_site(base_site, tmp_path / "site")


def point_at(site: Path, api_url: str) -> None:
    """(Re)write the site's one telegram channel to use ``api_url``."""
    text = (site / "tamizdat.toml").read_text(encoding="utf-8").split("\n[[channels]]")[0]
    text += "\n".join(
        [
            "",
            "[[channels]]",
            'name = "tg"',
            'kind = "telegram"',
            "per_story = true",
            'languages = ["en"]',
            "[channels.options]",
            'chat_id = "-1001234567890"',
            f"api_url = {json.dumps(api_url)}",
            'token_env = "TEST_TELEGRAM_TOKEN"',
            "",
        ]
    )
    (site / "tamizdat.toml").write_text(text, encoding="utf-8")


def entries(site: Path) -> list[dict[str, Any]]:
    doc = json.loads(journal_file(site / ".tamizdat", "tg").read_text())
    rows: list[dict[str, Any]] = doc["entries"]
    return rows


def sent_texts(api: ScriptedBotApi) -> list[str]:
    return [payload["text"] for _, path, payload in api.requests if path.endswith("/sendMessage")]


FAULTS = [
    pytest.param(
        [refused(403, "Forbidden: bot is not a member of the channel chat")],
        "Telegram refused sendMessage: Forbidden: bot is not a member of the channel chat "
        "(error 403)",
        ExitCode.UNREACHABLE,
        id="403-not-admin",
    ),
    pytest.param(
        [refused(401, "Unauthorized")],
        "Telegram refused sendMessage: Unauthorized (error 401)",
        ExitCode.UNREACHABLE,
        id="401-bad-token",
    ),
    pytest.param(
        [ok(1), refused(400, "Bad Request: can't parse entities")],
        "Telegram refused sendMessage: Bad Request: can't parse entities (error 400)",
        ExitCode.UNREACHABLE,
        id="400-second-message",
    ),
    pytest.param(
        [ok(1), (502, b"<html>Bad Gateway</html>")],
        "Telegram refused sendMessage: HTTP 502 (error 502)",
        ExitCode.UNREACHABLE,
        id="502-mid-batch",
    ),
    pytest.param(
        [refused(429, "Too Many Requests: retry after 86400", retry_after=86400)],
        "Telegram asks to wait 86400 s before sendMessage",
        ExitCode.UNREACHABLE,
        id="429-too-long",
    ),
    pytest.param(
        [(200, b"this is not json")],
        "not a Bot API answer to sendMessage (HTTP 200)",
        ExitCode.UNREACHABLE,
        id="garbage",
    ),
]


@pytest.mark.parametrize(("script", "message", "code"), FAULTS)
def test_a_fault_is_one_line_naming_the_channel_and_the_rerun_sends_the_rest(
    site: Path,
    capsys: pytest.CaptureFixture[str],
    script: list[tuple[int, Any]],
    message: str,
    code: ExitCode,
) -> None:
    with scripted_bot_api(script) as api:
        point_at(site, api.api_url)
        assert main(["-C", str(site), "announce"]) == code
        delivered = sum(1 for s, _ in script[:-1] if s == 200)
    out, err = capsys.readouterr()
    (line,) = [x for x in err.splitlines() if x.startswith("error:")]
    assert line.startswith(f"error: channel tg: {message}")
    assert TOKEN.split(":")[1] not in out + err
    states = sorted(e["state"] for e in entries(site))
    assert states == sorted(["sent"] * delivered + ["failed"])
    # The API is healthy again: the re-run sends exactly the stories not yet sent.
    with scripted_bot_api([ok(10)]) as healthy:
        point_at(site, healthy.api_url)
        assert main(["-q", "-C", str(site), "announce"]) == 0
        assert len(sent_texts(healthy)) == 2 - delivered
    assert sorted(e["state"] for e in entries(site)) == ["sent", "sent"]


def test_429_retry_after_is_honoured(site: Path) -> None:
    script = [refused(429, "Too Many Requests: retry after 1", retry_after=1), ok(1), ok(2)]
    with scripted_bot_api(script) as api:
        point_at(site, api.api_url)
        assert main(["-q", "-C", str(site), "announce"]) == 0
    times = [t for t, _, _ in api.requests]
    assert len(times) == 3
    assert sent_texts(api)[0] == sent_texts(api)[1]  # the same message, asked again
    assert times[1] - times[0] >= 1.0  # waited as told, not hammered


def test_server_down_is_one_line_and_nothing_is_recorded_sent(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    point_at(site, f"http://127.0.0.1:{free_port()}")  # nobody listens there
    assert main(["-C", str(site), "announce"]) == ExitCode.UNREACHABLE
    (line,) = [x for x in capsys.readouterr().err.splitlines() if x.startswith("error:")]
    assert line.startswith("error: channel tg: cannot reach the Bot API")
    assert [e["state"] for e in entries(site)] == ["failed"]


@pytest.mark.parametrize(
    ("api_url", "message"),
    [
        ("http://api.example.org", "the bot token would travel in clear text"),
        ("ftp://127.0.0.1", "expected an http(s):// Bot API URL"),
        ("https://api.example.org/?x=1", "expected an http(s):// Bot API URL"),
    ],
)
def test_an_unsafe_api_url_is_refused_before_sending(
    site: Path, capsys: pytest.CaptureFixture[str], api_url: str, message: str
) -> None:
    point_at(site, api_url)
    assert main(["-C", str(site), "announce"]) == ExitCode.USER
    err = capsys.readouterr().err
    assert f"error: channel tg: options.api_url: {message}" in err
    assert not journal_file(site / ".tamizdat", "tg").exists()


def long_announcement() -> Announcement:
    when = datetime(2026, 3, 1, tzinfo=UTC)
    stories = tuple(
        Story(
            path=f"/en/news/2026/03/s{i}/", lang="en", title=f"Story {i}", lead="word " * 150,
            published=when, updated=None, desk="news", tags=(), reading_minutes=2,
            revision=when.isoformat(),
        )
        for i in range(30)
    )  # fmt: skip
    return Announcement(
        key="tg:en:r1:x", channel="tg", kind="release", lang="en", release=1, published=when,
        stories=stories, mirrors=("https://m1.example.net/",), fingerprint="ab" * 32,
        site_title="Exile News",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("delete", "says"),
    [
        ((200, {"ok": True, "result": True}), "the parts already posted were deleted"),
        (refused(400, "Bad Request: message can't be deleted"), "messages 1 stay posted"),
    ],
)
def test_a_split_announcement_failing_half_way_is_taken_back(
    delete: tuple[int, Any], says: str
) -> None:
    script = [ok(1), refused(500, "Internal Server Error"), delete]
    with scripted_bot_api(script) as api:
        sender = TelegramSender(
            "tg",
            {"chat_id": "@exile_news", "api_url": api.api_url},
            {"TAMIZDAT_TELEGRAM_TOKEN": TOKEN},
        )
        with pytest.raises(ChannelError) as caught:
            sender.send(long_announcement())
    assert caught.value.message.startswith("Telegram refused sendMessage: Internal Server Error")
    assert "(part 2 of " in caught.value.message
    assert says in caught.value.message
    methods = [path.rsplit("/", 1)[1] for _, path, _ in api.requests]
    assert methods == ["sendMessage", "sendMessage", "deleteMessage"]
    assert api.requests[2][2] == {"chat_id": "@exile_news", "message_id": 1}


def test_the_bundle_is_uploaded_after_the_text_within_the_bot_limit() -> None:
    bundle = b"PK\x03\x04" + bytes(range(256)) * 40  # opaque bytes: carried, not read
    announcement = dataclasses.replace(
        long_announcement(), stories=long_announcement().stories[:2], attachment=bundle,
        attachment_name="tg-r1-r2.zip", lang="ru",
    )  # fmt: skip
    with scripted_bot_api([ok(1), ok(2)]) as api:
        sender = TelegramSender(
            "tg",
            {"chat_id": "@exile_news", "api_url": api.api_url},
            {"TAMIZDAT_TELEGRAM_TOKEN": TOKEN},
        )
        receipt = sender.send(announcement)
        assert receipt.ids == ("1", "2")
        too_big = TelegramSender(
            "tg",
            {"chat_id": "@exile_news", "api_url": api.api_url},
            {"TAMIZDAT_TELEGRAM_TOKEN": TOKEN},
        )
        too_big.limits = TelegramLimits(max_upload=len(bundle) - 1)
        with pytest.raises(ChannelError, match="over the Bot API's") as caught:
            too_big.send(announcement)
        assert caught.value.permanent
    methods = [path.rsplit("/", 1)[1] for _, path, _ in api.requests]
    assert methods == ["sendMessage", "sendDocument"]  # nothing sent for the oversized one
    raw = api.raw[1]
    assert b'name="document"; filename="tg-r1-r2.zip"' in raw
    assert bundle in raw
    assert "Подписанная копия выпуска 1".encode() in raw
