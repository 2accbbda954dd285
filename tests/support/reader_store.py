"""A reader store holding a small committed release, built without any signing or network.

Invariant: the store lives under the given folder; its release is version 1 of publisher
``"ab" * 32``, holding exactly :data:`FILES` and the timestamp metadata :data:`TIMESTAMP`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tamizdat.reader.store import ReleaseInfo, Store, Subscription
from tamizdat.release.listing import TargetEntry
from tamizdat.trust.verify.policy import SeenVersions

__all__ = ["FILES", "FINGERPRINT", "TIMESTAMP", "small_store"]

FINGERPRINT = "ab" * 32
FILES = {
    "index.html": b"<!doctype html><html lang=en><body><p>front page</p></body></html>",
    "articles/a0/index.html": b"<!doctype html><html lang=en><body><p>article zero</p></body></html>",
    "style.css": b"p{color:#111}",
}
TIMESTAMP = b'{"signed": {"_type": "timestamp", "version": 1}}'


def small_store(root: Path, name: str = "news") -> Store:
    """Subscribe ``name`` under ``root`` and commit the release of :data:`FILES`."""
    store = Store.create(Subscription(name, FINGERPRINT, False, ("http://m/",)), root)
    entries = []
    for path, data in FILES.items():
        entry = TargetEntry(path, hashlib.sha256(data).hexdigest(), len(data))
        store.put_object(entry, data)
        entries.append(entry)
    when = "2026-01-01T00:00:00+00:00"
    info = ReleaseInfo(1, 1, FINGERPRINT, when, "2999-01-01T00:00:00+00:00", False, when, "m")
    store.commit({"timestamp.json": TIMESTAMP}, entries, info, SeenVersions(snapshot=1))
    return store
