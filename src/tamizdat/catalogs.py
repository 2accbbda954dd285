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
from importlib import resources
from pathlib import Path

import babel
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = ["DOMAIN", "catalog_digest", "catalog_languages", "translations_for"]

DOMAIN = "tamizdat"
FALLBACK = "en"


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
    for candidate in (lang, lang.split("-")[0], FALLBACK):
        path = _po_path(candidate)
        if path.is_file():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=candidate.replace("-", "_"), domain=DOMAIN)
            buffer = io.BytesIO()
            write_mo(buffer, catalog, use_fuzzy=False)
            buffer.seek(0)
            return gettext.GNUTranslations(buffer)
    raise FileNotFoundError(_po_path(FALLBACK))  # the English catalog ships with tamizdat


@functools.cache
def catalog_digest() -> str:
    """SHA-256 over every catalog and the Babel version: both change rendered bytes."""
    digest = hashlib.sha256(f"babel {babel.__version__}\n".encode())
    for lang in catalog_languages():
        digest.update(lang.encode() + b"\0" + _po_path(lang).read_bytes())
    return digest.hexdigest()
