"""The one layout everywhere: a release directory, a mirror, a bundle, a reader's store.

::

    /…natural paths…                           the browsable site (no JavaScript needed)
    /.well-known/tamizdat/metadata/            N.root.json, N.targets.json, N.<role>.json,
                                               timestamp.json (TUF consistent snapshots)
    /.well-known/tamizdat/targets/<dir>/<sha256>.<name>
                                               by-hash immutable copy of target <dir>/<name>
    /.well-known/tamizdat/mirrors.json         the signed mirror list (itself a target)
    /.well-known/tamizdat/log.json             the publication log's head (a signed target)
    /.well-known/tamizdat/log/<index>.json     log entry <index>, immutable (a signed target)
    /.well-known/tamizdat/log/<index>.paths.json   its path lists, when too big to inline

Target paths are the natural paths, relative, POSIX, without a leading slash. A verifying
client fetches ``TARGETS_DIR/<dir>/<sha256>.<name>``; a plain browser fetches ``<dir>/<name>``.
"""

from __future__ import annotations

import posixpath

__all__ = [
    "BYPASS_MIRRORS_JSON",
    "LOG_DIR",
    "LOG_JSON",
    "METADATA_DIR",
    "MIRRORS_JSON",
    "TARGETS_DIR",
    "WELL_KNOWN",
    "by_hash_path",
    "log_entry_path",
    "log_paths_path",
    "metadata_path",
]

WELL_KNOWN = ".well-known/tamizdat"
METADATA_DIR = f"{WELL_KNOWN}/metadata"
TARGETS_DIR = f"{WELL_KNOWN}/targets"
MIRRORS_JSON = f"{WELL_KNOWN}/mirrors.json"
BYPASS_MIRRORS_JSON = f"{WELL_KNOWN}/mirrors-bypass-v2.json"
LOG_JSON = f"{WELL_KNOWN}/log.json"
LOG_DIR = f"{WELL_KNOWN}/log"


def by_hash_path(target_path: str, sha256_hex: str) -> str:
    """Where the by-hash copy of ``target_path`` lives (TUF §5.7.3 consistent snapshots)."""
    directory, name = posixpath.split(target_path)
    prefix = f"{TARGETS_DIR}/{directory}/" if directory else f"{TARGETS_DIR}/"
    return f"{prefix}{sha256_hex}.{name}"


def metadata_path(role: str, version: int | None) -> str:
    """``METADATA_DIR/N.role.json``, or ``METADATA_DIR/role.json`` when ``version`` is None."""
    name = f"{version}.{role}.json" if version is not None else f"{role}.json"
    return f"{METADATA_DIR}/{name}"


def log_entry_path(index: int) -> str:
    """``LOG_DIR/<index>.json``: entry ``index`` of the publication log."""
    return f"{LOG_DIR}/{index}.json"


def log_paths_path(index: int) -> str:
    """``LOG_DIR/<index>.paths.json``: the path lists of entry ``index`` (when not inline)."""
    return f"{LOG_DIR}/{index}.paths.json"
