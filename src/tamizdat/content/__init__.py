"""tamizdat.content: Markdown files, front matter, authors and static files → a frozen Site.

``load_site`` is the stage's entry point; ``RelatedIndex`` and ``TranslationIndex`` answer
the questions pages ask about a loaded Site; ``slugify``, ``transliterate`` and
``resolve_asset`` are shared with the renderer. Nothing here renders HTML.
"""

from tamizdat.content.assets import resolve_asset
from tamizdat.content.loader import load_site
from tamizdat.content.model import Article, Author, ImageRef, Site, StaticFile
from tamizdat.content.related import RelatedIndex, TranslationIndex
from tamizdat.content.slugs import slugify, transliterate

__all__ = [
    "Article",
    "Author",
    "ImageRef",
    "RelatedIndex",
    "Site",
    "StaticFile",
    "TranslationIndex",
    "load_site",
    "resolve_asset",
    "slugify",
    "transliterate",
]
