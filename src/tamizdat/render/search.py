"""The static search index one language's search page fetches.

Invariant kept: the index is compact, stable JSON (sorted keys, newest article first) with
URLs relative to the language folder, so it works on every mirror and from ``file://``
alike, and loads from the same origin as the page (CSP ``connect-src 'self'``).

Shape (version 1)::

    {"lang": "en", "v": 1,
     "items": [{"d": "2024-05-12", "k": ["tag", …], "s": "lead…", "t": "Title",
                "u": "news/2024/05/slug/index.html"}, …]}
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from tamizdat.content.model import Article
from tamizdat.render.urls import article_path

__all__ = ["SNIPPET_CHARS", "search_index"]

SNIPPET_CHARS = 200


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= SNIPPET_CHARS:
        return text
    return text[: SNIPPET_CHARS - 1].rsplit(" ", 1)[0] + "…"


def search_index(lang: str, articles: Sequence[Article]) -> bytes:
    """The index of ``articles`` (all published articles of ``lang``, newest first)."""
    prefix = f"{lang}/"
    items = [
        {
            "t": a.title,
            "u": article_path(a).removeprefix(prefix),
            "d": a.date.date().isoformat(),
            "s": _snippet(a.lead or a.summary),
            "k": list(a.tags),
        }
        for a in articles
    ]
    document = {"v": 1, "lang": lang, "items": items}
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return (text + "\n").encode()
