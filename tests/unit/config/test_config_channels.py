"""``[[channels]]`` in tamizdat.toml: validated once, every error naming the file and key, and
secrets refused unless named as environment variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from tamizdat.config import ChannelSettings, load_config
from tamizdat.errors import ConfigError

BASE = """\
[site]
title = "Exile News"
default_language = "en"

[languages.en]
title = "Exile News"

[languages.ru]
title = "Новости"
"""


def load(tmp_path: Path, channels: str) -> tuple[ChannelSettings, ...]:
    (tmp_path / "tamizdat.toml").write_text(BASE + channels, encoding="utf-8")
    return load_config(tmp_path).channels


def test_a_channel_with_defaults(tmp_path: Path) -> None:
    (channel,) = load(
        tmp_path,
        '[[channels]]\nname = "tg"\nkind = "telegram"\n[channels.options]\n'
        'chat_id = "@exile_news"\ntoken_env = "TG_TOKEN"\nlink_preview = false\n',
    )
    assert channel.name == "tg"
    assert channel.kind == "telegram"
    assert channel.languages == ("en", "ru")
    assert channel.mode == "release"
    assert channel.per_story is False
    assert channel.max_stories == 10
    assert dict(channel.options) == {
        "chat_id": "@exile_news", "token_env": "TG_TOKEN", "link_preview": False,
    }  # fmt: skip
    assert channel.where.endswith("tamizdat.toml: channels[0]")


def test_tags_are_compared_case_insensitively(tmp_path: Path) -> None:
    (channel,) = load(
        tmp_path,
        '[[channels]]\nname = "w"\nkind = "email"\nmode = "digest"\ntags = ["Weather"]\n',
    )
    assert channel.tags == ("weather",)
    assert channel.mode == "digest"


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        ('name = "../x"\nkind = "telegram"', "channels[0].name", "expected a short lower-case"),
        ('name = ""\nkind = "telegram"', "channels[0].name", "expected a short lower-case"),
        ('name = "a"\nkind = "Tele gram"', "channels[0].kind", "expected a channel kind"),
        ('name = "a"\nkind = "x"\nlanguages = ["fa"]', "channels[0].languages", "no language 'fa'"),
        ('name = "a"\nkind = "x"\nlanguages = []', "channels[0].languages", "at least one"),
        ('name = "a"\nkind = "x"\nmode = "weekly"', "channels[0].mode", "expected one of"),
        ('name = "a"\nkind = "x"\nmax_stories = 0', "channels[0].max_stories", "≥ 1"),
        ('name = "a"\nkind = "x"\nchat = "y"', "channels[0].chat", "unknown key"),
        (
            'name = "a"\nkind = "x"\n[channels.options]\ntoken = "123:abc"',
            "channels[0].options.token",
            "credentials must not be stored",
        ),
        (
            'name = "a"\nkind = "x"\n[channels.options]\nsmtp_password = "hunter2"',
            "channels[0].options.smtp_password",
            "credentials must not be stored",
        ),
        (
            'name = "a"\nkind = "x"\n[channels.options]\ntoken_env = "123:abc"',
            "channels[0].options.token_env",
            "expected the name of an environment variable",
        ),
        (
            'name = "a"\nkind = "x"\n[channels.options]\n"tamizdat.cache_dir" = "/tmp"',
            "channels[0].options.tamizdat.cache_dir",
            "reserved",
        ),
        (
            'name = "a"\nkind = "x"\n[channels.options.nested]\nx = 1',
            "channels[0].options.nested",
            "expected a string, number",
        ),
    ],
)
def test_bad_channels_name_the_key(tmp_path: Path, body: str, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, f"[[channels]]\n{body}\n")
    assert caught.value.where == f"{tmp_path / 'tamizdat.toml'}: {key}"
    assert message in caught.value.message
    assert "hunter2" not in str(caught.value)


def test_a_name_is_used_once(tmp_path: Path) -> None:
    twice = '[[channels]]\nname = "a"\nkind = "x"\n' * 2
    with pytest.raises(ConfigError, match="used twice"):
        load(tmp_path, twice)


def test_the_scaffold_example_is_a_valid_channel(tmp_path: Path) -> None:
    scaffold = Path(__file__).parents[3] / "src/tamizdat/scaffold/files/tamizdat.toml.in"
    text = scaffold.read_text(encoding="utf-8")
    block = text[text.index("# [[channels]]") : text.index("# Who gets which mirror")]
    lines = [line[2:] for line in block.splitlines() if line.startswith("# ")]
    (channel,) = load(tmp_path, "\n".join(lines) + "\n")
    assert (channel.kind, channel.per_story) == ("telegram", True)
    assert channel.options["token_env"] == "TAMIZDAT_TELEGRAM_TOKEN"
