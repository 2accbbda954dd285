"""Bundles: one release (or the part that changed since an older one) in one file.

Format ``tamizdat-bundle/2``: a ZIP archive, chosen over tar because its central directory
gives random access — a verifier reads the metadata and then only the files it checks,
without unpacking — and because every phone and desktop can open it. Unzipped, it is the
browsable site. Determinism: entries are sorted by name, carry the fixed timestamp
1980-01-01 00:00, mode 0644, and one compression rule (deflate, except formats that are
already compressed, which are stored), so the same release gives byte-identical bundles.

Contents (the mirror layout, each file once):
  ``<natural path>``                          every signed file of the release at its own
                                              path (``en/news/…/index.html``), or with
                                              ``since`` only those that release lacked
  ``.well-known/tamizdat/metadata/…``         the root chain, timestamp, the release's
                                              snapshot and targets roles (with ``since``
                                              only those release ``since`` lacked)
  ``.well-known/tamizdat/bundle.json``        unsigned hints: format, release, ``since``
The by-hash view is not stored: :class:`BundleSource` serves ``targets/<dir>/<sha>.<name>``
from the entry ``<dir>/<name>``. The hash in the name comes from the signed metadata the
reader or verifier already trusts, and every caller checks the bytes against it, so a
bundle whose file differs from its metadata is refused as tampered, naming the file. (By-hash
entries, as written by format 1, are still read.)

Invariant: :func:`read_bundle_safely` inspects the central directory and refuses hostile
bundles (traversal, absolute names, links and special files, duplicates, bombs, absurd entry
counts, truncation, overlapping entries, malformed names under ``.well-known/tamizdat``)
before any byte of content is read or written anywhere; :mod:`tamizdat.channels.zipread`
then reads each entry with its declared size and CRC enforced.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tamizdat.channels.zipread import BundleLimits, read_entry, refuse, validate_entries
from tamizdat.errors import BundleError, OversizeError, UnsafeFileError
from tamizdat.files import open_regular
from tamizdat.layout import WELL_KNOWN
from tamizdat.reader.listing import DirLayout, Layout, natural_path_of, read_listing
from tamizdat.trust.sources import MissingFileError

__all__ = [
    "BUNDLE_JSON",
    "FORMAT",
    "BundleIndex",
    "BundleLimits",
    "BundleSource",
    "open_bundle",
    "read_bundle_safely",
    "write_bundle",
]

BUNDLE_JSON = f"{WELL_KNOWN}/bundle.json"
FORMAT = "tamizdat-bundle/2"
_EPOCH = (1980, 1, 1, 0, 0, 0)
# Formats that are compressed already: deflating them again costs time and saves nothing.
_STORED = re.compile(
    r"\.(?:png|jpe?g|webp|avif|gif|gz|br|xz|bz2|zst|zip|zim|woff2?|mp[34]|m4a|webm|ogg|opus)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class BundleIndex:
    """The validated entries of a bundle: name → ZipInfo, and format-1 by-hash entries by
    the natural path they hold."""

    path: Path
    entries: dict[str, zipfile.ZipInfo]
    natural: dict[str, str]
    release: int | None
    since: int | None


def _contents(
    layout: Layout, since_version: int | None
) -> tuple[int, tuple[str, ...], dict[str, str]]:
    """The release version, its metadata files, and natural path → by-hash path to carry."""
    listing = read_listing(layout)
    old: set[tuple[str, str]] = set()
    held: set[str] = set()
    if since_version is not None:
        before = read_listing(layout, snapshot_version=since_version)
        old = {(t.path, t.sha256) for t in before.targets}
        # A reader importing a delta holds release ``since``: its role files (named by
        # version, so unchanged ones keep their name) need not travel again. Roots always do.
        held = {m for m in before.metadata_files if not m.endswith(".root.json")}
    files = {t.path: t.by_hash for t in listing.targets if (t.path, t.sha256) not in old}
    metadata = tuple(m for m in listing.metadata_files if m not in held)
    return listing.version, metadata, files


def write_bundle(
    release: Path | Layout, out_path: Path, *, since_version: int | None = None
) -> dict[str, int]:
    """Write the current release of ``release`` (a release dir or a store) to ``out_path``.

    Each signed file is read from its by-hash copy (the bytes its metadata names) and stored
    at its natural path. Returns counts: ``metadata``, ``objects`` (signed files carried),
    ``bytes`` (size of the file written) and ``release``.

    Raises:
        UserError: the release's metadata is missing or unparsable, or ``since_version``
            names a release whose snapshot is not there.
    """
    layout: Layout = DirLayout(release) if isinstance(release, Path) else release
    version, metadata, files = _contents(layout, since_version)
    info = {"format": FORMAT, "release": version, "since": since_version}
    sources = {BUNDLE_JSON: "", **{m: m for m in metadata}, **files}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
            for name in sorted(sources):
                data = (
                    json.dumps(info, sort_keys=True).encode()
                    if name == BUNDLE_JSON
                    else layout.read(sources[name])
                )
                # Level 9: a bundle is written once and carried many times.
                archive.writestr(_zipinfo(name), data, compresslevel=9)
        Path(tmp_name).replace(out_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return {
        "metadata": len(metadata),
        "objects": len(files),
        "bytes": out_path.stat().st_size,
        "release": version,
    }


def _zipinfo(name: str) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=_EPOCH)
    entry.create_system = 3  # Unix, so the mode below is honoured by unzip tools
    entry.external_attr = (stat.S_IFREG | 0o644) << 16
    stored = _STORED.search(name) is not None
    entry.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    return entry


def read_bundle_safely(path: Path, limits: BundleLimits | None = None) -> BundleIndex:
    """Open ``path`` and validate its directory; nothing is extracted or written.

    Raises:
        BundleError: the file is missing, truncated or not a ZIP, or an entry is hostile;
            ``where`` names the bundle and the entry.
    """
    limits = limits or BundleLimits()
    _check_regular(path)
    entries = validate_entries(path, limits)
    natural: dict[str, str] = {}
    for name in entries:
        target = natural_path_of(name)
        # Two objects for one natural path cannot both be current; serve neither by name.
        if target is not None:
            natural[target] = "" if target in natural else name
    release, since = _read_info(path, entries, limits)
    return BundleIndex(path, entries, {k: v for k, v in natural.items() if v}, release, since)


def _check_regular(path: Path) -> None:
    """A bundle must be a regular file (a link the user typed is followed): opening a FIFO
    would block and a device never ends. Missing or unreadable: validation names it."""
    try:
        with open_regular(os.path.realpath(path), where=str(path)):
            pass
    except UnsafeFileError as exc:
        raise BundleError(
            exc.message, where=str(path), hint="give the bundle file itself"
        ) from None
    except OSError:
        pass


def _read_info(
    path: Path, entries: dict[str, zipfile.ZipInfo], limits: BundleLimits
) -> tuple[int | None, int | None]:
    if BUNDLE_JSON not in entries:
        return None, None
    with BundleSource(BundleIndex(path, entries, {}, None, None), limits) as source:
        data = source.fetch(BUNDLE_JSON, 4096)
    try:
        info = json.loads(data)
        release, since = info.get("release"), info.get("since")
    except (ValueError, AttributeError):
        raise refuse(path, BUNDLE_JSON, "not a JSON object") from None
    return (
        release if isinstance(release, int) else None,
        since if isinstance(since, int) else None,
    )


class BundleSource:
    """A validated bundle as a read-only, listable source of layout paths (random access)."""

    remote = False  # Source behaviour flags: a local file, counted as delivered
    wire_bytes = None

    def __init__(self, index: BundleIndex, limits: BundleLimits | None = None) -> None:
        self.index = index
        self.limits = limits or BundleLimits()
        self.name = f"bundle {index.path.name}"
        # One open handle: re-opening the file per entry made verifying a 10,000-file
        # bundle slow. The lock keeps concurrent readers off the shared file position.
        self._handle: BinaryIO | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the bundle file (also done when the source is garbage-collected)."""
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def __del__(self) -> None:
        # Sources are often dropped without close(); an open file would warn when collected.
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.close()

    def __enter__(self) -> BundleSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def release(self) -> int | None:
        return self.index.release

    @property
    def since(self) -> int | None:
        return self.index.since

    def names(self) -> list[str]:
        """Every entry name, sorted."""
        return sorted(self.index.entries)

    def list_files(self) -> Iterator[str]:
        """Every file the bundle holds, by its layout path (the unsigned-file audit)."""
        return iter(self.names())

    def stored_as(self, path: str) -> str | None:
        """The entry that serves layout path ``path``, or None if the bundle has none.

        A by-hash path is served by the natural-path entry it names; a natural path by a
        format-1 by-hash entry. Two paths served by one entry are the same bytes.
        """
        entries = self.index.entries
        if path in entries:
            return path
        natural = natural_path_of(path)
        if natural is not None:
            return natural if natural in entries else None
        return self.index.natural.get(path)

    def exists(self, path: str) -> bool:
        return self.stored_as(path) is not None

    def read(self, path: str) -> bytes:
        """Layout interface: the bytes at ``path`` (FileNotFoundError when absent)."""
        if not self.exists(path):
            raise FileNotFoundError(path)
        return self.fetch(path, self.limits.max_entry_bytes)

    def fetch(self, path: str, max_length: int) -> bytes:
        """The bytes of layout path ``path`` (see :meth:`stored_as`).

        Raises:
            MissingFileError: the bundle holds no such file.
            OversizeError: the entry is longer than ``max_length``.
            BundleError: the entry is corrupt (bad CRC or header, truncated stream).
        """
        name = self.stored_as(path)
        if name is None:
            raise MissingFileError(
                "expected the file in the bundle, found none", where=f"{self.name}: {path}"
            )
        entry = self.index.entries[name]
        if entry.file_size > max_length:
            raise OversizeError(
                f"expected at most {max_length} bytes, the bundle declares {entry.file_size}",
                where=f"{self.name}: {name}",
            )
        with self._lock:
            return read_entry(self.index.path, self._open(), entry)

    def _open(self) -> BinaryIO:
        if self._handle is None:
            self._handle = self.index.path.open("rb")
        return self._handle


def open_bundle(path: Path | str, limits: BundleLimits | None = None) -> BundleSource:
    """Validate ``path`` with :func:`read_bundle_safely` and return it as a source.

    Raises:
        BundleError: as :func:`read_bundle_safely`.
    """
    return BundleSource(read_bundle_safely(Path(path), limits), limits)
