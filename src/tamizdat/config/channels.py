"""The ``[[channels]]`` array: where ``tamizdat announce`` tells readers of a release.

::

    [[channels]]
    name = "tg-ru"                  # short, unique; names the journal and every error
    kind = "telegram"               # a channel kind declared in tamizdat.registry
    languages = ["ru"]              # default: every language of the site
    tags = ["politics"]             # only articles with one of these tags (default: all)
    mode = "release"                # or "digest": one announcement per period
    per_story = true                # one message per story (default: one per release)
    attach_bundle = true            # the signed delta bundle, for offline verification
    attach_max_bytes = 20000000     # above this the run stops with an error (default 20 MB)
    [channels.options]              # the kind's own settings, given to its sender as is
    chat_id = "@example_news"
    token_env = "TAMIZDAT_TELEGRAM_TOKEN"   # the secret itself lives in the environment

Invariants:

- Secrets never live in tamizdat.toml: an option whose name says secret (token, password,
  …) is refused unless it ends in ``_env``, and then its value must be the *name* of an
  environment variable (``[A-Z_][A-Z0-9_]*``), read by the sender at run time.
- A ``ChannelSettings`` is valid once read: a name fit for a file name, a known mode, a
  positive story cap; the kind is checked against the registry when the sender is made
  (``tamizdat announce``), naming this file and key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tamizdat.config._table import Table

__all__ = ["ChannelMode", "ChannelSettings", "read_channels"]

ChannelMode = Literal["release", "digest"]

# A channel name is a file name in the journal folder: no separators, no leading dot.
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_KIND = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
_SECRET_WORDS = ("secret", "password", "passphrase", "token", "private_key", "api_key", "apikey")
_KEYS = (
    "name",
    "kind",
    "languages",
    "tags",
    "mode",
    "per_story",
    "max_stories",
    "mirrors",
    "digest_hours",
    "attach_bundle",
    "attach_max_bytes",
    "options",
)


@dataclass(frozen=True, slots=True)
class ChannelSettings:
    """One announcing channel; ``where`` is ``FILE: channels[i]`` for error messages."""

    name: str
    kind: str
    languages: tuple[str, ...]
    tags: tuple[str, ...]
    mode: ChannelMode
    per_story: bool
    max_stories: int  # most stories in one announcement (and on a channel's first run)
    mirrors: int  # how many working mirrors each announcement links to
    digest_hours: int  # a digest goes out at most once per this many hours
    options: Mapping[str, Any] = field(default_factory=dict)
    where: str = ""
    # The signed delta bundle (since the channel's last announced release) rides along with
    # the first announcement of each language, if at most this many bytes.
    attach_bundle: bool = False
    attach_max_bytes: int = 20_000_000


def _options(table: Table) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for key, value in table.data.items():
        lowered = key.lower()
        if lowered.startswith("tamizdat."):  # 'announce' adds these itself (the site's folders)
            raise table.error(key, "option names starting with 'tamizdat.' are reserved")
        if isinstance(value, dict) or (
            isinstance(value, list) and not all(isinstance(v, str) for v in value)
        ):
            raise table.error(key, "expected a string, number, boolean or list of strings")
        if lowered.endswith("_env"):
            if not isinstance(value, str) or not _ENV_NAME.match(value):
                raise table.error(
                    key,
                    f"expected the name of an environment variable (such as "
                    f"TAMIZDAT_TELEGRAM_TOKEN), found {value!r}",
                )
        elif any(word in lowered for word in _SECRET_WORDS):
            raise table.error(
                key,
                "credentials must not be stored in tamizdat.toml",
                f'name an environment variable instead: {key}_env = "TAMIZDAT_…"',
            )
        options[key] = tuple(value) if isinstance(value, list) else value
    return options


def read_channels(top: Table, languages: tuple[str, ...]) -> tuple[ChannelSettings, ...]:
    """Read and validate every ``[[channels]]`` table (``languages``: the site's codes).

    Raises:
        ConfigError: an unknown key, a bad name or kind, a name used twice, a language the
            site does not have, a secret written in the file (names the key).
    """
    channels: list[ChannelSettings] = []
    for table in top.tables("channels"):
        table.reject_unknown(_KEYS)
        name = table.string("name", "")
        if not _NAME.match(name):
            raise table.error(
                "name", f"expected a short lower-case name (a-z, 0-9, _ -), found {name!r}"
            )
        if any(c.name == name for c in channels):
            raise table.error("name", f"channel name {name!r} is used twice")
        kind = table.string("kind", "")
        if not _KIND.match(kind):
            raise table.error("kind", f"expected a channel kind such as 'telegram', found {kind!r}")
        langs = table.strings("languages", languages)
        for lang in langs:
            if lang not in languages:
                raise table.error(
                    "languages",
                    f"the site has no language {lang!r} (it has: {', '.join(languages)})",
                )
        if not langs:
            raise table.error("languages", "expected at least one language")
        mode = table.choice("mode", "release", ("release", "digest"))
        channels.append(
            ChannelSettings(
                name=name,
                kind=kind,
                languages=tuple(dict.fromkeys(langs)),
                tags=tuple(t.casefold() for t in table.strings("tags", ())),
                mode="digest" if mode == "digest" else "release",
                per_story=table.boolean("per_story", False),
                max_stories=table.integer("max_stories", 10, minimum=1),
                mirrors=table.integer("mirrors", 3, minimum=1),
                digest_hours=table.integer("digest_hours", 24, minimum=1),
                options=_options(table.table("options")),
                where=f"{table.file}: {table.prefix}",
                attach_bundle=table.boolean("attach_bundle", False),
                attach_max_bytes=table.integer("attach_max_bytes", 20_000_000, minimum=1),
            )
        )
    return tuple(channels)
