"""The content cache: parsed articles and static-file hashes from the previous load.

Invariant: an entry is used only while its file's (site-relative path, size, mtime_ns) are
unchanged and the cache was written by the same cache format, tamizdat version and parse
settings; anything else (missing, corrupt, old) is ignored and the files are parsed again.
The file is written atomically, so a crash never leaves a half-written cache behind.

The cache lives in the site's own ``cache_dir`` and is written only by tamizdat, with the
same trust as the site's files; it is never read from a mirror or a bundle.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tamizdat import __version__
from tamizdat.content.article import ParsedFile
from tamizdat.content.model import Article

__all__ = ["CACHE_FORMAT", "CACHE_NAME", "CacheEntry", "ContentCache", "read_cache", "write_cache"]

log = logging.getLogger(__name__)

CACHE_NAME = "content.pickle"
CACHE_FORMAT = 1


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
    """What one load leaves for the next (mutable while a load runs, then written)."""

    key: str
    articles: dict[str, CacheEntry] = field(default_factory=dict)
    static: dict[str, tuple[int, int, str]] = field(default_factory=dict)


def cache_key(settings_repr: str) -> str:
    """Everything besides a file's own stat that a cached parse depends on."""
    return f"{CACHE_FORMAT}|{__version__}|{settings_repr}"


def read_cache(path: Path, key: str) -> ContentCache:
    """The cache at ``path`` if it matches ``key``; otherwise an empty one. Never raises."""
    try:
        with path.open("rb") as handle:
            # Our own file in the site's cache folder (see the module docstring).
            data = pickle.load(handle)  # noqa: S301
        if not isinstance(data, ContentCache) or data.key != key:
            log.info("content cache %s is stale or from another version; ignoring it", path)
            return ContentCache(key)
        return data
    except FileNotFoundError:
        return ContentCache(key)
    except Exception as exc:  # a corrupt cache must never stop a build
        log.warning("content cache %s is unreadable (%s); ignoring it", path, exc)
        return ContentCache(key)


def write_cache(path: Path, cache: ContentCache) -> None:
    """Write ``cache`` to ``path`` atomically; failures are logged, never raised."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(cache, handle, protocol=pickle.HIGHEST_PROTOCOL)
            Path(temp).replace(path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        log.warning("could not write the content cache %s: %s", path, exc)
