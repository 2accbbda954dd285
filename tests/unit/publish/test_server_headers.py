"""``tamizdat mirrors headers``: the web server configuration says what the S3 store sends.

Each server's path rules are read back out of the generated text and matched (Python's
``re`` reads these simple patterns as PCRE and RE2 do) against one path of every class, so
a pattern that shadows another or misses a class fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tamizdat.cli import main
from tamizdat.errors import UserError
from tamizdat.publish.headers import NATURAL_CACHE, cache_control, served_types
from tamizdat.publish.server_headers import SERVERS, Server, render_server_headers

PATHS = [
    "index.html",
    "articles/2026/12/a/index.html",
    ".well-known/tamizdat/targets/articles/ab12.index.html",
    ".well-known/tamizdat/metadata/7.root.json",
    ".well-known/tamizdat/metadata/12.articles-2026-12.json",
    ".well-known/tamizdat/metadata/timestamp.json",
    ".well-known/tamizdat/metadata/root.json",
    ".well-known/tamizdat/publish-state.json",
    ".well-known/tamizdat/mirrors.json",
]

_RULE = {
    "nginx": re.compile(
        r'location ~ "([^"]+)" \{\n(?:\s*add_header (?!Cache-Control).*\n)*'
        r'\s*add_header Cache-Control "([^"]+)"'
    ),
    "apache": re.compile(
        r'<LocationMatch "([^"]+)">\n\s*Header always set Cache-Control "([^"]+)"'
    ),
    "caddy": re.compile(
        r'(@tamizdat_class\d+) path_regexp "([^"]+)"\nheader \1 Cache-Control "([^"]+)"'
    ),
}


def rules(server: Server, text: str) -> list[tuple[str, str]]:
    found = _RULE[server].findall(text)
    if server == "caddy":
        return [(pattern, cache) for _, pattern, cache in found]
    return [(p, c) for p, c in found if not p.startswith("^/news/(.*/)?") and p != "^/news/"]


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize("path", PATHS)
def test_each_path_gets_the_cache_control_the_store_sends(server: Server, path: str) -> None:
    text = render_server_headers(server, "/news/", "vps")
    matching = [
        cache for pattern, cache in rules(server, text) if re.search(pattern, f"/news/{path}")
    ]
    assert len(rules(server, text)) == 3
    expected = cache_control(path)
    if expected == NATURAL_CACHE:
        assert matching == []  # the location's default applies
        assert f'Cache-Control "{NATURAL_CACHE}"' in text
    else:
        assert matching == [expected]


@pytest.mark.parametrize("server", SERVERS)
def test_every_answer_allows_cross_origin_reads_and_forbids_sniffing(server: Server) -> None:
    text = render_server_headers(server)
    for header in ("Access-Control-Allow-Origin", "X-Content-Type-Options"):
        assert re.search(rf'{header}"? "(\*|nosniff)"', text), header
    for ext, ctype in served_types().items():
        assert ext[1:] in text, ext
        assert ctype.split(";")[0] in text, ext
    assert r"\.tamizdat-tmp-" in text  # half-written uploads are never served


@pytest.mark.parametrize("server", SERVERS)
@pytest.mark.parametrize(
    "prefix",
    ['/a"b/', "/a}b/", "/a;b/", "/a b/", "/a\nb/", "/$host/", "/a#b/", "/*/", "/%2e/", "/../",
     "/.hidden/", "//", "relative/", "/ü/"],
)  # fmt: skip
def test_a_prefix_that_could_change_the_configuration_is_refused(
    server: Server, prefix: str
) -> None:
    with pytest.raises(UserError) as caught:
        render_server_headers(server, prefix, "vps")
    assert caught.value.where == "mirror vps: public_url"


def write_site(site: Path) -> Path:
    site.mkdir()
    (site / "tamizdat.toml").write_text(
        '[site]\ntitle = "T"\nbase_url = "https://t.example/"\n\n'
        '[[mirrors]]\nname = "vps2"\nurl = "file:///srv/www"\n'
        'public_url = "https://vps2.example/news/"\n'
    )
    return site


def test_cli_takes_the_prefix_from_the_mirror(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = write_site(tmp_path / "site")
    assert main(["-C", str(site), "mirrors", "headers", "--server", "nginx", "vps2"]) == 0
    out = capsys.readouterr().out
    assert "location ^~ /news/ {" in out
    assert "mirror 'vps2'" in out
    assert main(["-C", str(site), "mirrors", "headers", "--server", "caddy", "vsp2"]) == 2
    err = capsys.readouterr().err
    assert "no mirror named 'vsp2'" in err
    assert "did you mean 'vps2'" in err


def test_cli_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["mirrors", "headers", "--help"])
    out = capsys.readouterr().out
    assert "tamizdat mirrors headers --server nginx vps2" in out
    assert "Access-Control-Allow-Origin" in out


@pytest.mark.parametrize("server", SERVERS)
def test_any_prefix_is_refused_or_harmless(server: Server) -> None:
    """Whatever a mirror's URL path holds, the configuration gets it only as plain text
    that no server reads as syntax: refused, or letters, digits and . _ ~ - between slashes."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=40).map(lambda t: "/" + t))
    def check(prefix: str) -> None:
        try:
            text = render_server_headers(server, prefix, "m")
        except UserError:
            return
        shown = prefix if prefix.endswith("/") else prefix + "/"
        assert re.fullmatch(r"/([A-Za-z0-9_~-][A-Za-z0-9._~-]*/)*", shown)
        assert text.count("\n") == render_server_headers(server, "/", "m").count("\n")

    check()
