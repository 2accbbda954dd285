"""Related-article lists of the last build, reused while what they depend on is unchanged.

Invariant: a stored answer is used only when its key — a digest of every input of
:class:`~tamizdat.content.related.RelatedIndex` (each article's position, source, language,
translation key and tags, the Site's tag slugs, the count asked for, the cache format) —
equals the key of the current Site, so the lists are exactly what the index would compute.
Editing an article's body, title or lead keeps the key (the lists hold positions, and the
Site is re-read for the articles themselves); adding, re-dating or re-tagging one changes
it, and everything is computed again. The file is the site's own (like the content cache),
written atomically; an unreadable or stale one is ignored.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
from pathlib import Path

from tamizdat.content.model import Article, Site
from tamizdat.content.related import RelatedIndex

__all__ = ["RELATED_CACHE_NAME", "related_lists"]

log = logging.getLogger(__name__)

RELATED_CACHE_NAME = "related.pickle"
_FORMAT = 1


def _key(site: Site, count: int) -> str:
    inputs = [(a.source, a.lang, a.translation_key, a.tags) for a in site.articles]
    return hashlib.sha256(repr((_FORMAT, count, site.tag_slugs, inputs)).encode()).hexdigest()


def _read(path: Path, key: str, size: int) -> list[tuple[int, ...]] | None:
    try:
        with path.open("rb") as handle:
            # Our own file in the site's cache folder (see the module docstring).
            stored_key, positions = pickle.load(handle)  # noqa: S301
    except FileNotFoundError:
        return None
    except Exception as exc:  # a corrupt cache must never stop a build
        log.warning("related-articles cache %s is unreadable (%s); ignoring it", path, exc)
        return None
    if stored_key != key or not isinstance(positions, list) or len(positions) != size:
        return None
    return positions


def _write(path: Path, key: str, positions: list[tuple[int, ...]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump((key, positions), handle, protocol=pickle.HIGHEST_PROTOCOL)
            Path(temp).replace(path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("could not write the related-articles cache %s: %s", path, exc)


def related_lists(
    site: Site, count: int, cache_dir: Path | None = None
) -> dict[str, tuple[Article, ...]]:
    """``source → related articles`` for every article of ``site`` (see RelatedIndex).

    With ``cache_dir``, the previous answer is reused when its key matches, and a new one
    is stored otherwise. Never raises for cache problems (they are logged).
    """
    articles = site.articles
    if count <= 0:
        return {a.source: () for a in articles}
    key = _key(site, count) if cache_dir is not None else ""
    path = cache_dir / RELATED_CACHE_NAME if cache_dir is not None else None
    positions = _read(path, key, len(articles)) if path is not None else None
    if positions is None:
        index = RelatedIndex(site)
        position = {a.source: i for i, a in enumerate(articles)}
        positions = [tuple(position[r.source] for r in index.related(a, count)) for a in articles]
        if path is not None:
            _write(path, key, positions)
    return {
        a.source: tuple(articles[i] for i in found)
        for a, found in zip(articles, positions, strict=True)
    }
