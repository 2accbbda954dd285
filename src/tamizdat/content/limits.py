"""How much text one contributor's file may make the build hold: one frozen set of limits.

Invariant: every limit is checked before the expensive step it protects — a file's size
before it is read, the front matter's size before it is parsed, the YAML node graph
(aliases, depth, count) before it is turned into Python values — so no input a contributor
account controls can make the build's memory grow beyond a small multiple of these numbers.

Why these defaults: the longest news articles run to ~200 KB of Markdown; rendering costs
roughly 100 bytes of memory per byte of Markdown (cmarkgfm's tree and nh3's DOM), so 4 MiB
keeps one article under ~0.5 GB while leaving twenty times the longest real article.
"""

from __future__ import annotations

from dataclasses import dataclass

from tamizdat.content.model import PickleByArguments

__all__ = ["DEFAULT_LIMITS", "ContentLimits", "format_size"]

_MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ContentLimits(PickleByArguments):
    """Hard limits on content files (part of the parse settings, hence of the cache key)."""

    max_article_bytes: int = 4 * _MIB  # one Markdown file; ``[build] max_article_bytes``
    max_front_matter_bytes: int = 64 * 1024
    max_data_file_bytes: int = 8 * _MIB  # data/authors.yaml and the like
    max_string_chars: int = 20_000  # any one text value in front matter or a data file
    max_names: int = 100  # tags and categories of one article
    max_authors: int = 20  # authors of one article
    max_depth: int = 8  # nesting of lists and tables
    max_values: int = 10_000  # scalars, lists and tables in one front matter or data file


DEFAULT_LIMITS = ContentLimits()


def format_size(size: int) -> str:
    """``4194304`` → ``"4.0 MiB"``: sizes in messages, exact enough to compare."""
    if size < 1024:
        return f"{size} bytes"
    if size < _MIB:
        return f"{size / 1024:.1f} KiB"
    return f"{size / _MIB:.1f} MiB"
