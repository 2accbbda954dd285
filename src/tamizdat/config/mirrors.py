"""The ``[[mirrors]]`` array: where releases are pushed and where readers fetch them.

Credentials never live here: they come from environment variables or the storage tools'
own configuration (AWS profiles, SSH agent and keys).
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field

from tamizdat.config._table import Table

__all__ = ["MirrorSettings", "append_mirror_block", "read_mirrors", "set_mirror_retired"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.+\-Z]+)?$")
_SECRET_WORDS = (
    "secret",
    "password",
    "passphrase",
    "token",
    "private_key",
    "key_id",
    "api_key",
    "apikey",
    "credential",
)
# user:password@ in a URL is a credential too.
_USERINFO_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]*:[^/@\s]*@")


@dataclass(frozen=True, slots=True)
class MirrorSettings:
    """One mirror: a storage URL to push to and the public URL readers use."""

    name: str
    url: str
    public_url: str
    tags: tuple[str, ...]
    enabled: bool
    retired: str | None
    created: str | None
    options: dict[str, str] = field(default_factory=dict)
    updated: str | None = None
    # False: kept out of every signed mirror list (a censor reads those from any mirror);
    # handed out only a few at a time by 'tamizdat mirrors give' (tamizdat.channels.distributor).
    listed: bool = True


def _date(table: Table, key: str) -> str | None:
    value = table.optional_string(key)
    if value is not None and not _DATE.match(value):
        raise table.error(key, f"expected a date such as 2026-03-01, found {value!r}")
    return value


def read_mirrors(top: Table) -> tuple[MirrorSettings, ...]:
    """Read and validate every ``[[mirrors]]`` table."""
    mirrors: list[MirrorSettings] = []
    for table in top.tables("mirrors"):
        table.reject_unknown(
            {
                "name",
                "url",
                "public_url",
                "tags",
                "enabled",
                "retired",
                "created",
                "updated",
                "options",
                "listed",
            }
        )
        name = table.string("name", "")
        if not _NAME.match(name):
            raise table.error(
                "name", f"expected a short name (letters, digits, . _ -), found {name!r}"
            )
        if any(m.name == name for m in mirrors):
            raise table.error("name", f"mirror name {name!r} is used twice")
        url = table.string("url", "")
        if not re.match(r"^[a-z][a-z0-9+.-]*://", url):
            raise table.error(
                "url", f"expected a storage URL such as s3://bucket/prefix, found {url!r}"
            )
        if _USERINFO_PASSWORD.match(url):
            raise table.error(
                "url",
                "credentials must not be stored in tamizdat.toml (the URL holds a password)",
                "use environment variables or the storage tool's own configuration",
            )
        public_url = table.string("public_url", "")
        if public_url and not re.match(r"^https?://", public_url):
            raise table.error("public_url", f"expected an http(s):// URL, found {public_url!r}")
        if public_url and not public_url.endswith("/"):
            public_url += "/"
        options_table = table.table("options")
        options: dict[str, str] = {}
        for key in options_table.data:
            if any(word in key.lower() for word in _SECRET_WORDS):
                raise options_table.error(
                    key,
                    "credentials must not be stored in tamizdat.toml",
                    "use environment variables or the storage tool's own configuration",
                )
            options[key] = options_table.string(key, "")
        mirrors.append(
            MirrorSettings(
                name=name,
                url=url,
                public_url=public_url,
                tags=table.strings("tags", ()),
                enabled=table.boolean("enabled", True),
                retired=_date(table, "retired"),
                created=_date(table, "created"),
                options=options,
                updated=_date(table, "updated"),
                listed=table.boolean("listed", True),
            )
        )
    return tuple(mirrors)


# -- editing tamizdat.toml ---------------------------------------------------------------
# ``mirrors add`` and ``mirrors retire`` change the file with small text edits, so the
# newsroom's comments, order and formatting survive; the result is re-validated before the
# atomic replace, so a bad edit never reaches the disk.

_HEADER = re.compile(r"^\s*\[")
_MIRRORS_HEADER = re.compile(r"^\s*\[\[\s*mirrors\s*\]\]\s*(#.*)?$")


def _toml_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def append_mirror_block(
    text: str,
    *,
    name: str,
    url: str,
    public_url: str,
    tags: tuple[str, ...] = (),
    created: str,
    options: dict[str, str] | None = None,
    listed: bool = True,
) -> str:
    """``text`` with a new ``[[mirrors]]`` block appended (nothing else changes)."""
    lines = [
        "[[mirrors]]",
        f"name = {_toml_string(name)}",
        f"url = {_toml_string(url)}",
        f"public_url = {_toml_string(public_url)}",
        f"tags = [{', '.join(_toml_string(t) for t in tags)}]",
        f"created = {_toml_string(created)}",
    ]
    if not listed:
        lines.append("listed = false  # handed out by 'tamizdat mirrors give' only")
    if options:
        lines.append("")
        lines.append("[mirrors.options]")
        lines.extend(f"{key} = {_toml_string(value)}" for key, value in sorted(options.items()))
    sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    return text + sep + "\n".join(lines) + "\n"


def set_mirror_retired(text: str, name: str, date: str) -> str:
    """``text`` with ``retired = "DATE"`` added to the ``[[mirrors]]`` block named ``name``.

    Raises:
        KeyError: no block has that name.
        ValueError: the block already has a ``retired`` key.
    """
    lines = text.splitlines(keepends=True)
    index = 0
    while index < len(lines):
        if not _MIRRORS_HEADER.match(lines[index]):
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not _HEADER.match(lines[end]):
            end += 1
        body = tomllib.loads("".join(lines[index + 1 : end]))
        if body.get("name") == name:
            if "retired" in body:
                raise ValueError(f"mirror {name!r} was already retired on {body['retired']}")
            last = end
            while last > index + 1 and not lines[last - 1].strip():
                last -= 1
            if not lines[last - 1].endswith("\n"):
                lines[last - 1] += "\n"
            lines.insert(last, f"retired = {_toml_string(date)}\n")
            return "".join(lines)
        index = end
    raise KeyError(name)
