"""``tamizdat announce`` to Telegram, and the bot's private chat, against the Bot API emulator
(npm ``telegram-test-api``, a real process on 127.0.0.1: no real Telegram is reachable here).

What the bot posted is read back from the emulator and checked as Telegram would parse it
(support.telegram_html); faults the emulator cannot make are in test_telegram_faults.py.
"""

from __future__ import annotations

import html
import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from support.announce_killing import run_announce_killing
from support.announce_site import copy_site, mirror_states, signed_site, story, write_article
from support.telegram_html import parse_telegram_html
from support.telegram_servers import TelegramEmulator, telegram_emulator
from tamizdat.channels.distributor import DistributionConfig, Distributor
from tamizdat.channels.requests import MemoryRequestStore
from tamizdat.channels.telegram import BotApi
from tamizdat.channels.telegram_requests import TelegramRequests, open_telegram_requests
from tamizdat.cli import main
from tamizdat.config import load_config

HOSTILE = '</b><a href="javascript:alert(1)">x</a> **bold** _it_ [l](http://evil) \u202etxt.exe'
ARTICLES = {
    "en/flood": story("Flood in the capital", "2026-03-01", tags=["weather"]),
    "en/court": story("Court frees reporter", "2026-03-02", tags=["courts"]),
    "en/hostile": story(HOSTILE, "2026-03-03", tags=["weather"], lead="<i>lead & more</i>"),
    "ru/flood": story("Наводнение в столице", "2026-03-01", lang="ru", tags=["weather"]),
}
_tokens = itertools.count(1)


@pytest.fixture(scope="module")
def emulator() -> Iterator[TelegramEmulator]:
    with telegram_emulator() as running:
        yield running


@pytest.fixture(scope="module")
def base_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return signed_site(tmp_path_factory.mktemp("telegram") / "site", ARTICLES)


@pytest.fixture
def token() -> str:
    return f"{next(_tokens)}00:test-token-for-the-emulator"


