"""The content cache: parsed articles from the previous load.

Invariant: an entry is used only while its file's (site-relative path, size, mtime_ns) are
unchanged and the cache was written by the same cache format, tamizdat version and parse
settings; anything else (missing, corrupt, old) is ignored and the files are parsed again.
Every file is written atomically, so a crash never leaves a half-written cache behind.

Layout: the articles are spread over :data:`SHARDS` shard files by a stable hash of their
path, so a load that changed one article rewrites one small shard, not the whole archive
(10,000 articles make ~80 MB of cache). The index file (``content.pickle``) holds the key
and the random token each shard was last written with; a shard is
read only if its token is the index's, so a crash between writing shards and the index
costs a re-parse of those shards' files, never a mix-up.

The cache lives in the site's own ``cache_dir`` and is written only by tamizdat, with the
same trust as the site's files; it is never read from a mirror or a bundle.
"""

from __future__ import annotations

import logging
import os
import pickle
import secrets
import tempfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tamizdat import __version__
from tamizdat.content.article import ParsedFile
from tamizdat.content.model import Article

__all__ = [
    "CACHE_FORMAT",
    "CACHE_NAME",
    "SHARDS",
    "CacheEntry",
    "ContentCache",
    "read_cache",
    "shard_of",
    "write_cache",
]

log = logging.getLogger(__name__)

CACHE_NAME = "content.pickle"
CACHE_FORMAT = 5  # 5: Hugo date fallbacks; 4: Hugo shortcodes translated at parse time; 3: StatCache of its own
SHARDS = 32


@dataclass(slots=True)
class CacheEntry:
    """A parsed file, and the checked article built from it at the last load (if any)."""

    size: int
    mtime_ns: int
    parsed: ParsedFile
    finished: Article | None = None

    def __reduce__(self) -> tuple[type, tuple[int, int, ParsedFile, Article | None]]:
        # Constructor arguments load faster than slot state (see PickleByArguments).
        return CacheEntry, (self.size, self.mtime_ns, self.parsed, self.finished)


@dataclass(slots=True)
class ContentCache:
    """What one load leaves for the next (mutable while a load runs, then written).

    ``tokens`` maps a shard number to the token of the shard file the entries were read
    from (or last written to); a shard absent from it must be written.
    """

    key: str
    articles: dict[str, CacheEntry] = field(default_factory=dict)
    tokens: dict[int, str] = field(default_factory=dict)


def cache_key(settings_repr: str) -> str:
    """Everything besides a file's own stat that a cached parse depends on."""
    return f"{CACHE_FORMAT}|{__version__}|{settings_repr}"


def shard_of(source: str) -> int:
    """The shard that holds the entry of ``source`` (stable across runs and machines)."""
    return zlib.crc32(source.encode()) % SHARDS


def _shard_path(path: Path, shard: int) -> Path:
    return path.with_name(f"{path.stem}-{shard:02d}{path.suffix}")


def _load(path: Path) -> Any:
    with path.open("rb") as handle:
        # Our own file in the site's cache folder (see the module docstring).
        return pickle.load(handle)  # noqa: S301


def read_cache(path: Path, key: str) -> ContentCache:
    """The cache at ``path`` if it matches ``key``; otherwise an empty one. Never raises."""
    try:
        index = _load(path)
        if not (isinstance(index, tuple) and len(index) == 3 and index[:2] == ("index", key)):
            log.info("content cache %s is stale or from another version; ignoring it", path)
            return ContentCache(key)
        cache = ContentCache(key)
        for shard, token in dict(index[2]).items():
            try:
                stored_token, entries = _load(_shard_path(path, shard))
            except FileNotFoundError:
                continue
            if stored_token == token and isinstance(entries, dict):
                cache.articles.update(entries)
                cache.tokens[shard] = token
        return cache
    except FileNotFoundError:
        return ContentCache(key)
    except Exception as exc:  # a corrupt cache must never stop a build
        log.warning("content cache %s is unreadable (%s); ignoring it", path, exc)
        return ContentCache(key)


def _dump(path: Path, data: object) -> None:
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_cache(path: Path, cache: ContentCache, changed: Iterable[int] | None = None) -> None:
    """Write ``cache`` to ``path``: the ``changed`` shards (all if None), then the index.

    Shards not in ``changed`` keep their files when ``cache.tokens`` vouches for them.
    Failures are logged, never raised.
    """
    shards: dict[int, dict[str, CacheEntry]] = {}
    for source, entry in cache.articles.items():
        shards.setdefault(shard_of(source), {})[source] = entry
    rewrite = set(shards) if changed is None else set(changed)
    rewrite |= set(shards) - set(cache.tokens)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tokens: dict[int, str] = {}
        for shard, entries in sorted(shards.items()):
            if shard in rewrite:
                token = secrets.token_hex(8)
                _dump(_shard_path(path, shard), (token, entries))
                tokens[shard] = token
            else:
                tokens[shard] = cache.tokens[shard]
        _dump(path, ("index", cache.key, tokens))
        cache.tokens = tokens
        for shard in set(range(SHARDS)) - set(shards):
            _shard_path(path, shard).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("could not write the content cache %s: %s", path, exc)
