"""``tamizdat.local_http``: which paths are clean, which Host names a server answers."""

from __future__ import annotations

import posixpath
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tamizdat.local_http as local_http
from tamizdat.errors import UserError
from tamizdat.local_http import clean_path, reachable_names


@pytest.mark.parametrize(
    ("target", "path"),
    [
        ("/", ""),
        ("/?q=1", ""),
        ("/index.html", "index.html"),
        ("/articles/a0/", "articles/a0/"),
        ("/articles/a0/?utm=x#", "articles/a0/"),  # the query is not looked at
        ("/%D8%AE%D8%A8%D8%B1/", "خبر/"),
        ("/a%20b.html", "a b.html"),
        ("/.well-known/tamizdat/metadata/1.root.json", ".well-known/tamizdat/metadata/1.root.json"),
        ("/a..b/c.d", "a..b/c.d"),
        ("/%252e%252e/x", "%2e%2e/x"),  # decoded once: a literal name, not a parent
    ],
)
def test_clean_paths(target: str, path: str | None) -> None:
    assert clean_path(target) == path


@pytest.mark.parametrize(
    "target",
    [
        "", "*", "index.html", "http://h/x", "//h/x", "/a//b", "/a/./b", "/a/../b", "/..",
        "/%2e", "/%2e%2e/x", "/%2E%2e/x", "/a/%2e%2e", "/.../x", "/....", "/a/..%2fb",
        "/a%5cb", "/a\\b", "/a%00b", "/a\x00b", "/a%0ab", "/a%0d%0ab", "/a%7fb", "/a%09b",
        "/%c0%ae%c0%ae/x", "/%e0%80%ae/x", "/%f0%80%80%ae/x", "/%ff", "/%ed%a0%80",
        "/a#b", "/%2f/x",
    ],
)  # fmt: skip
def test_unsafe_paths_are_refused(target: str) -> None:
    assert clean_path(target) is None


@given(st.text(min_size=0, max_size=40))
def test_a_clean_path_never_leaves_the_root(text: str) -> None:
    for target in ("/" + text, "/" + quote(text, safe="/"), "/" + quote(text, safe="")):
        path = clean_path(target)
        if path is None:
            continue
        parts = path.rstrip("/").split("/") if path else []
        assert all(p.strip(".") for p in parts)
        assert "\\" not in path
        assert all(ord(c) >= 0x20 and c != "\x7f" for c in path)
        joined = posixpath.normpath(posixpath.join("/root", path or "."))
        assert joined == "/root" or joined.startswith("/root/")


def test_loopback_names_on_the_port_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_http, "lan_addresses", lambda: ("192.168.1.9",))
    assert reachable_names("127.0.0.1", 8088) == {
        "127.0.0.1:8088",
        "localhost:8088",
        "[::1]:8088",
    }


def test_wildcard_bind_adds_the_lan_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_http, "lan_addresses", lambda: ("192.168.1.9",))
    assert "192.168.1.9:8089" in reachable_names("0.0.0.0", 8089)
    assert "192.168.1.9:8089" in reachable_names("", 8089)


def test_specific_bind_and_extra_names_are_normalised() -> None:
    names = reachable_names("FE80::0001", 8089, ["Reader.Local", "[::2]", "10.0.0.7"])
    assert {"[fe80::1]:8089", "reader.local:8089", "[::2]:8089", "10.0.0.7:8089"} <= names


def test_port_80_also_allows_the_bare_name() -> None:
    assert {"127.0.0.1", "localhost", "127.0.0.1:80"} <= reachable_names("127.0.0.1", 80)
    assert "127.0.0.1" not in reachable_names("127.0.0.1", 8080)


@pytest.mark.parametrize("name", ["a b", "a/b", "a:1", "-x", "x-", "a..b", "*", "", "é.example"])
def test_bad_extra_names_raise(name: str) -> None:
    with pytest.raises(UserError, match="host name or IP address"):
        reachable_names("127.0.0.1", 1, [name])
