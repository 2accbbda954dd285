"""Reads a message's text the way Telegram's HTML parse mode does, and refuses what it would.

Telegram accepts a small set of tags (b, i, u, s, a href, code, pre, …), balanced, with only
``&lt; &gt; &amp; &quot;`` and numeric character references. The announcer uses b, a and
code; anything else in the text means article data became markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

__all__ = ["TelegramText", "parse_telegram_html"]

_ALLOWED = {"b", "a", "code"}
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[A-Za-z0-9]+);?")
_NAMED = {"lt", "gt", "amp", "quot"}


@dataclass
class TelegramText:
    """The visible text, the bold runs and the link targets of one message."""

    text: str = ""
    bold: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out = TelegramText()
        self.stack: list[str] = []
        self.run: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED:
            raise AssertionError(f"tag <{tag}> is not one the announcer writes")
        if tag == "a":
            if [name for name, _ in attrs] != ["href"]:
                raise AssertionError(f"<a> with attributes {attrs}")
            href = attrs[0][1] or ""
            if not href.startswith("https://"):
                raise AssertionError(f"link to {href!r}")
            self.out.links.append(href)
        elif attrs:
            raise AssertionError(f"<{tag}> with attributes {attrs}")
        if tag == "b":
            self.run = []
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            raise AssertionError(f"unbalanced </{tag}> (open: {self.stack})")
        self.stack.pop()
        if tag == "b":
            self.out.bold.append("".join(self.run))

    def handle_data(self, data: str) -> None:
        self.out.text += data
        if "b" in self.stack:
            self.run.append(data)


def parse_telegram_html(text: str) -> TelegramText:
    """Parse ``text``; AssertionError on anything Telegram's HTML mode would not take as the
    announcer meant it (an unknown tag or entity, an unbalanced tag, a non-https link)."""
    for match in _ENTITY.finditer(text):
        name = match.group(1)
        if not name.startswith("#") and name not in _NAMED:
            raise AssertionError(f"entity &{name}; is not one Telegram knows")
        if not match.group(0).endswith(";"):
            raise AssertionError(f"unterminated entity {match.group(0)!r}")
    if re.search(r"&(?![#A-Za-z0-9]+;)", text):
        raise AssertionError("a bare '&' in the text")
    reader = _Reader()
    reader.feed(text)
    reader.close()
    if reader.stack:
        raise AssertionError(f"unclosed tags {reader.stack}")
    return reader.out
