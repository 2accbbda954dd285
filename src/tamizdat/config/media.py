"""The ``[media]`` section: which files may be published with their metadata.

Invariant: nothing is published unstripped unless a pattern here names it. Patterns are
site-relative POSIX globs: ``*`` and ``?`` stay within one folder, ``**/`` spans folders
(``static/files/report.zip``, ``static/archives/*.zip``, ``**/*.docx``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tamizdat.config._table import Table

__all__ = ["MediaSettings", "read_media"]


def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\*\*/|\*|\?)", pattern)
    wild = {"**/": "(?:[^/]+/)*", "*": "[^/]*", "?": "[^/]"}
    return re.compile("".join(wild.get(part, re.escape(part)) for part in parts) + r"\Z")


@dataclass(frozen=True, slots=True)
class MediaSettings:
    """``publish_unstripped``: globs of files published as they are, metadata and all."""

    publish_unstripped: tuple[str, ...] = ()
    _patterns: tuple[re.Pattern[str], ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        patterns = tuple(_glob_regex(p) for p in self.publish_unstripped)
        object.__setattr__(self, "_patterns", patterns)

    def allows_unstripped(self, source: str) -> bool:
        """True if the site-relative path ``source`` matches a ``publish_unstripped`` glob."""
        return any(p.match(source) for p in self._patterns)


def read_media(top: Table) -> MediaSettings:
    """Read ``[media]`` from the top table.

    Raises:
        ConfigError: an unknown key (with "did you mean"), or a pattern that is not a
            relative path inside the site.
    """
    table = top.table("media")
    table.reject_unknown({"publish_unstripped"})
    patterns = table.strings("publish_unstripped", ())
    for pattern in patterns:
        if not pattern or pattern.startswith("/") or ".." in pattern.split("/"):
            raise table.error(
                "publish_unstripped",
                f"expected site-relative paths or globs such as 'static/files/*.zip', "
                f"found {pattern!r}",
            )
    return MediaSettings(patterns)
