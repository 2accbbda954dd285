"""Mirror lists (full, Bypass v2, per tag) and ``mirrors add|retire|list``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tamizdat.cli import main
from tamizdat.config import load_config
from tamizdat.errors import ConfigError, UserError
from tamizdat.layout import BYPASS_MIRRORS_JSON, MIRRORS_JSON
from tamizdat.publish.admin import add_mirror, retire_mirror
from tamizdat.publish.mirrorlist import build_mirror_lists, mirror_list_files

SITE = """\
# the newsroom's comments must survive edits
[site]
title = "Exile News"
base_url = "https://exile-news.example/"

[[mirrors]]
name = "cdn1"
url = "s3://bucket/site"
public_url = "https://cdn1.example/"
tags = ["telegram", "email"]
created = "2026-01-02"

[mirrors.options]
endpoint_url = "https://s3.example.net"

[[mirrors]]
name = "vps"   # rented in Tallinn
url = "sftp://deploy@vps.example/srv/www"
public_url = "https://vps.example/"
tags = ["email"]
created = "2026-02-03"
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "tamizdat.toml").write_text(SITE)
    return tmp_path


def test_lists_are_deterministic_and_per_tag(site: Path) -> None:
    config = load_config(site)
    files = mirror_list_files(config)
    assert files == mirror_list_files(load_config(site))
    full = json.loads(files[MIRRORS_JSON])
    assert [m["name"] for m in full["mirrors"]] == ["cdn1", "vps"]
    assert full["mirrors"][0] == {
        "name": "cdn1",
        "public_url": "https://cdn1.example/",
        "type": "s3",
        "tags": ["telegram", "email"],
        "created": "2026-01-02",
        "updated": "2026-01-02",
    }
    telegram = json.loads(files[".well-known/tamizdat/mirrors-telegram.json"])
    assert [m["name"] for m in telegram["mirrors"]] == ["cdn1"]
    email = json.loads(files[".well-known/tamizdat/mirrors-email.json"])
    assert [m["name"] for m in email["mirrors"]] == ["cdn1", "vps"]
    assert "endpoint_url" not in files[MIRRORS_JSON].decode()


def test_bypass_v2_format(site: Path) -> None:
    doc = json.loads(mirror_list_files(load_config(site))[BYPASS_MIRRORS_JSON])
    assert doc["version"] == "2.0"
    (entry,) = doc["sites"]
    assert entry["main_domain"] == "exile-news.example"
    assert entry["available_alternatives"][1] == {
        "proto": "https",
        "type": "mirror",
        "url": "https://vps.example/",
        "created_at": "2026-02-03",
        "updated_at": "2026-02-03",
    }


def test_retired_and_disabled_mirrors_are_left_out(site: Path) -> None:
    config = load_config(site)
    retired = list(config.mirrors)
    import dataclasses

    retired[1] = dataclasses.replace(retired[1], retired="2026-03-01")
    retired[0] = dataclasses.replace(retired[0], enabled=False)
    files = build_mirror_lists(config.site.base_url, retired)
    assert json.loads(files[MIRRORS_JSON])["mirrors"] == []
    assert not any("mirrors-" in p and "bypass" not in p for p in files)


def test_add_appends_a_block_and_keeps_everything_else(site: Path) -> None:
    mirror = add_mirror(
        site,
        "new-1",
        "file:///srv/new",
        public_url="https://new.example",
        tags=["sms"],
        options={"region": "eu"},
        created="2026-03-04",
    )
    text = (site / "tamizdat.toml").read_text()
    assert text.startswith(SITE)
    assert mirror.public_url == "https://new.example/"
    assert mirror.options == {"region": "eu"}
    assert [m.name for m in load_config(site).mirrors] == ["cdn1", "vps", "new-1"]


def test_add_refuses_bad_input_and_leaves_file_unchanged(site: Path) -> None:
    with pytest.raises(ConfigError, match="used twice"):
        add_mirror(site, "vps", "file:///x", public_url="https://x.example/")
    with pytest.raises(ConfigError, match="credentials"):
        add_mirror(
            site, "x", "s3://b/p", public_url="https://x.example/", options={"secret_key": "s"}
        )
    with pytest.raises(ConfigError, match="storage URL"):
        add_mirror(site, "x", "not a url", public_url="https://x.example/")
    assert (site / "tamizdat.toml").read_text() == SITE
    assert not [p for p in site.iterdir() if p.name.startswith(".tamizdat")]


def test_retire_sets_date_in_the_right_block(site: Path) -> None:
    mirror = retire_mirror(site, "cdn1", date="2026-04-01")
    assert mirror.retired == "2026-04-01"
    text = (site / "tamizdat.toml").read_text()
    assert "# the newsroom" in text
    assert "# rented in Tallinn" in text
    # inserted before the block's [mirrors.options] sub-table, not inside it
    assert text.index('retired = "2026-04-01"') < text.index("[mirrors.options]")
    config = load_config(site)
    assert config.mirrors[0].options == {"endpoint_url": "https://s3.example.net"}
    assert config.mirrors[1].retired is None
    with pytest.raises(UserError, match="already retired"):
        retire_mirror(site, "cdn1")
    with pytest.raises(UserError) as info:
        retire_mirror(site, "vsp")
    assert info.value.hint == "did you mean 'vps'?"


def test_cli_add_retire_list(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "-C",
                str(site),
                "mirrors",
                "add",
                "m3",
                "file:///srv/m3",
                "--public-url",
                "https://m3.example/",
                "--tag",
                "a",
                "--option",
                "region=x",
            ]
        )
        == 0
    )
    assert "added mirror m3" in capsys.readouterr().out
    assert main(["-C", str(site), "mirrors", "retire", "vps"]) == 0
    capsys.readouterr()
    assert main(["-C", str(site), "--json", "mirrors", "list"]) == 0
    rows = json.loads(capsys.readouterr().out)["mirrors"]
    assert [(r["name"], r["type"], bool(r["retired"])) for r in rows] == [
        ("cdn1", "s3", False),
        ("vps", "sftp", True),
        ("m3", "file", False),
    ]
    assert (
        main(
            [
                "-C",
                str(site),
                "mirrors",
                "add",
                "m4",
                "file:///x",
                "--public-url",
                "https://x.example/",
                "--option",
                "novalue",
            ]
        )
        == 2
    )


def test_bad_dates_are_config_errors(site: Path) -> None:
    (site / "tamizdat.toml").write_text(SITE.replace('"2026-02-03"', '"last tuesday"'))
    with pytest.raises(ConfigError, match="expected a date") as info:
        load_config(site)
    assert "mirrors[1].created" in str(info.value)
