"""Every navigation and resource form a browser honours is caught by the one privacy check.

Each row is a construct that makes a browser fetch from another origin, leave the site by
itself, or run script; the check must name it on a rendered page, in a template, and (for
the SVG rows) in an SVG file. The same rows with a relative URL must pass, so the table
cannot pass by refusing everything.
"""

from __future__ import annotations

import html

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tamizdat.render.privacy import CSP, find_external_resources, find_violations
from tamizdat.render.references import is_external, refresh_url

HEAD = (
    '<meta charset="utf-8">'
    f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    '<meta name="referrer" content="no-referrer">'
)


def page(body: str) -> bytes:
    return f"<!doctype html><html><head>{HEAD}</head><body>\n{body}\n</body></html>".encode()


# {u} is where the URL goes: external rows use EXTERNAL, clean rows a relative path.
FORMS = {
    "img src": '<img src="{u}" alt="">',
    "img srcset, second candidate": '<img src="a.png" srcset="a.png 1x, {u} 2x" alt="">',
    "img srcset, width descriptors": '<img srcset="a.png 480w,{u} 960w" alt="">',
    "source srcset": '<picture><source srcset="{u}"><img src="a.png" alt=""></picture>',
    "link imagesrcset": '<link rel="preload" as="image" href="a.png" imagesrcset="a.png 1x, {u} 2x">',
    "video src": '<video src="{u}"></video>',
    "video poster": '<video poster="{u}"></video>',
    "audio src": '<audio src="{u}"></audio>',
    "track src": '<video><track src="{u}"></video>',
    "object data": '<object data="{u}"></object>',
    "embed src": '<embed src="{u}">',
    "iframe src": '<iframe src="{u}"></iframe>',
    "form action": '<form action="{u}"><button>go</button></form>',
    "button formaction": '<form><button formaction="{u}">go</button></form>',
    "input formaction": '<form><input type="submit" formaction="{u}"></form>',
    "input type=image src": '<input type="image" src="{u}" alt="">',
    "body background": '<table background="{u}"><tr><td>x</td></tr></table>',
    "a ping": '<a href="a.html" ping="{u}">x</a>',
    "a ping, second URL": '<a href="a.html" ping="a.html {u}">x</a>',
    "area ping": '<map name="m"><area href="a.html" ping="{u}" alt="x"></map>',
    "html manifest": '<html manifest="{u}"></html>',
    "attributionsrc": '<img src="a.png" attributionsrc="{u}" alt="">',
    "base href": '<base href="{u}">',
    "link stylesheet": '<link rel="stylesheet" href="{u}">',
    "link alternate stylesheet": '<link rel="alternate stylesheet" href="{u}">',
    "link icon": '<link rel="icon" href="{u}">',
    "link preload": '<link rel="preload" as="script" href="{u}">',
    "link prefetch": '<link rel="prefetch" href="{u}">',
    "link dns-prefetch": '<link rel="dns-prefetch" href="{u}">',
    "link preconnect": '<link rel="preconnect" href="{u}">',
    "link modulepreload": '<link rel="modulepreload" href="{u}">',
    "link manifest": '<link rel="manifest" href="{u}">',
    "link next (Firefox prefetches it)": '<link rel="next" href="{u}">',
    "link rel in capitals": '<link rel="StyleSheet" href="{u}">',
    "meta refresh url=": '<meta http-equiv="refresh" content="0; url={u}">',
    "meta refresh without url=": '<meta http-equiv="refresh" content="0;{u}">',
    "meta refresh URL = 'quoted'": '<meta http-equiv="refresh" content="0; URL = \'{u}\'">',
    "meta refresh comma": '<meta http-equiv="refresh" content="5,{u}">',
    "meta refresh http-equiv=Refresh": '<meta http-equiv=Refresh content="0;URL={u}">',
    "meta refresh dotted time": '<meta http-equiv="refresh" content=".5 ; {u}">',
    "svg use href": '<svg><use href="{u}#i"></use></svg>',
    "svg use xlink:href": '<svg><use xlink:href="{u}#i"></use></svg>',
    "svg image": '<svg><image href="{u}"></image></svg>',
    "svg feImage": '<svg><filter id="f"><feImage href="{u}"></feImage></filter></svg>',
    "svg script href": '<svg><script href="{u}"></script></svg>',
    "svg fill url()": '<svg><rect fill="url({u}#g)"></rect></svg>',
    "iframe srcdoc": '<iframe srcdoc="<img src=&quot;{u}&quot;>"></iframe>',
    "param movie": '<object><param name="movie" value="{u}"></object>',
}
STYLE_FORMS = {
    "style url() unquoted": "<style>body{{background:url({u})}}</style>",
    "style url() quoted": "<style>body{{background:url('{u}')}}</style>",
    "style u\\rl(": "<style>body{{background:u\\rl({u})}}</style>",
    "style \\75 rl(": "<style>body{{background:\\75 rl({u})}}</style>",
    "style @import string": '<style>@import "{u}";</style>',
    "style @import url()": "<style>@import url({u});</style>",
    "style image-set()": "<style>p{{background:image-set('{u}' 1x)}}</style>",
    "style -webkit-image-set()": '<style>p{{background:-webkit-image-set("{u}" 2x)}}</style>',
    "svg style block": "<svg><style>rect{{fill:url({u}#g)}}</style></svg>",
    "style attribute": "<p style=\"background:url('{u}')\">x</p>",
}
EXTERNAL = "https://tracker.example/p"


