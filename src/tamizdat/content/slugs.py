"""Deterministic transliteration and URL slugs.

Invariant: the same text (and language) always gives the same slug, on every machine and
Python version, so article URLs never move between builds. Cyrillic goes through our own
table (Russian conventions by default; Ukrainian and Belarusian letters have their own
entries, and ``lang="uk"``/``"be"`` switch the letters those languages read differently);
other scripts fall back to Unicode NFKD with combining marks removed.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["MAX_SLUG_LENGTH", "is_valid_slug", "slugify", "transliterate"]

MAX_SLUG_LENGTH = 80

# Lowercase letters only; case is restored by ``transliterate``.
_CYRILLIC = {
    "а": "a",
    "б": "b",
    "в": "v",
    "г": "g",
    "д": "d",
    "е": "e",
    "ё": "yo",
    "ж": "zh",
    "з": "z",
    "и": "i",
    "й": "y",
    "к": "k",
    "л": "l",
    "м": "m",
    "н": "n",
    "о": "o",
    "п": "p",
    "р": "r",
    "с": "s",
    "т": "t",
    "у": "u",
    "ф": "f",
    "х": "kh",
    "ц": "ts",
    "ч": "ch",
    "ш": "sh",
    "щ": "shch",
    "ъ": "",
    "ы": "y",
    "ь": "",
    "э": "e",
    "ю": "yu",
    "я": "ya",
    # Ukrainian
    "ґ": "g",
    "є": "ye",
    "і": "i",
    "ї": "yi",
    # Belarusian
    "ў": "u",
    # apostrophes inside Ukrainian/Belarusian words carry no sound of their own
    "'": "",
    "’": "",
    "ʼ": "",
}

# Letters Ukrainian and Belarusian read differently from Russian.
_BY_LANG = {
    "uk": {"г": "h", "и": "y"},
    "be": {"г": "h"},
}

# Ukrainian's official romanisation (2010) spells these differently inside a word: Київ → Kyiv.
_UK_INSIDE = {**_BY_LANG["uk"], "є": "ie", "ї": "i", "й": "i", "ю": "iu", "я": "ia"}

# Latin letters NFKD does not decompose.
_LATIN_EXTRA = {
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "ł": "l",
    "đ": "d",
    "ð": "d",
    "þ": "th",
    "ı": "i",
    "ħ": "h",
}

_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_VALID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _letter(char: str, table: dict[str, str]) -> str | None:
    lower = char.lower()
    if lower in table:
        return table[lower]
    if lower in _CYRILLIC:
        return _CYRILLIC[lower]
    return _LATIN_EXTRA.get(lower)


def transliterate(text: str, lang: str | None = None) -> str:
    """Spell ``text`` in Latin letters, keeping case ("Москва" → "Moskva").

    Cyrillic uses tamizdat's own table; ``lang`` ("uk", "be") selects those languages'
    readings of shared letters. Other characters go through NFKD with combining marks
    dropped; characters with no Latin form are kept as they are.
    """
    code = (lang or "").split("-")[0]
    table = _BY_LANG.get(code, {})
    out: list[str] = []
    for index, char in enumerate(text):
        inside = index > 0 and text[index - 1].isalpha()
        latin = _letter(char, _UK_INSIDE if code == "uk" and inside else table)
        if latin is None:
            decomposed = unicodedata.normalize("NFKD", char)
            out.append("".join(c for c in decomposed if not unicodedata.combining(c)))
            continue
        if char.isupper() and latin:
            # A capital inside an all-caps word stays all caps ("ЖУК" → "ZHUK").
            neighbours = text[max(0, index - 1) : index] + text[index + 1 : index + 2]
            all_caps = any(c.isupper() for c in neighbours)
            latin = latin.upper() if all_caps else latin.capitalize()
        out.append(latin)
    return "".join(out)


def _shorten(slug: str, limit: int) -> str:
    if len(slug) <= limit:
        return slug
    cut = slug[: limit + 1]
    # Cut on a word boundary when there is one; a single giant word is cut hard.
    boundary = cut.rfind("-")
    return (cut[:boundary] if boundary > 0 else slug[:limit]).strip("-")


def slugify(
    text: str,
    *,
    lang: str | None = None,
    fallback: str | None = None,
    max_length: int = MAX_SLUG_LENGTH,
) -> str:
    """A URL slug: lowercase ASCII letters, digits and single hyphens, never empty.

    At most ``max_length`` characters, cut on a word boundary. When ``text`` has nothing
    that transliterates (for example only CJK characters or punctuation), ``fallback`` is
    slugified instead; failing that, a short digest of ``text`` keeps the slug unique and
    stable.
    """
    slug = _NON_ALNUM.sub("-", transliterate(text, lang).lower()).strip("-")
    slug = _shorten(slug, max_length)
    if slug:
        return slug
    if fallback:
        return slugify(fallback, lang=lang, max_length=max_length)
    return "u" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


def is_valid_slug(slug: str) -> bool:
    """True if ``slug`` is lowercase ASCII letters and digits joined by single hyphens."""
    return len(slug) <= MAX_SLUG_LENGTH and bool(_VALID.match(slug))
