"""UI strings and dates per language, from the gettext catalogs shipped with tamizdat.

Invariant kept: the same catalogs and Babel version give the same strings. Catalogs are
``locale/{lang}/LC_MESSAGES/tamizdat.po``, compiled in memory with Babel (no ``.mo`` files
in the tree to go stale). A language without a catalog gets the English strings and
Babel's dates for that language; a language Babel does not know gets English dates too.
"""

from __future__ import annotations

import functools
import gettext
import hashlib
import io
from datetime import datetime
from importlib import resources
from pathlib import Path

import babel
from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = [
    "DOMAIN",
    "catalog_digest",
    "catalog_languages",
    "format_article_date",
    "locale_for",
    "translations_for",
]

DOMAIN = "tamizdat"
_FALLBACK = "en"


def _locale_dir() -> Path:
    return Path(str(resources.files("tamizdat") / "locale"))


def catalog_languages() -> tuple[str, ...]:
    """Languages with a shipped catalog, sorted."""
    base = _locale_dir()
    return tuple(
        sorted(p.name for p in base.iterdir() if (p / "LC_MESSAGES" / f"{DOMAIN}.po").is_file())
    )


def _po_path(lang: str) -> Path:
    return _locale_dir() / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations_for(lang: str) -> gettext.GNUTranslations:
    """Compiled translations for ``lang`` (``ru-RU`` tries ``ru-RU``, then ``ru``, then en)."""
    for candidate in (lang, lang.split("-")[0], _FALLBACK):
        path = _po_path(candidate)
        if path.is_file():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=candidate.replace("-", "_"), domain=DOMAIN)
            buffer = io.BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            buffer.seek(0)
            return gettext.GNUTranslations(buffer)
    raise FileNotFoundError(_po_path(_FALLBACK))  # the English catalog ships with tamizdat


@functools.cache
def locale_for(lang: str) -> Locale:
    """Babel's locale for a site language code; English when Babel does not know it."""
    try:
        return Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(_FALLBACK)


def format_article_date(when: datetime, lang: str) -> str:
    """``12 May 2024, 14:30`` / ``12 мая 2024 г., 14:30`` in the article's own time zone.

    Midnight exactly is how a date without a time (``date: 2024-05-12``) arrives, so it
    shows the day alone rather than a made-up "00:00".
    """
    locale = locale_for(lang)
    day = format_date(when, format="long", locale=locale)
    if (when.hour, when.minute, when.second) == (0, 0, 0):
        return day
    clock = format_time(when, format="short", tzinfo=when.tzinfo, locale=locale)
    return f"{day}, {clock}"


@functools.cache
def catalog_digest() -> str:
    """SHA-256 over every catalog and the Babel version: both change rendered bytes."""
    digest = hashlib.sha256(f"babel {babel.__version__}\n".encode())
    for lang in catalog_languages():
        digest.update(lang.encode() + b"\0" + _po_path(lang).read_bytes())
    return digest.hexdigest()
