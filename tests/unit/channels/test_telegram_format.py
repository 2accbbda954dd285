"""Telegram messages from hostile article data: escaped, unreorderable, within the limits;
and the sender's options (secrets from the environment only, safe chat ids and API URLs)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.telegram_html import parse_telegram_html
from tamizdat.channels.announce import Announcement, Story
from tamizdat.channels.messages import clean_text
from tamizdat.channels.telegram import (
    TelegramLimits,
    TelegramSender,
    format_announcement,
    utf16_length,
)
from tamizdat.errors import ConfigError

WHEN = datetime(2026, 3, 1, 12, tzinfo=UTC)
LIMITS = TelegramLimits()
MIRRORS = ("https://m1.example.net/", "https://m2.example.net/")


def make_story(title: str, lead: str = "A lead.", path: str = "/en/news/2026/03/x/") -> Story:
    return Story(
        path=path, lang="en", title=title, lead=lead, published=WHEN, updated=None,
        desk="news", tags=("t",), reading_minutes=3, revision=WHEN.isoformat(),
    )  # fmt: skip


def make_announcement(*stories: Story, dont_miss: tuple[Story, ...] = ()) -> Announcement:
    return Announcement(
        key="tg:en:r1:x", channel="tg", kind="release", lang="en", release=1, published=WHEN,
        stories=stories, mirrors=MIRRORS, fingerprint="ab" * 32, site_title="Exile News",
        dont_miss=dont_miss,
    )  # fmt: skip


HOSTILE = [
    "<script>alert(1)</script>",
    '</b><a href="javascript:alert(1)">click</a><b>',
    "**bold** __under__ [link](http://evil.example) `code` ~~s~~ ||spoiler||",
    "&amp; &lt;b&gt; &#60;i&#62; & < > \" '",
    "\u202eexe.txt\u202c and \u2066isolate\u2069 and \u200f",
    "null\x00byte\x1b[31mred\x07bell",
    "line\nbreak\r\nand\u2028separator",
    "lone \udc80 surrogate",
    "🙂" * 5000,  # astral: two UTF-16 units each
    "x" * 100_000,
    "",
]


@pytest.mark.parametrize("title", HOSTILE, ids=range(len(HOSTILE)))
def test_a_hostile_title_stays_text(title: str) -> None:
    announcement = make_announcement(make_story(title, lead=title), dont_miss=(make_story(title),))
    for text in format_announcement(announcement, LIMITS):
        assert utf16_length(text) <= LIMITS.max_message
        parsed = parse_telegram_html(text)  # only our own tags, balanced, known entities
        assert all(link.startswith("https://m") for link in parsed.links)
        for forbidden in ("\u202e", "\u202c", "\u2066", "\u2069", "\x00", "\x1b", "\udc80"):
            assert forbidden not in parsed.text
    first = parse_telegram_html(format_announcement(announcement, LIMITS)[0])
    assert first.bold[0] == clean_text(title, LIMITS.max_title)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=400), st.text(max_size=1500)), min_size=1, max_size=12))
def test_any_stories_make_valid_messages_in_order(rows: list[tuple[str, str]]) -> None:
    stories = [
        make_story(t, lead, path=f"/en/news/2026/03/s{i}/") for i, (t, lead) in enumerate(rows)
    ]
    messages = format_announcement(make_announcement(*stories), LIMITS)
    heads: list[str] = []
    for text in messages:
        assert utf16_length(text) <= LIMITS.max_message
        heads += parse_telegram_html(text).bold
    assert [h for h in heads if h != "Correction:"][: len(stories)] == [
        clean_text(t, LIMITS.max_title) for t, _ in rows
    ]


def test_a_long_release_is_split_between_stories() -> None:
    stories = [
        make_story(f"Story {i}", "word " * 150, path=f"/en/news/2026/03/s{i}/") for i in range(30)
    ]
    messages = format_announcement(make_announcement(*stories), LIMITS)
    assert len(messages) > 1
    for text in messages:
        assert utf16_length(text) <= LIMITS.max_message
    heads = [b for text in messages for b in parse_telegram_html(text).bold]
    assert heads[:30] == [f"Story {i}" for i in range(30)]


def test_a_correction_is_labelled_and_links_carry_the_path() -> None:
    story = make_story("Flood", path="/ru/news/2026/03/наводнение/")
    corrected = Story(**{**{f: getattr(story, f) for f in story.__slots__}, "correction": True})
    (text,) = format_announcement(make_announcement(corrected), LIMITS)
    parsed = parse_telegram_html(text)
    assert parsed.bold[:2] == ["Correction:", "Flood"]
    assert parsed.links[0] == (
        "https://m1.example.net/ru/news/2026/03/%D0%BD%D0%B0%D0%B2%D0%BE%D0%B4%D0%BD%D0%B5%D0%BD"
        "%D0%B8%D0%B5/"
    )
    assert "abab abab" in parsed.text  # the fingerprint, in groups


def test_russian_labels() -> None:
    story = make_story("Наводнение")
    announcement = make_announcement(story, dont_miss=(make_story("Дождь", path="/ru/a/"),))
    ru = Announcement(**{**{f: getattr(announcement, f) for f in announcement.__slots__},
                         "lang": "ru"})  # fmt: skip
    (text,) = format_announcement(ru, LIMITS)
    assert "3 мин чтения" in text
    assert "Проверьте копию" in text


GOOD: dict[str, Any] = {"chat_id": "@exile_news", "token_env": "TG_TOKEN"}
ENV = {"TG_TOKEN": "123456:AAbbCCddEEffGGhh"}


@pytest.mark.parametrize(
    ("options", "environ", "message"),
    [
        ({"token_env": "TG_TOKEN"}, ENV, "needs options.chat_id"),
        ({**GOOD, "chat_id": "exile news"}, ENV, "expected a chat id"),
        ({**GOOD, "chat_id": "@x/../y"}, ENV, "expected a chat id"),
        ({**GOOD, "token": "123:abc"}, ENV, "unknown telegram option 'token'"),
        (GOOD, {}, "environment variable TG_TOKEN is empty"),
        (GOOD, {"TG_TOKEN": "123:abc/../../getMe?"}, "does not hold a bot token"),
        (GOOD, {"TG_TOKEN": "123:abc\r\nHost: evil"}, "does not hold a bot token"),
        ({**GOOD, "api_url": "http://api.telegram.org"}, ENV, "would travel in clear text"),
        ({**GOOD, "api_url": 5}, ENV, "expected a string"),
    ],
)
def test_bad_options_are_config_errors_naming_the_channel(
    options: dict[str, Any], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match="channel tg") as caught:
        TelegramSender("tg", options, environ)
    assert message in caught.value.message
    assert "AAbbCCdd" not in str(caught.value)


def test_good_options_make_a_sender_that_cannot_confirm() -> None:
    sender = TelegramSender("tg", {**GOOD, "api_url": "http://127.0.0.1:9/"}, ENV)
    assert sender.can_confirm is False
    assert sender.was_sent(make_announcement(make_story("x"))) is None
