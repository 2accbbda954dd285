"""What channels say to readers, per language: ``locale/LANG/LC_MESSAGES/channels.po``.

The channels' sentences (corrections, "Don't miss", reading time, the bot's replies) live in
a catalog of their own, beside the theme's ``tamizdat.po``, so that editing one never touches
the other (and channels do not depend on the renderer). A language without a catalog speaks
English.

Invariant: every function here returns *plain text*; a sender escapes it for its format.
"""

from __future__ import annotations

import functools
import gettext
import re
import unicodedata
from pathlib import Path

from tamizdat.catalogs import compile_catalog, locale_dir

__all__ = ["channel_translations", "clean_text", "reader_language"]

_DOMAIN = "channels"
_LANG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
# Explicit bidirectional embeddings, overrides and isolates: an article title must not
# reorder the text around it (a "Trojan Source" title turning a link's label around).
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff")
_DROPPED = frozenset({"Cc", "Cs", "Co", "Cn"})  # controls, surrogates, private, unassigned
_SPACES = frozenset("\u2028\u2029\u0085\t\r\n\x0b\x0c")


def _po_path(lang: str) -> Path:
    return locale_dir() / lang / "LC_MESSAGES" / f"{_DOMAIN}.po"


def reader_language(code: object, default: str = "en") -> str:
    """A language code a stranger sent (Telegram's ``language_code``), or ``default``."""
    if isinstance(code, str) and len(code) <= 12 and _LANG.match(code.lower()):
        return code.lower()
    return default


@functools.cache
def channel_translations(lang: str) -> gettext.NullTranslations:
    """The channels catalog for ``lang`` (``ru-RU`` → ``ru``), English when there is none."""
    for candidate in (lang, lang.split("-")[0]):
        if not _LANG.match(candidate):
            break
        path = _po_path(candidate)
        if path.is_file():
            return compile_catalog(path, candidate, _DOMAIN)
    return gettext.NullTranslations()


def clean_text(text: str, limit: int) -> str:
    """``text`` as one safe line: no control, format-override or surrogate characters,
    whitespace collapsed, at most ``limit`` characters (cut with "…")."""
    out: list[str] = []
    for char in text:
        if char in _SPACES:
            out.append(" ")
        elif char not in _BIDI and unicodedata.category(char) not in _DROPPED:
            out.append(char)
    line = " ".join("".join(out).split())
    if len(line) > limit:
        line = line[: max(limit - 1, 1)].rstrip() + "…"
    return line
