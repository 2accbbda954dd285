"""Composing a subscriber's copy: hostile titles, paths and "mirrors" from the announcement
never become a header injection, a script, a remote load or a link elsewhere."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.mail import announcement, parse, story
from tamizdat.channels.email.compose import compose_newsletter, sign_message, story_links
from tamizdat.channels.email.settings import MailSettings, read_mail_settings
from tamizdat.channels.email.subscribers import Subscriber
from tamizdat.render.theme import Theme

READER = Subscriber("ana@readers.example", "en", "confirmed", 0.0, 0.0, "TOKEN_abcdefghijklmnopq")


def mail_settings(tmp_path: Path, **extra: Any) -> MailSettings:
    options = {"from": "news@free-voice.example", "smtp_host": "smtp.free-voice.example",
               "site_dir": str(tmp_path), **extra}  # fmt: skip
    return read_mail_settings("newsletter", options, {})


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k in ("href", "src")]


@pytest.mark.parametrize(
    ("path", "linked"),
    [
        ("/en/news/flood/", True),
        ("en/news/flood/", True),
        ("//evil.example/phish/", False),
        ("/en/\\\\evil.example/", False),
        ("/en/news/\r\nflood/", False),
        ("/en/news/a b?c#d/", True),
    ],
)
def test_story_links_stay_on_the_mirrors(path: str, linked: bool) -> None:
    mirrors = ("https://m1.example/", "javascript:alert(1)//", "file:///etc/", "https://m2.example/x/?q=1",
               "https://m3.example/base/")  # fmt: skip
    links = story_links(mirrors, story(path), 5)
    if not linked:
        assert links == ()
        return
    assert [link.split("/")[2] for link in links] == ["m1.example", "m3.example"]
    for link in links:
        assert " " not in link
        assert "?" not in link
        assert "#" not in link


def test_hostile_titles_cannot_inject_headers_or_markup(tmp_path: Path) -> None:
    evil = story(title="Breaking\r\nBcc: victim@else.example\r\n\r\n<script>alert(1)</script>",
                 lead='<img src="https://tracker.example/p.gif">')  # fmt: skip
    sent = announcement(stories=(evil,), dont_miss=())
    message = compose_newsletter(sent, READER, mail_settings(tmp_path), Theme())
    reparsed = parse(message.as_bytes())
    assert reparsed["Bcc"] is None
    assert "\n" not in reparsed["Subject"]
    assert reparsed["Subject"].startswith("Breaking Bcc:")
    html = reparsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    tags = Tags()
    tags.feed(html)
    assert "script" not in tags.tags
    assert "img" not in tags.tags
    assert all(not h.startswith("https://tracker") for h in tags.hrefs)
    assert "&lt;script&gt;" in html


def test_corrections_and_digests_say_so_in_the_subject(tmp_path: Path) -> None:
    fixed = announcement(stories=(story(correction=True),), kind="digest")
    message = compose_newsletter(fixed, READER, mail_settings(tmp_path), Theme())
    assert message["Subject"] == "Digest: Correction: The river rose overnight"


def test_russian_readers_get_russian_words(tmp_path: Path) -> None:
    sent = announcement(lang="ru")
    message = compose_newsletter(sent, READER, mail_settings(tmp_path), Theme())
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "4 мин чтения" in text
    assert "Не пропустите" in text


def test_a_site_template_overrides_the_theme(tmp_path: Path) -> None:
    override = tmp_path / "theme" / "templates" / "email"
    override.mkdir(parents=True)
    (override / "newsletter.txt").write_text(
        "{% autoescape false %}OURS {{ a.site_title }}{% endautoescape %}\n"
    )
    message = compose_newsletter(announcement(), READER, mail_settings(tmp_path),
                                 Theme(tmp_path / "theme"))  # fmt: skip
    assert message.get_body(("plain",)).get_content().startswith("OURS Free Voice")  # type: ignore[union-attr]


def test_unsigned_without_a_key(tmp_path: Path) -> None:
    message = compose_newsletter(announcement(), READER, mail_settings(tmp_path), Theme())
    assert not sign_message(message, None).startswith(b"DKIM-Signature")


@settings(max_examples=40, deadline=None)
@given(title=st.text(max_size=300), lead=st.text(max_size=300))
def test_any_title_and_lead_compose_into_a_parseable_message(title: str, lead: str) -> None:
    sent = announcement(stories=(story(title=title or "t", lead=lead),), dont_miss=())
    message = compose_newsletter(sent, READER, mail_settings(Path(".")), _THEME)
    reparsed = parse(message.as_bytes())
    assert reparsed["To"] == READER.address
    assert len(reparsed.get_all("To") or []) == 1
    assert "\n" not in str(reparsed["Subject"])


_THEME = Theme()
