"""A fast tokenizer for plain, well-formed HTML — the privacy check's quick path.

Invariant kept: :func:`feed_strict` either returns ``False`` having *decided nothing*, or
returns ``True`` after calling the handler with exactly the start tags (lower-cased names,
unescaped attribute values), end tags and raw-text data that :class:`html.parser.HTMLParser`
would report for the same document. It accepts only a strict subset of HTML in which that
equivalence is plain to see:

- text never holds ``<``; a ``<`` always starts a tag, an end tag, the doctype or a comment;
- tag names are ``[a-zA-Z][a-zA-Z0-9-]*``; attribute names ``[a-zA-Z_:][-a-zA-Z0-9_:.]*``,
  each after ASCII whitespace; values double-quoted, single-quoted or a plain unquoted word;
- a comment holds neither ``<`` nor ``>`` (so no parser can end it elsewhere or hide a tag in
  it), and processing instructions, CDATA sections and other ``<!`` forms are refused;
- no ``svg`` or ``math`` element: inside them (foreign content) ``<style>`` and ``<script>``
  decode entities, ``<![CDATA[`` is real CDATA and some HTML tags break out, so a WHATWG
  parser is needed;
- the raw-text and escapable-raw-text elements (``script``, ``style``, ``title``,
  ``textarea`` and the legacy ones) hold no ``<`` before their end tag, so whichever way a
  parser version treats their content, it sees the same tags.

Anything else — and real pages rarely have anything else, since Jinja2 and nh3 escape
``<`` in text — returns ``False`` and the caller falls back to a WHATWG parser (html5lib,
whose reading of this subset is the same: tests check both agreements). A regex over
the whole page and one per tag replace ``HTMLParser``'s Python loop, which cost ~3 ms per page.
"""

from __future__ import annotations

import re
from html import unescape
from typing import Protocol

__all__ = ["TagHandler", "TagMemo", "feed_strict"]

_WS = "[ \\t\\n\\r\\f]"
_NAME = "[a-zA-Z_:][-a-zA-Z0-9_:.]*"
# A bare value ends at any whitespace as ``\s`` knows it (Unicode), as in HTMLParser.
_VALUE = "\"[^\"]*\"|'[^']*'|[^\\s\"'=<>`]+"
# Every character of a document belongs to exactly one token; ``other`` (a '<' that
# starts none of the accepted forms) means the document is outside the subset.
_TOKEN = re.compile(
    "(?P<text>[^<]+)"
    f"|(?P<tag><(?P<start>[a-zA-Z][a-zA-Z0-9-]*)"
    f"(?P<attrs>(?:{_WS}+{_NAME}(?:{_WS}*={_WS}*(?:{_VALUE}))?)*){_WS}*(?P<close>/?)>)"
    f"|(?P<endtag></(?P<end>[a-zA-Z][a-zA-Z0-9-]*){_WS}*>)"
    "|(?P<comment><!--[^<>]*?-->)"
    f"|(?P<doctype><![dD][oO][cC][tT][yY][pP][eE]{_WS}[^<>]*>)"
    "|(?P<other><)"
)
# One attribute of a start tag the token regex accepted: name, then the value if any.
_ATTRIBUTE = re.compile(f"{_WS}+({_NAME})(?:{_WS}*={_WS}*({_VALUE}))?")
# Elements whose content a parser does not (or, depending on its version, may not) read
# as markup: their content must be free of '<' up to the matching end tag.
_RAW_TEXT = frozenset(
    {"script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes"}
    | {"noscript", "plaintext"}
)

# Elements that switch a browser's tokenizer to foreign content (HTML §13.2.6.5).
_FOREIGN = frozenset({"svg", "math"})


class TagHandler(Protocol):
    """The three ``HTMLParser`` callbacks the privacy scanner implements."""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None: ...

    def handle_endtag(self, tag: str) -> None: ...

    def handle_data(self, data: str) -> None: ...


class TagMemo:
    """Start tags, by exact source text, that a handler already found harmless.

    Pages repeat most of their tags (navigation, header, footer), and a start tag's
    meaning depends on its text alone; a tag the handler found harmless in a clean page
    need not be reported again. Tags named in ``always_report`` (those that change the
    handler's state) are never remembered. Entries seen in a page become known only on
    :meth:`commit` (the page was clean); the memo forgets everything past ``limit``.
    """

    def __init__(self, always_report: frozenset[str], limit: int = 50_000) -> None:
        self.always_report = always_report | _RAW_TEXT
        self.limit = limit
        self.known: set[str] = set()
        self.pending: list[str] = []

    def commit(self) -> None:
        if len(self.known) + len(self.pending) > self.limit:
            self.known.clear()
        self.known.update(self.pending)
        self.pending.clear()

    def discard(self) -> None:
        self.pending.clear()


def _attributes(raw: str) -> list[tuple[str, str | None]]:
    """Name and unescaped value of each attribute, as ``HTMLParser.parse_starttag`` gives."""
    found: list[tuple[str, str | None]] = []
    for name, value in _ATTRIBUTE.findall(raw):
        if value[:1] in ("'", '"'):
            value = value[1:-1]
        elif not value:  # no value at all (an empty one is quoted: '""')
            found.append((name.lower(), None))
            continue
        found.append((name.lower(), unescape(value) if "&" in value else value))
    return found


def feed_strict(text: str, handler: TagHandler, memo: TagMemo | None = None) -> bool:
    """Report the tags of ``text`` to ``handler`` if it lies in the strict subset.

    Returns ``False`` (possibly after some callbacks: discard the handler) as soon as the
    document leaves the subset described in the module docstring. With ``memo``, start
    tags it knows are not reported, and the others are noted in ``memo.pending``.
    """
    known = memo.known if memo is not None else set()
    raw_text = ""  # the raw-text element whose end tag must come next ('' when none)
    for token in _TOKEN.finditer(text):
        kind = token.lastgroup
        if kind == "text":
            if raw_text:
                handler.handle_data(token.group())
            continue
        if kind == "endtag":
            tag = token.group("end").lower()
            if raw_text and tag != raw_text:
                return False
            raw_text = ""
            handler.handle_endtag(tag)
            continue
        if raw_text or kind == "other":
            return False  # markup inside a raw-text element, or a stray '<'
        if kind != "tag":
            continue  # the doctype or a comment: nothing to report
        tag = token.group("start").lower()
        if tag in _FOREIGN:
            return False
        source = token.group()
        if source not in known:
            handler.handle_starttag(tag, _attributes(token.group("attrs")))
            if memo is not None and tag not in memo.always_report:
                memo.pending.append(source)
        if tag in _RAW_TEXT:
            if token.group("close"):
                return False  # parsers disagree on "<script/>": leave it to HTMLParser
            raw_text = tag
        elif token.group("close"):
            handler.handle_endtag(tag)
    return not raw_text
