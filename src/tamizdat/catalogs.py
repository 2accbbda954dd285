"""The user-interface catalogs: one gettext ``.po`` file per language, shipped with tamizdat.

Invariant kept: the same catalogs and Babel version give the same strings. Catalogs are
``locale/{lang}/LC_MESSAGES/tamizdat.po``, compiled in memory with Babel (no ``.mo`` files
in the tree to go stale); adding a language is adding a catalog. A language without one
gets the English strings. At the bottom of the layers, so every page tamizdat writes —
the built site, the mirror status page, the reader's pages — speaks from the same catalogs.
"""

from __future__ import annotations

import functools
import gettext
import hashlib
import io
import re
from importlib import resources
from pathlib import Path

import babel
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = [
    "DOMAIN",
    "accepted_languages",
    "catalog_digest",
    "catalog_languages",
    "compile_catalog",
    "locale_dir",
    "preferred_language",
    "translations_for",
]

DOMAIN = "tamizdat"
# A language tag as a path segment may hold it: letters, digits and '-' only (no '/', '..').
_TAG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8}){0,3}$")
FALLBACK = "en"


def locale_dir() -> Path:
    """Where the shipped catalogs are: ``locale/{lang}/LC_MESSAGES/{domain}.po``."""
    return Path(str(resources.files("tamizdat") / "locale"))


def compile_catalog(path: Path, lang: str, domain: str) -> gettext.GNUTranslations:
    """The ``.po`` file at ``path`` compiled in memory (fuzzy entries left out)."""
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang.replace("-", "_"), domain=domain)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def catalog_languages() -> tuple[str, ...]:
    """Languages with a shipped catalog, sorted."""
    base = locale_dir()
    return tuple(
        sorted(p.name for p in base.iterdir() if (p / "LC_MESSAGES" / f"{DOMAIN}.po").is_file())
    )


def _po_path(lang: str) -> Path:
    return locale_dir() / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations_for(lang: str) -> gettext.GNUTranslations:
    """Compiled translations for ``lang`` (``ru-RU`` tries ``ru-RU``, then ``ru``, then en)."""
    for candidate in (lang, lang.split("-")[0], FALLBACK):
        path = _po_path(candidate)
        if path.is_file():
            return compile_catalog(path, candidate, DOMAIN)
    raise FileNotFoundError(_po_path(FALLBACK))  # the English catalog ships with tamizdat


@functools.cache
def catalog_digest() -> str:
    """SHA-256 over every catalog and the Babel version: both change rendered bytes."""
    digest = hashlib.sha256(f"babel {babel.__version__}\n".encode())
    for lang in catalog_languages():
        digest.update(lang.encode() + b"\0" + _po_path(lang).read_bytes())
    return digest.hexdigest()


def accepted_languages(accept_language: str | None, limit: int = 8) -> list[str]:
    """The language tags a browser's ``Accept-Language`` asks for, most wanted first,
    each followed by its base language (``ru-RU``, then ``ru``), lowercased, no repeats.

    Quality values order the tags (RFC 9110 §12.5.4); ``*`` and ``q=0`` ask for nothing.
    The header is the browser's, so it is read defensively: its first ``limit`` entries
    only, malformed ones skipped.
    """
    wanted: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")[:limit]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip().lower()
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if not _TAG.match(tag) or not quality > 0:
            continue
        wanted.append((-quality, index, tag))
    found: dict[str, None] = {}
    for _, _, tag in sorted(wanted):
        found.setdefault(tag)
        found.setdefault(tag.split("-")[0])
    return list(found)


def preferred_language(accept_language: str | None, available: list[str]) -> str | None:
    """The first of ``available`` the browser asks for (see :func:`accepted_languages`);
    None when it asks for none of them."""
    lowered = {code.lower(): code for code in available}
    for tag in accepted_languages(accept_language):
        if tag in lowered:
            return lowered[tag]
    return None
