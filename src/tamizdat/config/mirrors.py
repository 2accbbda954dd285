"""The ``[[mirrors]]`` array: where releases are pushed and where readers fetch them.

Credentials never live here: they come from environment variables or the storage tools'
own configuration (AWS profiles, SSH agent and keys).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tamizdat.config._table import Table

__all__ = ["MirrorSettings", "read_mirrors"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
_SECRET_WORDS = ("secret", "password", "passphrase", "token", "private_key", "key_id")


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


def read_mirrors(top: Table) -> tuple[MirrorSettings, ...]:
    """Read and validate every ``[[mirrors]]`` table."""
    mirrors: list[MirrorSettings] = []
    for table in top.tables("mirrors"):
        table.reject_unknown(
            {"name", "url", "public_url", "tags", "enabled", "retired", "created", "options"}
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
                retired=table.optional_string("retired"),
                created=table.optional_string("created"),
                options=options,
            )
        )
    return tuple(mirrors)