def _external_cases() -> list[tuple[str, str]]:
    return [(name, form.format(u=EXTERNAL)) for name, form in {**FORMS, **STYLE_FORMS}.items()]


@pytest.mark.parametrize(("name", "snippet"), _external_cases(), ids=lambda v: str(v)[:40])
def test_every_form_is_caught_on_a_page_and_in_a_template(name: str, snippet: str) -> None:
    described = [v.describe() for v in find_violations("en/x/index.html", page(snippet))]
    assert any("tracker.example" in d for d in described), (name, described)
    found = find_external_resources(snippet)
    assert any("tracker.example" in v.url for v in found), (name, found)


@pytest.mark.parametrize(("name", "form"), FORMS.items(), ids=list(FORMS))
def test_the_same_forms_with_a_relative_url_pass(name: str, form: str) -> None:
    snippet = form.format(u="../media/a.png")
    allowed_on_pages = ("base href",)  # <base> is refused on pages whatever its URL
    violations = find_violations("en/x/index.html", page(snippet))
    if name not in allowed_on_pages:
        assert violations == [], (name, violations)
    assert find_external_resources(snippet) == []


SPELLINGS = [
    "HTTPS://tracker.example/p",
    "hTtPs://tracker.example/p",
    "//tracker.example/p",
    "\\\\tracker.example/p",
    "/\\tracker.example/p",
    "https:\\\\tracker.example/p",
    " \t\nhttps://tracker.example/p",
    "ht\ttps://tracker.example/p",
    "ht\ntps://tracker.example/p",
    "\x01https://tracker.example/p",
    "&#x68;ttps://tracker.example/p",
    "&#104;ttps://tracker.example/p",
    "https&colon;//tracker.example/p",
    "https:&sol;&sol;tracker.example/p",
    "&#47;&#47;tracker.example/p",
    "data:image/svg+xml,<svg/>",
    "javascript:alert(1)",
    "java&Tab;script:alert(1)",
]


@pytest.mark.parametrize("url", SPELLINGS)
def test_every_spelling_of_an_external_url_is_caught(url: str) -> None:
    for snippet in (f'<img src="{url}" alt="">', f'<meta http-equiv="refresh" content="0;{url}">'):
        assert find_violations("a.html", page(snippet)), (url, snippet)
        assert find_external_resources(snippet), (url, snippet)


@pytest.mark.parametrize(
    "snippet",
    [
        '<a href="java\tscript:alert(1)">x</a>',
        '<a href="JAVASCRIPT:alert(1)">x</a>',
        '<a href="&#106;avascript:alert(1)">x</a>',
        '<svg><a href="javascript:alert(1)"><text>x</text></a></svg>',
        '<svg><animate attributeName="href" values="javascript:alert(1)"></animate></svg>',
        '<svg><set attributeName="xlink:href" to="x.html"></set></svg>',
        '<img src="a.png" onerror="alert(1)" alt="">',
        "<script>alert(1)</script>",
        '<meta http-equiv="Content-Security-Policy" content="script-src *">',
        '<meta http-equiv="set-cookie" content="a=b">',
        '<meta http-equiv="x-dns-prefetch-control" content="on">',
        '<a href="https://other.example/" referrerpolicy="unsafe-url">x</a>',
        '<base href="../">',
    ],
)
def test_script_loosened_policies_and_leaks_are_refused_on_pages(snippet: str) -> None:
    assert find_violations("a.html", page(snippet)), snippet


