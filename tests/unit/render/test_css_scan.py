"""The CSS reference scanner finds every URL a browser's CSS tokenizer would fetch."""

from __future__ import annotations

import pytest

from tamizdat.render.css_scan import css_references


@pytest.mark.parametrize(
    ("css", "url"),
    [
        ("a{b:url(x.png)}", "x.png"),
        ("a{b:url( 'x.png' )}", "x.png"),
        ('a{b:URL("x.png")}', "x.png"),
        ("a{b:u\\rl(x.png)}", "x.png"),
        ("a{b:\\75 rl(x.png)}", "x.png"),
        ("a{b:\\000075rl(x.png)}", "x.png"),
        ("a{b:\\55\\52\\4c(x.png)}", "x.png"),
        ("a{b:url(\\68ttps://t.example/p)}", "https://t.example/p"),
        ("a{b:url('\\68 ttps://t.example/p')}", "https://t.example/p"),
        ("a{b:url('ht\\\ntps://t.example/p')}", "https://t.example/p"),
        ('@import "x.css";', "x.css"),
        ("@import/**/'x.css';", "x.css"),
        ("@IMPORT url(x.css);", "x.css"),
        ("@\\69mport 'x.css';", "x.css"),
        ("a{b:image-set('x.png' 1x, \"y.png\" 2x)}", "y.png"),
        ("a{b:-webkit-image-set(url(x.png) 1x)}", "x.png"),
        ("a{b:cross-fade('x.png', 'y.png')}", "y.png"),
        ('a{b:src("x.png")}', "x.png"),
        ("@font-face{src:url(f.woff2) format('woff2')}", "f.woff2"),
    ],
)
def test_finds_the_url(css: str, url: str) -> None:
    assert url in [ref.url for ref in css_references(css)]


@pytest.mark.parametrize(
    "css",
    [
        "/* url(https://t.example/) */ a{}",
        'a[href^="https://"]::after{content:"https://t.example"}',
        "a{font-family:'url(https://t.example)'}",
    ],
)
def test_comments_selectors_and_plain_strings_are_not_loads(css: str) -> None:
    assert css_references(css) == []


def test_lines_count_every_kind_of_line_break() -> None:
    refs = css_references("a{}\r\nb{}\rc{}\nd{b:url(x.png)}")
    assert [(r.url, r.line) for r in refs] == [("x.png", 4)]
