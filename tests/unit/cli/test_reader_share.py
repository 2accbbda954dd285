"""``reader share`` and ``reader serve`` options: where they listen, what they warn about.

The servers are real (bound on 127.0.0.1); only the blocking serve loop is replaced, so each
test sees the socket the command bound and closes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import tamizdat.cli.reader as reader_cli
from support.reader_store import small_store
from tamizdat.cli import main
from tamizdat.errors import ExitCode, UserError
from tamizdat.local_http import LocalHTTPServer
from tamizdat.reader.serve import share_address


@dataclass(frozen=True)
class Bound:
    address: str  # what the listening socket itself reports
    port: int
    allowed_hosts: frozenset[str]


@pytest.fixture
def bound(monkeypatch: pytest.MonkeyPatch) -> list[Bound]:
    """What each command bound (closed here instead of served forever)."""
    servers: list[Bound] = []

    def instead(out: Any, server: LocalHTTPServer, lines: list[str]) -> int:
        host, port = server.socket.getsockname()[:2]
        servers.append(Bound(host, port, server.allowed_hosts))
        server.server_close()
        return int(ExitCode.OK)

    monkeypatch.setattr(reader_cli, "_serve_forever", instead)
    return servers


@pytest.fixture
def home(tmp_path: Path) -> str:
    small_store(tmp_path)
    return str(tmp_path)


def test_share_listens_on_loopback_by_default_and_warns_of_nothing(
    home: str, bound: list[Bound], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["reader", "share", "news", "--store-dir", home, "--port", "0"]) == 0
    (server,) = bound
    assert server.address == "127.0.0.1"
    out, err = capsys.readouterr()
    assert "only this device can reach it" in out
    assert "warning" not in err
    assert not any(h.startswith(("0.0.0.0", "10.", "192.168.")) for h in server.allowed_hosts)


def test_share_lan_warns_what_it_exposes_before_serving(
    home: str, bound: list[Bound], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["reader", "share", "news", "--lan", "--bind", "127.0.0.1", "--port", "0"]
    assert main([*argv, "--store-dir", home]) == 0
    (server,) = bound
    assert server.address == "127.0.0.1"
    err = capsys.readouterr().err
    assert err.startswith("warning: sharing news (publisher ")
    for words in ("release 1", "local network", "copy the whole release", "you read this"):
        assert words in err.replace("\n", " ")


def test_share_lan_json_says_where_and_what(
    home: str, bound: list[Bound], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--json", "reader", "share", "news", "--lan", "--bind", "127.0.0.1", "--port", "0"]
    assert main([*argv, "--store-dir", home]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bind"] == "127.0.0.1"
    assert result["lan"] is True
    assert "learn that this device holds it" in result["exposure"]


@pytest.mark.parametrize("bind", ["0.0.0.0", "192.168.1.20", "::", "10.0.0.1"])
def test_share_refuses_a_network_address_without_lan(
    home: str, bind: str, bound: list[Bound], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["reader", "share", "news", "--bind", bind, "--port", "0", "--store-dir", home]
    assert main(argv) == int(ExitCode.USER)
    assert not bound
    err = capsys.readouterr().err
    assert "beyond this device" in err
    assert "--lan" in err


@pytest.mark.parametrize(
    ("lan", "bind", "address"),
    [
        (False, None, "127.0.0.1"),
        (True, None, "0.0.0.0"),
        (False, "127.0.0.1", "127.0.0.1"),
        (False, "::1", "::1"),
        (False, "[::1]", "::1"),
        (True, "192.168.1.20", "192.168.1.20"),
    ],
)
def test_share_address(lan: bool, bind: str | None, address: str) -> None:
    assert share_address(lan=lan, bind=bind) == address


@pytest.mark.parametrize("bind", ["localhost", "my.host", "0", "1.2.3"])
def test_share_address_wants_an_ip_address(bind: str) -> None:
    with pytest.raises(UserError, match="IP address"):
        share_address(lan=True, bind=bind)


def test_share_help_says_what_lan_exposes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["reader", "share", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "By default only this device can reach it (127.0.0.1)" in text
    assert "learn that this device holds it" in text
    assert "--lan" in text


def test_serve_allows_the_names_given_and_refuses_bad_ones(
    home: str, bound: list[Bound], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["reader", "serve", "news", "--port", "0", "--store-dir", home]
    assert main([*argv, "--allow-host", "reader.lan"]) == 0
    (server,) = bound
    port = server.port
    assert server.address == "127.0.0.1"
    assert f"reader.lan:{port}" in server.allowed_hosts
    assert main([*argv, "--allow-host", "http://evil.example/"]) == int(ExitCode.USER)
    assert "host name or IP address" in capsys.readouterr().err
    assert len(bound) == 1
