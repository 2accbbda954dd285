"""Markdown → sanitised HTML: GFM features, the allow-list, image rewriting, privacy."""

from __future__ import annotations

from typing import Any

import pytest

from tamizdat.errors import ContentError, PrivacyError
from tamizdat.render.markdown import render_body


def body(kit: Any, text: str, **fields: Any) -> str:
    return render_body(kit.make_article(body=text, **fields), kit.images, "../../")


def test_tables_footnotes_strikethrough_autolinks(kit: Any) -> None:
    html = body(kit, "a | b\n--|--\n1 | 2\n\nText[^n] ~~gone~~ www.example.org\n\n[^n]: Note.\n")
    assert "<table>" in html
    assert "<td>1</td>" in html
    assert '<a href="#fn-n" id="fnref-n"' in html
    assert '<li id="fn-n">' in html
    assert "<del>gone</del>" in html
    assert '<a href="http://www.example.org" rel="noopener noreferrer">' in html


@pytest.mark.parametrize(
    ("raw", "gone"),
    [
        ("<script>alert(1)</script>", "alert"),
        ("<style>p{}</style>", "p{}"),
        ('<p onclick="steal()">x</p>', "steal"),
        ('<p style="color:red">x</p>', "color"),
        ('<form action="/x"><input name="q"></form>', "<form"),
        ('<a href="javascript:alert(1)">x</a>', "javascript"),
        ('<div id="masthead">x</div>', "masthead"),
        ('<span class="evil">x</span>', "evil"),
    ],
)
def test_sanitiser_removes_dangerous_markup(kit: Any, raw: str, gone: str) -> None:
    assert gone not in body(kit, f"Before\n\n{raw}\n\nAfter\n")


def test_links_get_noopener_noreferrer(kit: Any) -> None:
    html = body(kit, '[x](https://other.example/) <a href="https://b.example/" rel="opener">y</a>')
    assert html.count('rel="noopener noreferrer"') == 2
    assert 'rel="opener"' not in html


@pytest.mark.parametrize(
    ("line", "url"),
    [
        ("![x](https://cdn.example/x.png)", "https://cdn.example/x.png"),
        ("<img src=//cdn.example/y.png>", "//cdn.example/y.png"),
        ('<iframe src="https://video.example/embed/1"></iframe>', "https://video.example/embed/1"),
        ('<script src="https://tracker.example/t.js"></script>', "https://tracker.example/t.js"),
        ('<video poster="http://cdn.example/p.jpg"></video>', "http://cdn.example/p.jpg"),
        ("![x](data:image/png;base64,AAAA)", "data:image/png;base64,AAAA"),
    ],
)
def test_external_resource_in_article_names_line_and_url(kit: Any, line: str, url: str) -> None:
    article = kit.make_article(body=f"First.\n\nSecond.\n\n{line}\n", body_line=7)
    with pytest.raises(PrivacyError) as caught:
        render_body(article, kit.images, "")
    assert caught.value.where == f"{article.source}:11"
    assert url in caught.value.message


def test_body_image_becomes_the_processed_variants(kit: Any) -> None:
    html = body(
        kit,
        '![Chart "one"](pics/chart.png)\n',
        body_images=(("pics/chart.png", "media/chart.png"),),
    )
    assert 'src="../../media/news/2024/05/chart-960.jpg"' in html
    assert "chart-480.jpg 480w, ../../media/news/2024/05/chart-960.jpg 960w" in html
    assert 'width="960" height="640"' in html
    assert 'loading="lazy"' in html
    assert 'alt="Chart &quot;one&quot;"' in html
    assert "pics/chart.png" not in html


def test_unknown_body_image_is_a_content_error(kit: Any) -> None:
    with pytest.raises(ContentError) as caught:
        body(kit, "Intro\n\n![x](missing.png)\n", body_line=3)
    assert caught.value.where is not None
    assert caught.value.where.endswith(":5")


@pytest.mark.parametrize(
    ("rule", "cell"),
    [
        (":--", '<td class="align-left">1</td>'),
        (":-:", '<td class="align-center">1</td>'),
        ("--:", '<td class="align-right">1</td>'),
        ("---", "<td>1</td>"),
    ],
)
def test_gfm_alignment_becomes_a_class_not_an_attribute(kit: Any, rule: str, cell: str) -> None:
    html = body(kit, f"| a |\n| {rule} |\n| 1 |\n")
    assert cell in html
    assert " align=" not in html


@pytest.mark.parametrize(
    "raw",
    [
        '<table><tr><td align="justify">1</td></tr></table>',
        '<table><tr><td align="left&quot; onclick=&quot;x">1</td></tr></table>',
        '<table><tr><th align="">1</th></tr></table>',
    ],
)
def test_hand_written_align_never_survives(kit: Any, raw: str) -> None:
    html = body(kit, raw)
    assert " align=" not in html
    assert "onclick" not in html.replace("&quot;", "")


@pytest.mark.parametrize(("lang", "label"), [("en", "Table"), ("ru", "Таблица"), ("de", "Table")])
def test_every_table_is_a_scroll_region_a_keyboard_reaches(kit: Any, lang: str, label: str) -> None:
    html = body(kit, "a | b\n--|--\n1 | 2\n\nx\n\n| c |\n|---|\n| 3 |\n", lang=lang)
    region = f'<div class="table-wrap" tabindex="0" role="region" aria-label="{label}"><table>'
    assert html.count(region) == 2
    assert html.count("</table></div>") == 2
