"""Which push phase a release file belongs to, and the HTTP headers it is stored with.

The phase order is the atomicity argument (TUF §5.2 seen from the mirror's side): a
verifying client starts at ``timestamp.json``, so every object the new timestamp reaches —
by-hash targets, then versioned metadata — is on the mirror before the timestamp is
replaced, and a client reading mid-publish sees the old release or the new one.
"""

from __future__ import annotations

import enum
import mimetypes
import posixpath
import re

from tamizdat.layout import METADATA_DIR, TARGETS_DIR, WELL_KNOWN

__all__ = [
    "PUBLISH_STATE",
    "TEMP_PREFIX",
    "Phase",
    "cache_control",
    "classify",
    "content_type",
    "served_types",
]

PUBLISH_STATE = f"{WELL_KNOWN}/publish-state.json"
TEMP_PREFIX = ".tamizdat-tmp-"
TIMESTAMP = f"{METADATA_DIR}/timestamp.json"
_VERSIONED = re.compile(r"^[0-9]+\.[^/]+\.json$")


class Phase(enum.IntEnum):
    """Push phases, uploaded strictly in this order (the timestamp last)."""

    BY_HASH = 1
    NATURAL = 2
    VERSIONED_METADATA = 3
    UNVERSIONED_METADATA = 4
    STATE = 5
    TIMESTAMP = 6


def classify(path: str) -> Phase:
    """The phase of a release-relative POSIX path."""
    if path.startswith(f"{TARGETS_DIR}/"):
        return Phase.BY_HASH
    if path == TIMESTAMP:
        return Phase.TIMESTAMP
    if path == PUBLISH_STATE:
        return Phase.STATE
    if path.startswith(f"{METADATA_DIR}/"):
        name = path[len(METADATA_DIR) + 1 :]
        return Phase.VERSIONED_METADATA if _VERSIONED.match(name) else Phase.UNVERSIONED_METADATA
    return Phase.NATURAL


_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".woff2": "font/woff2",
    ".zim": "application/x-zim",
}


# Media a site commonly carries, beside the types above: a web server's own table may lack
# or mislabel them, so the generated server configuration names them too (fixed here, not
# taken from this machine's mime.types, so the configuration is the same everywhere).
_MEDIA = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".pdf": "application/pdf",
    ".mp3": "audio/mpeg",
    ".m4a": "audio/mp4",
    ".ogg": "audio/ogg",
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".zip": "application/zip",
    ".woff": "font/woff",
    ".epub": "application/epub+zip",
}


def served_types() -> dict[str, str]:
    """Extension → Content-Type for every type a mirror should label (web server config)."""
    return dict(sorted({**_MEDIA, **_TYPES}.items()))


def content_type(path: str) -> str:
    """Content-Type from the extension; by-hash copies keep their target's extension."""
    ext = posixpath.splitext(path)[1].lower()
    if ext in _TYPES:
        return _TYPES[ext]
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "application/octet-stream"


# Why these lifetimes: a by-hash object never changes (its name is its hash); a versioned
# metadata file never changes either; natural paths change every release; the timestamp and
# the unversioned root are what a client polls for news, so caches must not hold them.
IMMUTABLE = "public, max-age=31536000, immutable"
NATURAL_CACHE = "public, max-age=300"
VERSIONED_CACHE = "public, max-age=86400"
POLLED_CACHE = "no-cache, max-age=0"


def cache_control(path: str) -> str:
    """Cache-Control for a release-relative path."""
    phase = classify(path)
    if phase is Phase.BY_HASH:
        return IMMUTABLE
    if phase is Phase.VERSIONED_METADATA:
        return VERSIONED_CACHE
    if phase in (Phase.TIMESTAMP, Phase.UNVERSIONED_METADATA, Phase.STATE):
        return POLLED_CACHE
    return NATURAL_CACHE