def add_telegram(site: Path, api_url: str, *, name: str = "tg", per_story: bool = True) -> None:
    lines = [
        "",
        "[[channels]]",
        f'name = "{name}"',
        'kind = "telegram"',
        f"per_story = {json.dumps(per_story)}",
        "[channels.options]",
        'chat_id = "@exile_news"',
        f"api_url = {json.dumps(api_url)}",
        'token_env = "TEST_TELEGRAM_TOKEN"',
    ]
    with (site / "tamizdat.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


@pytest.fixture
def site(
    base_site: Path, tmp_path: Path, emulator: TelegramEmulator, token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:  # fmt: skip
    copy = copy_site(base_site, tmp_path / "site")
    add_telegram(copy, emulator.api_url)
    monkeypatch.setenv("TEST_TELEGRAM_TOKEN", token)
    return copy


def test_announce_posts_escaped_html_once(
    site: Path, emulator: TelegramEmulator, token: str
) -> None:
    assert main(["-q", "-C", str(site), "announce"]) == 0
    messages = emulator.bot_messages(token)
    assert len(messages) == 4  # one per story, both languages
    for message in messages:
        assert message["chat_id"] == "@exile_news"
        assert message["parse_mode"] == "HTML"
        assert message["link_preview_options"] == {"is_disabled": True}
    parsed = [parse_telegram_html(m["text"]) for m in messages]
    hostile = next(p for p in parsed if "javascript" in p.bold[0])
    # The title is text, whole and inert: no tag, link or override came from it.
    assert '</b><a href="javascript:alert(1)">x</a> **bold** _it_ [l](http://evil) txt.exe' in (
        hostile.text
    )
    assert "\u202e" not in hostile.text
    assert "<i>lead & more</i>" in hostile.text
    assert all(url.startswith("https://m") for p in parsed for url in p.links)
    assert {p.bold[0] for p in parsed} >= {"Flood in the capital", "Наводнение в столице"}
    assert main(["-q", "-C", str(site), "announce"]) == 0
    assert len(emulator.bot_messages(token)) == 4  # nothing twice


def test_correction_is_posted_as_a_correction(
    site: Path, emulator: TelegramEmulator, token: str
) -> None:
    from support.announce_site import resign

    assert main(["-q", "-C", str(site), "announce"]) == 0
    write_article(
        site, "en/court", story("Court frees reporter", "2026-03-02", updated="2026-03-06")
    )
    resign(site)
    assert main(["-q", "-C", str(site), "announce"]) == 0
    last = parse_telegram_html(emulator.bot_messages(token)[-1]["text"])
    assert last.bold[:2] == ["Correction:", "Court frees reporter"]
    assert len(emulator.bot_messages(token)) == 5


def test_killed_after_k_messages_rerun_sends_exactly_the_rest(
    site: Path, emulator: TelegramEmulator, token: str
) -> None:
    """Killed right after the 2nd message, before the journal knew: Telegram cannot confirm,
    so the re-run reports that key and sends exactly the other stories."""
    killed = run_announce_killing(site, 2)
    assert killed.returncode < 0, killed.stderr
    assert len(emulator.bot_messages(token)) == 2
    rerun = run_announce_killing(site, 1_000)
    assert rerun.returncode == 0, rerun.stderr
    texts = [m["text"] for m in emulator.bot_messages(token)]
    heads = [parse_telegram_html(t).bold[0] for t in texts]
    assert len(heads) == 4
    assert len(set(heads)) == 4  # every story exactly once
    (unresolved,) = [line for line in rerun.stdout.splitlines() if line.startswith("unresolved")]
    assert html.unescape(unresolved).startswith("unresolved tg tg:")


def test_bot_answers_mirrors_verify_and_start_in_the_users_language(
    site: Path, emulator: TelegramEmulator, token: str
) -> None:
    config = load_config(site)
    distributor = Distributor(b"k" * 32, "ab" * 32, DistributionConfig(groups=1, rate_limit=2))
    working = {f"m{i}": f"https://m{i}.example.net/" for i in range(12)}
    bot = TelegramRequests(
        BotApi(emulator.api_url, token, channel="tg"),
        distributor,
        MemoryRequestStore(),
        working=lambda: working,
        offset_file=config.build.cache_dir / "channels" / "tg.telegram-offset.json",
        site_title="Exile News",
    )
    for text, lang in [("/mirrors", "ru"), ("/mirrors@ExileBot", "en"), ("/mirrors", "en"),
                       ("/verify", "en"), ("hello", "xx-!!")]:  # fmt: skip
        emulator.send_as_user(token, text, user_id=4242, language_code=lang)
    emulator.send_as_user(token, "/mirrors", user_id=-5)  # not a person: ignored
    report = bot.poll_once(datetime(2026, 3, 1, 12, tzinfo=UTC))
    assert report.replies == {"/mirrors": 3, "/verify": 1, "/start": 1}
    assert report.ignored == 1
    replies = [m["text"] for m in emulator.bot_messages(token)]
    assert all(m.get("parse_mode") is None for m in emulator.bot_messages(token))
    ru, en, limited, verify, start = replies
    assert ru.startswith("Рабочие адреса на сегодня:")
    assert en.startswith("Working addresses today:")
    assert [u for u in en.split() if u.startswith("https://")] == [
        u for u in ru.split() if u.startswith("https://")
    ]  # the same answer in both languages: the requester is the user id
    assert "ab" * 32 in en
    assert "You already asked today" in limited
    assert "abab abab" in verify
    assert "tamizdat verify URL" in verify
    assert "Exile News" in start
    assert "/mirrors" in start
    assert bot.poll_once().updates == 0  # the offset was kept: nothing answered twice


def test_open_telegram_requests_builds_the_bot_from_the_channel(
    site: Path, emulator: TelegramEmulator, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = site.parent / "distribution.key"
    key.write_bytes(b"s" * 32)
    monkeypatch.setenv("TAMIZDAT_DISTRIBUTION_KEY_FILE", str(key))
    import os

    bot = open_telegram_requests(load_config(site), "tg", os.environ, lambda: mirror_states(site))
    emulator.send_as_user(token, "/mirrors", user_id=777, language_code="en")
    assert bot.poll_once().replies == {"/mirrors": 1}
    (reply,) = emulator.bot_messages(token)
    urls = [u for u in reply["text"].split() if u.startswith("https://")]
    assert 1 <= len(urls) <= 3
    assert set(urls) <= {f"https://m{i}.example.net/" for i in range(1, 5)}
