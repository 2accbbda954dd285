"""Finding files: content sources, static files, and the images articles refer to.

Invariant: every path handed on is a POSIX string relative to the site root, and no ref in
an article can reach a file outside the site root or the configured static folders. A
root-absolute ref (``/images/x.jpg``) is looked up in each static folder in configured order
(Hugo's ``static/images/x.jpg``); a relative ref is relative to the article's folder (page
bundles).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tamizdat.content.body import is_external, ref_path
from tamizdat.content.model import StaticFile
from tamizdat.errors import ContentError, quoted
from tamizdat.files import resolve_inside, sha256_file, walk_regular
from tamizdat.stat_cache import StatCache

if TYPE_CHECKING:
    from tamizdat.config import Config

__all__ = [
    "FileStat",
    "list_static_files",
    "locate_asset",
    "looked_in",
    "resolve_asset",
    "site_file",
    "site_relative",
    "walk_files",
]

_RESERVED = ".well-known/tamizdat/"  # the trust layer's namespace (see tamizdat.layout)


@dataclass(frozen=True, slots=True)
class FileStat:
    """A file found on disk: site-relative path, path inside the walked folder, absolute
    path, and what the caches key on: size and mtime, and the full ``stamp`` (size, mtime,
    inode, ctime) of :class:`~tamizdat.stat_cache.StatCache`."""

    source: str
    inner: str
    path: str
    size: int
    mtime_ns: int
    stamp: tuple[int, int, int, int] = (0, 0, 0, 0)


def site_relative(root: Path, path: Path) -> str:
    """``path`` relative to the site root, POSIX (``../`` when it lies outside)."""
    return Path(os.path.relpath(path, root)).as_posix()


def _hidden(name: str, is_dir: bool) -> bool:
    """Hidden files are not part of the site; ``.well-known/`` (a real folder) is."""
    return name.startswith(".") and (name != ".well-known" or not is_dir)


LINK_HINT = (
    "replace the link with the file itself, or allow links that stay inside the site "
    "with [build] follow_links_inside_site = true"
)


def walk_files(root: Path, folder: Path, links_inside: Path | None = None) -> Iterator[FileStat]:
    """Every non-hidden regular file under ``folder``, in sorted (deterministic) order.

    Links are refused unless ``links_inside`` (the site root, by the config's opt-in) is
    given and they resolve inside it; see :func:`tamizdat.files.walk_regular`.

    Raises:
        UnsafeFileError: a link, FIFO, socket or device file; names it site-relative.
    """
    if not folder.is_dir():
        return
    prefix = site_relative(root, folder)
    prefix = "" if prefix == "." else prefix + "/"
    for found in walk_regular(
        folder, where=prefix.rstrip("/"), links_inside=links_inside, skip=_hidden, hint=LINK_HINT
    ):
        rel = found.relative
        stamp = (found.size, found.mtime_ns, found.inode, found.ctime_ns)
        yield FileStat(prefix + rel, rel, found.path, found.size, found.mtime_ns, stamp)


def list_static_files(
    root: Path,
    static_dirs: tuple[Path, ...],
    old: StatCache,
    new: StatCache,
    links_inside: Path | None = None,
) -> tuple[StaticFile, ...]:
    """Every file under the static folders, hashed (reusing ``old``'s digest while a file's
    stamp is unchanged).

    Records in ``new`` the hashes used. Raises:
        ContentError: two static folders produce the same output path (names both files),
            or a file would land in the reserved ``.well-known/tamizdat/`` namespace.
        UnsafeFileError: a link (unless allowed), FIFO, socket or device file.
    """
    by_output: dict[str, StaticFile] = {}
    for folder in static_dirs:
        for found in walk_files(root, folder, links_inside):
            output = found.inner
            if output.startswith(_RESERVED):
                raise ContentError(
                    f"static file would overwrite tamizdat's own {_RESERVED} files",
                    where=found.source,
                    hint="move it elsewhere; that folder holds the signed metadata",
                )
            sha = old.digest(found.source, found.stamp) or sha256_file(found.path)
            new.record(found.source, found.stamp, sha)
            if output in by_output:
                raise ContentError(
                    f"two static files produce the same output '{output}': "
                    f"{by_output[output].source} and {found.source}",
                    where=found.source,
                    hint="rename or remove one of them",
                )
            by_output[output] = StaticFile(found.source, output, sha)
    return tuple(sorted(by_output.values(), key=lambda f: f.output))


def site_file(config: Config, source: str) -> Path:
    """The file to open for site-relative ``source``: under the site root, or where its
    link leads when the config allows links inside the site.

    Raises:
        UnsafeFileError: an allowed link that leads out of the site or nowhere.
    """
    path = config.root / source
    inside = config.build.links_inside
    if inside is None or not path.is_symlink():
        return path
    return Path(resolve_inside(str(path), str(inside.resolve()), where=source, hint=LINK_HINT))


def _inside(path: str) -> bool:
    return path != ".." and not path.startswith("../") and not path.startswith("/")


def locate_asset(
    ref: str, article_source: str, static_dirs: tuple[str, ...], exists: Callable[[str], bool]
) -> str | None:
    """Where local ``ref`` points, relative to the site root, or ``None`` if nothing is there.

    ``static_dirs`` are site-relative; ``exists`` says whether a site-relative file exists.
    Raises:
        ContentError: the ref climbs out of the site root or a static folder (no line:
            callers add it).
    """
    path = ref_path(ref)
    if path.startswith("/"):
        inner = posixpath.normpath(path.lstrip("/"))
        if not _inside(inner):
            raise ContentError(f"image {quoted(ref)} points outside the static folders")
        for folder in static_dirs:
            candidate = posixpath.normpath(posixpath.join(folder, inner))
            if exists(candidate):
                return candidate
        # Also accept a ref that names a static folder itself ("/media/x.jpg").
        if any(inner.startswith(folder + "/") for folder in static_dirs) and exists(inner):
            return inner
        return None
    candidate = posixpath.normpath(posixpath.join(posixpath.dirname(article_source), path))
    if not _inside(candidate):
        raise ContentError(f"image {quoted(ref)} points outside the site folder")
    return candidate if exists(candidate) else None


def resolve_asset(config: Config, article_source: str, ref: str) -> str | None:
    """Resolve an image ``ref`` written in ``article_source`` to a file relative to the site root.

    Returns ``None`` for external refs (``https:``, ``//host``, ``data:``), which are left to
    the renderer to refuse. Raises:
        ContentError: the file does not exist, or the ref climbs out of the site;
            ``where`` names the article.
    """
    if is_external(ref):
        return None
    root = config.root
    statics = tuple(site_relative(root, folder) for folder in config.build.static_dirs)
    try:
        found = locate_asset(ref, article_source, statics, lambda p: (root / p).is_file())
    except ContentError as exc:
        raise ContentError(exc.message, where=article_source) from None
    if found is None:
        raise ContentError(
            f"image {quoted(ref)} not found (looked in {looked_in(ref, article_source, statics)})",
            where=article_source,
        )
    return found


def looked_in(ref: str, article_source: str, static_dirs: tuple[str, ...]) -> str:
    """Where ``locate_asset`` looked for ``ref``, for error messages."""
    path = ref_path(ref)
    if path.startswith("/"):
        return ", ".join(f"{folder}/" for folder in static_dirs) or "no static folder"
    return (posixpath.dirname(article_source) or ".") + "/"