@pytest.mark.parametrize(
    "document",
    [
        # Constructs html.parser reads differently from browsers, hiding the <img>.
        "<style>p{}</style x><img src=https://tracker.example/p></style>",
        "<!-- a --!><img src=https://tracker.example/p> -->",
        "<![CDATA[ x ><img src=https://tracker.example/p> ]]>",
        # Entities are decoded inside <svg><style> (foreign content), not in HTML <style>.
        "<svg><style>rect{fill:url(&#x68;ttps://tracker.example/p)}</style></svg>",
        # A browser keeps the first of two attributes.
        '<img src="https://tracker.example/p" src="a.png" alt="">',
    ],
)
def test_parser_differentials_do_not_hide_a_load(document: str) -> None:
    violations = find_violations("a.html", page(document))
    assert any("tracker.example" in v.url for v in violations), violations


def test_ordinary_links_stay_allowed() -> None:
    snippet = (
        '<a href="https://other.example/">out</a><link rel="canonical" href="https://s.example/">'
        '<link rel="alternate" type="application/atom+xml" href="https://s.example/a.xml">'
        '<meta http-equiv="refresh" content="30"><meta http-equiv="refresh" content="0;../x/">'
    )
    assert find_violations("a.html", page(snippet)) == []


def test_the_line_of_a_finding_is_its_line_in_the_page() -> None:
    body = '<p>one</p>\n<p>two</p>\n<meta http-equiv="refresh" content="0;https://x.example/">'
    (violation,) = find_violations("a.html", page(body))
    assert violation.line == 4
    assert violation.url == "https://x.example/"


# -- generated variants of the meta refresh -------------------------------------------------

_WS = st.text(alphabet=" \t\n\r\x0c", max_size=3)


@st.composite
def refresh_contents(draw: st.DrawFn) -> str:
    """``content`` values of a meta refresh that browsers follow to the external URL."""
    time = draw(st.sampled_from(["0", "5", "0.5", ".5", "10.", "3.14"]))
    separator = draw(st.sampled_from([";", ",", " ", "; ", " ;", " , "]))
    url_key = draw(st.sampled_from(["", "url=", "URL=", "Url =", "uRl= ", "url\t=\t"]))
    quote = draw(st.sampled_from(["", "'", '"']))
    scheme = draw(st.sampled_from(["https:", "HTTPS:", "http:", "", "ftp:", "https:\\\\"]))
    slashes = "" if scheme.endswith("\\\\") else "//"
    url = f"{scheme}{slashes}tracker.example/{draw(st.text('abc/?=&', max_size=8))}"
    return f"{draw(_WS)}{time}{separator}{draw(_WS)}{url_key}{quote}{url}{quote}"


@given(refresh_contents(), st.booleans(), st.sampled_from(["refresh", "Refresh", "REFRESH"]))
@settings(max_examples=300, deadline=None)
def test_every_generated_meta_refresh_is_caught(content: str, encode: bool, equiv: str) -> None:
    url = refresh_url(content)
    assert url is not None, content
    assert is_external(url), content
    attribute = "".join(f"&#{ord(c)};" for c in content) if encode else html.escape(content)
    snippet = f'<meta http-equiv="{equiv}" content="{attribute}">'
    assert find_violations("a.html", page(snippet)), snippet
    assert find_external_resources(snippet), snippet


@given(
    st.sampled_from(["https", "http", "javascript", "data", "ftp"]),
    st.lists(st.sampled_from(["\t", "\n", "\r"]), max_size=3),
    st.booleans(),
    st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_generated_url_obfuscations_are_caught(
    scheme: str, noise: list[str], upper: bool, entities: bool
) -> None:
    word = scheme.upper() if upper else scheme
    for char in noise:
        word = word[:1] + char + word[1:]
    url = f"{word}://tracker.example/p"
    attribute = "".join(f"&#x{ord(c):x};" for c in url) if entities else html.escape(url)
    assert find_violations("a.html", page(f'<img src="{attribute}" alt="">'))
