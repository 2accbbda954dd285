"""The privacy rule: pages and stylesheets load nothing from another origin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tamizdat.errors import PrivacyError
from tamizdat.render import CSP, Renderer, check_page
from tamizdat.render.privacy import find_violations, is_external

HEAD = f'<meta http-equiv="Content-Security-Policy" content="{CSP}"><meta name="referrer" content="no-referrer">'


def page(body: str) -> bytes:
    return f"<!doctype html><html><head>{HEAD}</head><body>{body}</body></html>".encode()


@pytest.mark.parametrize(
    "snippet",
    [
        '<script src="https://cdn.example/a.js"></script>',
        '<link rel="stylesheet" href="//fonts.example/css">',
        '<link rel="icon" href="https://x.example/favicon.ico">',
        '<link rel="preconnect" href="https://x.example">',
        '<link rel="modulepreload" href="https://x.example/m.js">',
        '<link rel="manifest" href="https://x.example/m.json">',
        '<img src="http://x.example/p.png">',
        '<img src="a.png" srcset="a.png 1x, https://x.example/b.png 2x">',
        '<picture><source srcset="https://x.example/p.webp"><img src="p.jpg"></picture>',
        '<video src="https://x.example/v.mp4"></video>',
        '<video poster="https://x.example/p.jpg"></video>',
        '<audio src="https://x.example/a.mp3"></audio>',
        '<track src="https://x.example/t.vtt">',
        '<iframe src="https://x.example/"></iframe>',
        '<embed src="https://x.example/e.swf">',
        '<object data="https://x.example/o"></object>',
        '<meta http-equiv="refresh" content="0; url=https://x.example/">',
        '<svg><image href="https://x.example/i.png"/></svg>',
        '<a href="x.html" ping="https://tracker.example/">x</a>',
        '<img src="/\\x.example/p.png">',
        '<img src="data:image/svg+xml;base64,AAAA">',
    ],
)
def test_external_resources_are_refused(snippet: str) -> None:
    with pytest.raises(PrivacyError) as caught:
        check_page("en/index.html", page(snippet), "templates/list.html")
    assert caught.value.where == "templates/list.html"
    assert "en/index.html" in caught.value.message


@pytest.mark.parametrize(
    "snippet",
    [
        "<script>alert(1)</script>",
        "<style>p{color:red}</style>",
        '<p style="color:red">x</p>',
        '<button onclick="go()">x</button>',
    ],
)
def test_inline_script_and_style_are_refused(snippet: str) -> None:
    with pytest.raises(PrivacyError):
        check_page("en/index.html", page(snippet), "t")


def test_ordinary_links_and_relative_resources_pass() -> None:
    check_page(
        "en/x/index.html",
        page(
            '<a href="https://other.example/">out</a><img src="../media/a.jpg" '
            'srcset="../media/a-480.jpg 480w, ../media/a-960.jpg 960w">'
            '<link rel="alternate" href="https://shore.example/feed.xml">'
            '<link rel="canonical" href="https://shore.example/x/">'
            '<script src="../assets/search.js" defer></script>'
        ),
        "t",
    )


def test_page_without_csp_or_referrer_is_refused() -> None:
    bare = b"<!doctype html><html><head></head><body>x</body></html>"
    described = [v.describe() for v in find_violations("a.html", bare)]
    assert any("CSP" in d for d in described)
    assert any("referrer" in d for d in described)
    weak = page("").replace(b"default-src 'none'", b"default-src *")
    with pytest.raises(PrivacyError):
        check_page("a.html", weak, "t")


def test_css_urls_and_imports() -> None:
    with pytest.raises(PrivacyError):
        check_page("assets/style.css", b"body{background:url( 'https://x.example/b.png' )}", "t")
    with pytest.raises(PrivacyError):
        check_page("assets/style.css", b'@import "//fonts.example/f.css";', "t")
    check_page(
        "assets/style.css", b"/* url(https://x.example/) */ body{background:url(b.png)}", "t"
    )


def test_is_external() -> None:
    assert is_external("HTTPS://x")
    assert is_external(" //x")
    assert is_external("\t//x")
    assert is_external("javascript:alert(1)")
    assert is_external("blob:x")
    assert not is_external("../a.png")
    assert not is_external("a.png")
    assert not is_external("")


def override(tmp_path: Path, name: str, text: str, folder: str = "templates") -> Path:
    target = tmp_path / folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def test_overridden_template_with_external_script_fails_naming_the_file(
    kit: Any, tmp_path: Path
) -> None:
    default = Path(__file__).parents[3] / "src/tamizdat/themes/default/templates/article.html"
    text = default.read_text(encoding="utf-8").replace(
        "{% block scripts %}",
        '{% block scripts %}\n<script src="https://analytics.example/a.js"></script>',
    )
    template = override(tmp_path, "article.html", text)
    site = kit.make_site(kit.sample_articles())
    with pytest.raises(PrivacyError) as caught:
        Renderer(site, kit.make_settings(), kit.images, theme_dir=tmp_path)
    assert caught.value.where is not None
    assert caught.value.where.startswith(str(template))
    assert "https://analytics.example/a.js" in caught.value.message


def test_external_url_built_by_template_expression_fails_at_render(
    kit: Any, tmp_path: Path
) -> None:
    # The URL only exists after rendering, so the template scan cannot see it.
    template = override(
        tmp_path,
        "404.html",
        '{% extends "base.html" %}{% block main %}'
        '<img src="{{ "https:" }}//pixel.example/p.gif">{% endblock %}',
    )
    renderer = Renderer(
        kit.make_site(kit.sample_articles()), kit.make_settings(), kit.images, theme_dir=tmp_path
    )
    plan = next(p for p in renderer.plan() if p.output == "404.html")
    with pytest.raises(PrivacyError) as caught:
        renderer.render(plan)
    assert caught.value.where == str(template)
    assert "//pixel.example/p.gif" in caught.value.message


def test_overridden_stylesheet_with_external_font_fails_naming_the_file(
    kit: Any, tmp_path: Path
) -> None:
    css = override(
        tmp_path, "style.css", "@font-face{src:url(https://fonts.example/f.woff2)}", "static"
    )
    renderer = Renderer(
        kit.make_site(kit.sample_articles()), kit.make_settings(), kit.images, theme_dir=tmp_path
    )
    plan = next(p for p in renderer.plan() if p.output == "assets/style.css")
    with pytest.raises(PrivacyError) as caught:
        renderer.render(plan)
    assert caught.value.where == str(css)


def test_article_with_external_image_fails_naming_article_line(kit: Any) -> None:
    bad = kit.make_article(
        title="Embedded tracker", body="Text.\n\n![p](https://cdn.example/p.png)\n", body_line=9
    )
    site = kit.make_site([*kit.sample_articles(), bad])
    renderer = Renderer(site, kit.make_settings(), kit.images)
    plan = next(p for p in renderer.plan() if p.args == (bad.source,))
    with pytest.raises(PrivacyError) as caught:
        renderer.render(plan)
    assert caught.value.where == f"{bad.source}:11"
    assert "https://cdn.example/p.png" in caught.value.message


def test_every_rendered_page_carries_csp_and_no_referrer(rendered: dict[str, bytes]) -> None:
    pages = [o for o in rendered if o.endswith(".html")]
    assert len(pages) > 40
    for output in pages:
        text = rendered[output].decode()
        assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in text, output
        assert '<meta name="referrer" content="no-referrer">' in text, output
        assert find_violations(output, rendered[output]) == [], output
        assert "<script>" not in text, output
        assert "style=" not in text, output


def test_no_cookies_or_analytics(rendered: dict[str, bytes]) -> None:
    for output, data in rendered.items():
        lowered = data.lower()
        for marker in (b"document.cookie", b"set-cookie", b"analytics", b"googletag"):
            assert marker not in lowered, output
