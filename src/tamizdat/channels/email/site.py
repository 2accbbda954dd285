"""The e-mail channel inside one site: its ``[[channels]]`` entry and its subscriber store.

Invariant: the subscriber store a command opens is never inside a folder the site
publishes or builds from (output, release, content, static, data, theme), whatever
``subscribers_file`` says.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tamizdat.channels.email.settings import MailSettings, read_mail_settings
from tamizdat.channels.email.subscribers import DEFAULT_STORE, SubscriberStore, check_store_location
from tamizdat.config import Config
from tamizdat.errors import ConfigError

__all__ = [
    "email_channel",
    "email_channel_languages",
    "email_channel_options",
    "published_folders",
    "site_store",
]


def email_channel(
    config: Config, name: str | None, environ: Mapping[str, str] | None = None
) -> MailSettings:
    """The settings of e-mail channel ``name`` (or the only one) of the site.

    Raises:
        ConfigError: no e-mail channel, several and none named, or invalid options.
    """
    channel, options = email_channel_options(config, name)
    env = os.environ if environ is None else environ
    return read_mail_settings(channel, options, env)


def email_channel_options(config: Config, name: str | None) -> tuple[str, dict[str, Any]]:
    """``(name, options)`` of e-mail channel ``name`` (or the only one), ``site_dir`` set.

    Raises:
        ConfigError: no e-mail channel, or several and none named.
    """
    data = tomllib.loads(config.file.read_text("utf-8"))
    entries = [
        e for e in data.get("channels", []) if isinstance(e, dict) and e.get("kind") == "email"
    ]
    names = [str(e.get("name")) for e in entries]
    if name is None and len(entries) == 1:
        entry = entries[0]
    else:
        chosen = [e for e in entries if e.get("name") == name]
        if not chosen:
            known = ", ".join(names) or "none"
            raise ConfigError(
                f"no e-mail channel named {name!r} (e-mail channels: {known})"
                if name
                else f"expected one e-mail channel or --channel NAME (e-mail channels: {known})",
                where=f"{config.file}: channels",
                hint='add [[channels]] with kind = "email" and its [channels.options]',
            )
        entry = chosen[0]
    options = dict(entry.get("options") or {})
    options.setdefault("site_dir", str(config.root))
    return str(entry.get("name")), options


def email_channel_languages(config: Config, name: str) -> tuple[str, ...]:
    """The languages e-mail channel ``name`` sends in (``languages``; default: the site's)."""
    data = tomllib.loads(config.file.read_text("utf-8"))
    for entry in data.get("channels", []):
        if isinstance(entry, dict) and entry.get("name") == name:
            given = entry.get("languages")
            if isinstance(given, list) and all(isinstance(x, str) for x in given) and given:
                return tuple(given)
    return config.site.language_codes


def published_folders(config: Config) -> list[Path]:
    build = config.build
    return [build.output_dir, config.signing.release_dir, build.content_dir, build.data_dir,
            build.theme_dir, *build.static_dirs]  # fmt: skip


def site_store(config: Config, options: Mapping[str, Any] | None) -> SubscriberStore:
    """The site's subscriber store (the channel's ``subscribers_file`` or the default).

    Raises:
        UserError: it would lie inside a published or source folder.
    """
    given = (options or {}).get("subscribers_file")
    file = config.root / given if isinstance(given, str) and given else config.root / DEFAULT_STORE
    return SubscriberStore(check_store_location(file, published_folders(config)))
