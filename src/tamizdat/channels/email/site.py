"""The e-mail channel inside one site: its ``[[channels]]`` entry and its subscriber store.

Invariant: the subscriber store a command opens is never inside a folder the site
publishes or builds from (output, release, content, static, data, theme), whatever
``subscribers_file`` says.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tamizdat.channels.email.settings import MailSettings, read_mail_settings
from tamizdat.channels.email.subscribers import DEFAULT_STORE, SubscriberStore, check_store_location
from tamizdat.config import ChannelSettings, Config
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
    """``(name, options)`` of e-mail channel ``name`` (or the only one), with the site's
    folders added exactly as ``tamizdat announce`` adds them (``tamizdat.site_dir`` …).

    Raises:
        ConfigError: no e-mail channel, or several and none named.
    """
    from tamizdat.channels.announcer import site_options

    entry = _email_entry(config, name)
    return entry.name, {**entry.options, **site_options(config)}


def email_channel_languages(config: Config, name: str) -> tuple[str, ...]:
    """The languages e-mail channel ``name`` sends in (its ``languages``, else the site's)."""
    return _email_entry(config, name).languages


def _email_entry(config: Config, name: str | None) -> ChannelSettings:
    entries = [c for c in config.channels if c.kind == "email"]
    if name is None and len(entries) == 1:
        return entries[0]
    chosen = [c for c in entries if c.name == name]
    if chosen:
        return chosen[0]
    known = ", ".join(c.name for c in entries) or "none"
    raise ConfigError(
        f"no e-mail channel named {name!r} (e-mail channels: {known})"
        if name
        else f"expected one e-mail channel or --channel NAME (e-mail channels: {known})",
        where=f"{config.file}: channels",
        hint='add [[channels]] with kind = "email" and its [channels.options]',
    )


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
