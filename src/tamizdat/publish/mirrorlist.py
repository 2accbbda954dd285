"""The signed mirror lists a release carries, as ``path → bytes`` for the signer.

Invariant: every list is deterministic JSON (sorted keys, mirrors in config order), so an
unchanged mirror set keeps its hash and is never re-uploaded; retired and disabled mirrors
never appear; a per-tag list holds only the mirrors carrying that tag, so one leaked
channel list does not burn every mirror.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from tamizdat.config import Config
from tamizdat.config.mirrors import MirrorSettings
from tamizdat.layout import BYPASS_MIRRORS_JSON, MIRRORS_JSON, WELL_KNOWN
from tamizdat.publish.stores.registry import BUILTIN_STORES

__all__ = [
    "active_mirrors",
    "build_mirror_lists",
    "mirror_list_files",
    "mirror_type",
    "tag_list_path",
]

_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


def active_mirrors(mirrors: Sequence[MirrorSettings]) -> tuple[MirrorSettings, ...]:
    """Mirrors readers may be told about: enabled, not retired, with a public URL."""
    return tuple(m for m in mirrors if m.enabled and not m.retired and m.public_url)


def mirror_type(mirror: MirrorSettings) -> str:
    """The kind of storage behind the mirror (``s3``, ``sftp``, ``webdav``, ``file``), as the
    store registry names it; a scheme no kind handles is reported as it is."""
    scheme = urlsplit(mirror.url).scheme
    kind = BUILTIN_STORES.find(scheme)
    return kind.name if kind is not None else scheme


def tag_list_path(tag: str) -> str:
    """``.well-known/tamizdat/mirrors-TAG.json``."""
    return f"{WELL_KNOWN}/mirrors-{tag}.json"


def _dump(doc: Any) -> bytes:
    return (json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


def _entry(mirror: MirrorSettings) -> dict[str, Any]:
    return {
        "name": mirror.name,
        "public_url": mirror.public_url,
        "type": mirror_type(mirror),
        "tags": list(mirror.tags),
        "created": mirror.created,
        "updated": mirror.updated or mirror.created,
    }


def _bypass_v2(site_url: str, mirrors: Sequence[MirrorSettings]) -> dict[str, Any]:
    """Bypass Censorship's mirror-list v2 format, read by existing circumvention tools."""
    main_domain = urlsplit(site_url).hostname or site_url
    alternatives = [
        {
            "proto": urlsplit(m.public_url).scheme,
            "type": "mirror",
            "url": m.public_url,
            "created_at": m.created,
            "updated_at": m.updated or m.created,
        }
        for m in mirrors
    ]
    site = {"main_domain": main_domain, "available_alternatives": alternatives}
    return {"version": "2.0", "sites": [site]}


def mirror_list_files(config: Config) -> dict[str, bytes]:
    """The mirror lists for ``config``'s release (the signer adds them as targets)."""
    return build_mirror_lists(config.site.base_url, config.mirrors)


def build_mirror_lists(site_url: str, mirrors: Sequence[MirrorSettings]) -> dict[str, bytes]:
    """Every mirror-list file of a release: the full list, the Bypass v2 list, one per tag.

    Tags that are not safe file names are skipped (config validation keeps them simple).
    Unlisted mirrors (``listed = false``) are in none of them: every mirror carries these
    files, so a censor who reads one list from any mirror would learn them all.
    """
    active = [m for m in active_mirrors(mirrors) if m.listed]
    files = {
        MIRRORS_JSON: _dump({"version": 1, "mirrors": [_entry(m) for m in active]}),
        BYPASS_MIRRORS_JSON: _dump(_bypass_v2(site_url, active)),
    }
    tags = sorted({tag for m in active for tag in m.tags if _TAG.match(tag)})
    for tag in tags:
        subset = [_entry(m) for m in active if tag in m.tags]
        files[tag_list_path(tag)] = _dump({"version": 1, "tag": tag, "mirrors": subset})
    return files
