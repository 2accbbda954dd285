"""The privacy check's quick tokenizer agrees with HTMLParser and html5lib wherever it answers."""

from __future__ import annotations

import random
from html.parser import HTMLParser

import pytest

from tamizdat.render.privacy import CSP, _full_scan, find_external_resources, find_violations
from tamizdat.render.strict_html import TagMemo, feed_strict

Event = tuple[str, str, tuple[tuple[str, str | None], ...]]

BASE = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
    f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    '<meta name="referrer" content="no-referrer"><title>A &amp; B</title>'
    '<link rel="stylesheet" href="../assets/site.css"><script src="../assets/t.js" defer>'
    '</script></head>\n<body class="article"><!-- layout -->\n<main id=main>'
    "<h1 data-x='1'>Head&nbsp;line</h1><p>Text with <a href=\"https://example.org/?a=1&amp;b=2\" "
    'rel="noopener noreferrer">a link</a> and <img src="../media/a-640.jpg" alt="" '
    'srcset="../media/a-320.jpg 320w, ../media/a-640.jpg 640w"/><br/></p>'
    '<time datetime="2024-01-02T03:04:05+00:00">2 Jan</time><input disabled>'
    '<script type="application/json">{"a": 1}</script></main></body></html>\n'
)


class Recorder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[Event] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.events.append(("start", tag, tuple(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.events.append(("end", tag, ()))


def reference(text: str) -> list[Event]:
    recorder = Recorder()
    recorder.feed(text)
    recorder.close()
    return recorder.events


def quick(text: str) -> list[Event] | None:
    recorder = Recorder()  # only its callbacks are used, never its feed()
    return recorder.events if feed_strict(text, recorder) else None


def test_accepts_an_ordinary_page_and_reports_what_htmlparser_reports() -> None:
    events = quick(BASE)
    assert events is not None
    assert events == reference(BASE)


@pytest.mark.parametrize(
    "document",
    [
        "<p>1 < 2</p>",  # a bare '<' in text
        "<!-- a <img src=https://x.example/p.png> -->",  # a tag-like thing in a comment
        "<!-- a --!> <img src=https://x.example/p.png> -->",
        "<!--><img src=https://x.example/p.png>-->",
        "<title><img src=https://x.example/p.png></title>",  # RCDATA in newer parsers
        "<textarea><img src=https://x.example/p.png></textarea>",
        "<script>document.write('<img src=x>')</script>",
        "<script/>",
        "<?php echo 1 ?>",
        "<![CDATA[ <img src=https://x.example/p.png> ]]>",
        '<img src="a.png"alt="x">',  # attributes not separated by whitespace
        "<img src=a\u00a0onerror=alert(1)>",  # non-ASCII whitespace inside a tag
        "<img src=`https://x.example/p.png`>",
        "<a href=x=y>",
        "</ p>",
        "<p\x00>",
    ],
)
def test_refuses_what_it_cannot_read_like_htmlparser(document: str) -> None:
    assert quick(document) is None


def test_random_mutations_never_disagree_with_htmlparser() -> None:
    rnd = random.Random(5)
    alphabet = [*"<>\"'=/!-& \t\n?abcsx", "\u00a0", "\x00", "<!--", "-->", "</", "&amp;"]
    accepted = 0
    for _ in range(3000):
        chars = list(BASE)
        for _ in range(rnd.randint(1, 3)):
            position = rnd.randrange(len(chars))
            if rnd.random() < 0.5:
                chars.insert(position, rnd.choice(alphabet))
            else:
                del chars[position]
        document = "".join(chars)
        events = quick(document)
        if events is not None:
            accepted += 1
            assert events == reference(document), document
    assert accepted > 300  # the quick path is exercised, not just refused


def test_a_violation_is_still_reported_with_its_line() -> None:
    document = BASE.replace("<main id=main>", '<main id=main>\n<img src="https://x.example/p">')
    violations = find_violations("a/index.html", document.encode())
    assert [(v.url, v.line) for v in violations] == [("https://x.example/p", 5)]


def test_the_memo_skips_known_harmless_tags_but_never_the_state_setting_ones() -> None:
    memo = TagMemo(frozenset({"meta"}))
    first = Recorder()
    assert feed_strict(BASE, first, memo)
    memo.commit()
    assert "<h1 data-x='1'>" in memo.known
    assert not any(source.startswith(("<meta", "<script", "<title")) for source in memo.known)
    second = Recorder()
    assert feed_strict(BASE, second, memo)
    reported = {tag for kind, tag, _ in second.events if kind == "start"}
    assert reported == {"meta", "script", "title"}  # all else was known
    # What a page with a finding noted is dropped, not learnt.
    third = Recorder()
    assert feed_strict('<p class="new">', third, memo)
    memo.discard()
    assert '<p class="new">' not in memo.known


def test_a_known_tag_does_not_hide_a_new_external_resource() -> None:
    page = BASE.encode()
    assert find_violations("a/index.html", page) == []
    bad = BASE.replace('alt=""', 'alt="" data-y="1"').replace(
        "../media/a-640.jpg 640w", "https://x.example/a.jpg 640w"
    )
    assert [v.url for v in find_violations("a/index.html", bad.encode())] == [
        "https://x.example/a.jpg"
    ]
    # And the clean page passes again afterwards (nothing bad was learnt).
    assert find_violations("a/index.html", page) == []


def test_random_mutations_agree_with_a_whatwg_parser_on_what_loads() -> None:
    """Wherever the quick path answers, the WHATWG parser (html5lib) finds the same URLs."""
    rnd = random.Random(11)
    base = BASE.replace('src="../media/a-640.jpg"', 'src="https://x.example/a.jpg"')
    accepted = 0
    for _ in range(600):
        chars = list(base)
        for _ in range(rnd.randint(1, 3)):
            position = rnd.randrange(len(chars))
            chars.insert(position, rnd.choice([*"<>\"'=/!-& ", "</", "<!--", "-->", "&#x68;"]))
        document = "".join(chars)
        if quick(document) is None:
            continue
        accepted += 1
        urls = {v.url for v in find_external_resources(document)}
        assert urls == {v.url for v in _full_scan(document, "template", 0).violations}, document
    assert accepted > 50
