"""UI strings and dates per language, from the gettext catalogs shipped with tamizdat.

Invariant kept: the same catalogs and Babel version give the same strings. Catalogs are
``locale/{lang}/LC_MESSAGES/tamizdat.po``, compiled in memory with Babel (no ``.mo`` files
in the tree to go stale). A language without a catalog gets the English strings and
Babel's dates for that language; a language Babel does not know gets English dates too.
"""

from __future__ import annotations

import functools
from datetime import datetime

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time

from tamizdat.catalogs import (
    DOMAIN,
    FALLBACK,
    catalog_digest,
    catalog_languages,
    translations_for,
)

__all__ = [
    "DOMAIN",
    "catalog_digest",
    "catalog_languages",
    "format_article_date",
    "locale_for",
    "translations_for",
]

_FALLBACK = FALLBACK


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
