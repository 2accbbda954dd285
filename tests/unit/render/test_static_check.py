"""Static files obey the privacy rule: SVG without script, HTML like pages, scripts by digest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tamizdat.errors import PrivacyError
from tamizdat.render.privacy import CSP, find_violations
from tamizdat.render.static_check import StaticFile, check_static_files, published_file_violations

SVG_NS = 'xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'


def svg(inner: str) -> bytes:
    return f'<?xml version="1.0"?>\n<svg {SVG_NS}>\n{inner}\n</svg>\n'.encode()


@pytest.mark.parametrize(
    "inner",
    [
        "<script>alert(1)</script>",
        '<script href="a.js"/>',
        "<script><![CDATA[alert(1)]]></script>",
        '<rect onload="alert(1)"/>',
        '<rect ONCLICK="alert(1)"/>',
        '<a href="javascript:alert(1)"><text>x</text></a>',
        '<a xlink:href="jav&#x09;ascript:alert(1)"><text>x</text></a>',
        '<animate attributeName="href" values="javascript:alert(1)"/>',
        '<set attributeName="onclick" to="alert(1)"/>',
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml">x</div></foreignObject>',
        '<h:script xmlns:h="http://www.w3.org/1999/xhtml">alert(1)</h:script>',
        '<s:script xmlns:s="http://www.w3.org/2000/svg">alert(1)</s:script>',
        '<iframe xmlns="http://www.w3.org/1999/xhtml" src="a.html"/>',
        '<use href="https://tracker.example/s.svg#i"/>',
        '<use xlink:href="//tracker.example/s.svg#i"/>',
        '<use q:href="https://tracker.example/s.svg#i" xmlns:q="http://www.w3.org/1999/xlink"/>',
        '<image href="https://tracker.example/p.png"/>',
        '<image href="data:image/jpeg;base64,AAAA"/>',
        '<filter id="f"><feImage xlink:href="https://tracker.example/p.png"/></filter>',
        '<rect fill="url(https://tracker.example/p.svg#g)"/>',
        '<rect style="fill:url(https://tracker.example/p.svg#g)"/>',
        "<style>@import 'https://tracker.example/a.css';</style>",
        "<style><![CDATA[ rect{fill:url(https://tracker.example/g.svg#g)} ]]></style>",
        "<style>rect{fill:url(&#x68;ttps://tracker.example/g.svg#g)}</style>",
        '<g xml:base="https://tracker.example/"><image href="a.png"/></g>',
    ],
)
def test_svg_with_script_or_external_references_is_refused(inner: str) -> None:
    assert find_violations("media/logo.svg", svg(inner)), inner


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><?xml-stylesheet href="https://x.example/a.xsl"?><svg/>',
        b'<?xml version="1.0"?><?xml-stylesheet href="local.css"?><svg/>',
        b'<!DOCTYPE svg [<!ENTITY x "javascript:alert(1)">]><svg><a href="&x;"/></svg>',
        b"<svg><rect></svg>",  # not well-formed: what a browser does with it is unknowable
        b'<?xml version="1.0" encoding="UTF-16"?><svg/>',
    ],
)
def test_svg_constructs_the_check_cannot_follow_are_refused(document: bytes) -> None:
    assert find_violations("media/a.svg", document), document


def test_ordinary_svg_passes() -> None:
    inkscape = svg(
        '<defs><linearGradient id="g"><stop offset="0"/></linearGradient></defs>'
        '<rect fill="url(#g)" style="stroke:#000;fill-opacity:0.5" width="10" height="10"/>'
        '<use href="#g"/><image href="photo.png"/><a href="https://other.example/"><text>x'
        "</text></a><style>rect{fill:url(#g)}</style>"
    )
    doctype = (
        b'<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">'
    )
    assert find_violations("media/a.svg", inkscape) == []
    assert find_violations("media/b.svg", doctype + svg("<rect/>")[21:]) == []


def _html(body: str, head: str = "") -> bytes:
    metas = (
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
    )
    return f"<!doctype html><html><head>{metas}{head}</head><body>{body}</body></html>".encode()


@pytest.mark.parametrize(
    ("output", "data", "allowed"),
    [
        ("media/a.html", _html('<img src="https://t.example/p">'), False),
        (
            "media/a.HTM",
            _html("", '<meta http-equiv="refresh" content="0;https://t.example">'),
            False,
        ),
        ("media/bare.html", b"<!doctype html><p>no CSP</p>", False),
        ("static/a.css", b"p{background:\\75 rl(https://t.example/p)}", False),
        ("static/a.SVG", svg("<script>1</script>"), False),
        ("static/feed.xml", b'<?xml version="1.0"?><?xml-stylesheet href="a.xsl"?><r/>', False),
        ("static/page", b"  <!DOCTYPE html><img src=https://t.example/p>", False),
        ("static/page.unknown", b"<html><body>", False),
        (
            "static/data.gpx",
            b'<gpx><h:script xmlns:h="http://www.w3.org/1999/xhtml"/></gpx>',
            False,
        ),
        ("static/a.xhtml", b"<html/>", False),
        ("static/a.svgz", b"\x1f\x8b", False),
        ("static/app.js", b"alert(1)", False),
        ("static/app.mjs", b"export {}", False),
        ("static/a.wasm", b"\0asm", False),
        ("static/utf16.html", b"\xff\xfe<\x00h\x00", False),
        ("static/esc.html", _html('<img src="https:\x1b(B//t.example/p">'), False),
        ("static/app.js", b"alert(1)", True),
        ("static/ok.html", _html('<img src="../media/a.png" alt="">'), False),
        ("static/ok.css", b"p{background:url(a.png)}", False),
        ("static/notes.txt", b"<html><script>1</script>", False),
        ("static/data.json", b'{"a": "<script>"}', False),
        ("static/photo.jpg", b"<html><script>1</script>", False),
    ],
)
def test_static_file_types(output: str, data: bytes, allowed: bool) -> None:
    expected_clean = allowed or output.rsplit("/", 1)[1].startswith(("ok.", "notes", "data.j"))
    expected_clean = expected_clean or output.endswith(".jpg")
    violations = published_file_violations(output, lambda: data, script_allowed=allowed)
    assert (violations == []) == expected_clean, (output, violations)


def _static(tmp_path: Path, relative: str, data: bytes) -> StaticFile:
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    return StaticFile(relative.split("/", 1)[1], path, digest, relative)


def test_error_names_file_line_and_url(tmp_path: Path) -> None:
    body = '<p>x</p>\n<p>y</p>\n<img src="https://tracker.example/p.gif" alt="">'
    bad = _static(tmp_path, "static/about.html", _html(body))
    with pytest.raises(PrivacyError) as caught:
        check_static_files([bad], {})
    assert caught.value.where == "static/about.html:3"
    assert "about.html" in caught.value.message
    assert "https://tracker.example/p.gif" in caught.value.message


def test_a_script_passes_only_with_its_exact_digest(tmp_path: Path) -> None:
    script = _static(tmp_path, "static/js/map.js", b"console.log(1)")
    with pytest.raises(PrivacyError) as caught:
        check_static_files([script], {})
    assert caught.value.where == "static/js/map.js:1"
    assert caught.value.hint is not None
    assert f'"static/js/map.js" = "sha256:{script.sha256}"' in caught.value.hint
    check_static_files([script], {"static/js/map.js": f"sha256:{script.sha256}"})
    edited = _static(tmp_path, "static/js/map.js", b"fetch('https://t.example')")
    with pytest.raises(PrivacyError):
        check_static_files([edited], {"static/js/map.js": f"sha256:{script.sha256}"})
    with pytest.raises(PrivacyError):  # the digest allows that path only
        check_static_files(
            [_static(tmp_path, "media/map.js", b"console.log(1)")],
            {"static/js/map.js": f"sha256:{script.sha256}"},
        )
