"""The sitemap's quick privacy check accepts only what tamizdat writes, and never hides a finding.

The quick path (one match of the exact shape) replaces the XML scan of a sitemap that is
re-rendered on every rebuild; every other form must get the full scan, so for any sitemap
the answer is the full scan's answer.
"""

from __future__ import annotations

from typing import Any

import pytest

from tamizdat.render.feeds import sitemap_xml
from tamizdat.render.privacy import _SITEMAP, find_violations, sitemap_violations

OURS = "sitemap.xml"


def _entry(loc: str, links: str = "") -> str:
    return f"<url>\n<loc>{loc}</loc>\n<lastmod>2024-01-02T03:04:05+00:00</lastmod>\n{links}</url>\n"


def _document(body: str, head: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        + head
        + '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:xhtml="http://www.w3.org/1999/xhtml">\n' + body + "</urlset>\n"
    ).encode()


ALTERNATE = '<xhtml:link rel="alternate" hreflang="ru" href="https://shore.example/ru/a/"/>\n'
# Forms a hostile theme, template or future change could produce: each must be scanned fully.
HOSTILE = {
    "xslt-stylesheet": _document(
        _entry("https://shore.example/a/"),
        '<?xml-stylesheet type="text/xsl" href="https://tracker.example/s.xsl"?>\n',
    ),
    "stylesheet-link": _document(
        _entry(
            "https://shore.example/a/",
            '<xhtml:link rel="stylesheet" hreflang="en" href="https://tracker.example/s.css"/>\n',
        )
    ),
    "xhtml-image": _document(
        _entry("https://shore.example/a/")
        + '<xhtml:img src="https://tracker.example/pixel.gif"/>\n'
    ),
    "xhtml-script": _document(
        _entry("https://shore.example/a/") + "<xhtml:script>fetch('/x')</xhtml:script>\n"
    ),
    "doctype-entities": _document(
        _entry("https://shore.example/a/"), '<!DOCTYPE urlset [<!ENTITY x "y">]>\n'
    ),
    "markup-in-loc": _document(
        _entry('https://shore.example/a/<xhtml:img src="https://tracker.example/p.gif"/>')
    ),
    "utf16-bom": b"\xff\xfe" + _document(_entry("https://shore.example/a/")),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_every_other_form_gets_the_full_scan(case: str) -> None:
    data = HOSTILE[case]
    assert not _SITEMAP.fullmatch(data.decode("utf-8", "replace")), case
    assert sitemap_violations(data) == find_violations(OURS, data)


@pytest.mark.parametrize(
    "case", ["stylesheet-link", "xhtml-image", "xhtml-script", "xslt-stylesheet"]
)
def test_hostile_sitemaps_are_still_refused(case: str) -> None:
    assert sitemap_violations(HOSTILE[case])


def test_what_tamizdat_writes_takes_the_quick_path(rendered: dict[str, bytes]) -> None:
    data = rendered["sitemap.xml"]
    assert _SITEMAP.fullmatch(data.decode())
    assert sitemap_violations(data) == find_violations(OURS, data) == []


@pytest.mark.parametrize(
    "base_url", ["https://shore.example/", "http://127.0.0.1:8000/a&b/", "https://x.example/'q'/"]
)
def test_escaped_urls_keep_the_shape(base_url: str, kit: Any) -> None:
    data = sitemap_xml(kit.make_settings(base_url=base_url), ["en", "ru"], [], {})
    assert _SITEMAP.fullmatch(data.decode()), data
    assert find_violations(OURS, data) == []


def test_alternates_with_the_quick_path() -> None:
    data = _document(_entry("https://shore.example/a/", ALTERNATE))
    assert _SITEMAP.fullmatch(data.decode())
    assert find_violations(OURS, data) == []
