"""Bundles: one release (or the part that changed since an older one) in one file.

Format ``tamizdat-bundle/2``: a ZIP archive, chosen over tar because its central directory
gives random access — a verifier reads the metadata and then only the files it checks,
without unpacking — and because every phone and desktop can open it. Unzipped, it is the
browsable site. The ZIP is in the one canonical form of :mod:`tamizdat.channels.zipform`
(sorted entries, fixed timestamp 1980-01-01 00:00, mode 0644, no extra fields, no comment,
nothing between or around the entries), with one compression rule (deflate, except formats
that are already compressed, which are stored), so the same release gives byte-identical
bundles, and every extractor — Info-ZIP ``unzip``, Python ``zipfile``, a streaming reader
walking local headers — unpacks exactly the files the verifier checked.

Contents (the mirror layout, each file once):
  ``<natural path>``                          every signed file of the release at its own
                                              path (``en/news/…/index.html``), or with
                                              ``since`` only those that release lacked
  ``.well-known/tamizdat/metadata/…``         the root chain, timestamp, the release's
                                              snapshot and targets roles (with ``since``
                                              only those release ``since`` lacked)
  ``.well-known/tamizdat/bundle.json``        unsigned hints: format, release, ``since``
                                              (the only unsigned entry a bundle we write
                                              holds: a JSON object of exactly these keys,
                                              at most 4 KiB, checked on opening; nothing
                                              trusts it — the release shown is the
                                              verified one)
The by-hash view is not stored: :class:`BundleSource` serves ``targets/<dir>/<sha>.<name>``
from the entry ``<dir>/<name>``. The hash in the name comes from the signed metadata the
reader or verifier already trusts, and every caller checks the bytes against it, so a
bundle whose file differs from its metadata is refused as tampered, naming the file. (By-hash
entries, as written by format 1, are still read.)

Invariant: :func:`read_bundle_safely` returns only for a file in the canonical form
(:func:`tamizdat.channels.zipread.validate_entries`: one name per entry, agreeing
everywhere; entries tiling the file exactly; names safe and distinct on every file system;
limits) whose names fit the layout (strict shapes under ``.well-known/tamizdat``, no
desktop litter: a bundle is written whole by tamizdat, never by a desktop) and whose
``bundle.json``, if any, is well formed — before anything is returned, shown or written.
Entries are read with their local header, size and CRC checked again.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from tamizdat.channels.base import ChannelReport, ChannelRequest, ChannelStage
from tamizdat.channels.zipform import BundleLimits, ZipEntry
from tamizdat.channels.zipread import read_entry, refuse, validate_entries
from tamizdat.channels.zipwrite import CanonicalZipWriter
from tamizdat.errors import BundleError, OversizeError, UnsafeFileError, UserError
from tamizdat.files import open_regular
from tamizdat.layout import METADATA_DIR, TARGETS_DIR, WELL_KNOWN
from tamizdat.release.listing import DirLayout, Layout, natural_path_of, read_listing
from tamizdat.transport.sources import MissingFileError
from tamizdat.trust.verify.unsigned import OS_LITTER

__all__ = [
    "BUNDLE_JSON",
    "FORMAT",
    "BundleChannel",
    "BundleIndex",
    "BundleLimits",
    "BundleSource",
    "open_bundle",
    "read_bundle_safely",
    "write_bundle",
]

BUNDLE_JSON = f"{WELL_KNOWN}/bundle.json"
FORMAT = "tamizdat-bundle/2"
_FORMATS = ("tamizdat-bundle/1", FORMAT)
_INFO_MAX_BYTES = 4096
_METADATA_NAME = re.compile(r"^(?:[1-9][0-9]{0,9}\.[A-Za-z0-9][A-Za-z0-9._-]*|timestamp)\.json$")
# Formats that are compressed already: deflating them again costs time and saves nothing.
_STORED = re.compile(
    r"\.(?:png|jpe?g|webp|avif|gif|gz|br|xz|bz2|zst|zip|zim|woff2?|mp[34]|m4a|webm|ogg|opus)$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class BundleIndex:
    """The validated entries of a bundle: name → entry, and format-1 by-hash entries by
    the natural path they hold."""

    path: Path
    entries: dict[str, ZipEntry]
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
        BundleError: a signed path cannot be a bundle entry (a name some file system reads
            differently, two names one case-insensitive system merges) or breaks a limit.
    """
    layout: Layout = DirLayout(release) if isinstance(release, Path) else release
    version, metadata, files = _contents(layout, since_version)
    info = {"format": FORMAT, "release": version, "since": since_version}
    sources = {BUNDLE_JSON: "", **{m: m for m in metadata}, **files}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            writer = CanonicalZipWriter(raw, str(out_path))
            for name in sorted(sources):
                problem = _layout_problem(name)
                if problem is not None:
                    raise BundleError(f"cannot write this bundle: {problem}", where=name)
                data = (
                    json.dumps(info, sort_keys=True).encode()
                    if name == BUNDLE_JSON
                    else _read_listed(layout, sources[name])
                )
                writer.add(name, data, deflate=_STORED.search(name) is None)
            writer.finish()
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


def _read_listed(layout: Layout, path: str) -> bytes:
    """A file the release's metadata names.

    Raises:
        UserError: it is not there (the release is damaged: sign again, or restore it).
    """
    try:
        return layout.read(path)
    except FileNotFoundError:
        raise UserError(
            "the release's metadata names this file, but it is missing",
            where=path,
            hint="run 'tamizdat sign' again, or restore the release from a mirror",
        ) from None


def _layout_problem(name: str) -> str | None:
    """Why ``name`` cannot be an entry of a bundle's layout, or None: strict shapes inside
    ``.well-known/tamizdat``; no desktop litter (a bundle is written whole by tamizdat, so
    litter means someone repacked it)."""
    if name.startswith(METADATA_DIR + "/"):
        if not _METADATA_NAME.match(name[len(METADATA_DIR) + 1 :]):
            return "not a metadata file name (N.role.json)"
    elif name.startswith(TARGETS_DIR + "/") and natural_path_of(name) is None:
        return f"not a by-hash object name under {TARGETS_DIR}/"
    elif name == WELL_KNOWN:
        return f"{WELL_KNOWN} must be a folder"
    if posixpath.basename(name) in OS_LITTER:
        return "desktop litter: a bundle holds only what tamizdat wrote"
    return None


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
        problem = _layout_problem(name)
        if problem is not None:
            raise refuse(path, name, problem)
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
    path: Path, entries: dict[str, ZipEntry], limits: BundleLimits
) -> tuple[int | None, int | None]:
    """``release`` and ``since`` from ``bundle.json``, which must be exactly what we write."""
    if BUNDLE_JSON not in entries:
        return None, None
    with BundleSource(BundleIndex(path, entries, {}, None, None), limits) as source:
        try:
            data = source.fetch(BUNDLE_JSON, _INFO_MAX_BYTES)
        except OversizeError:
            raise refuse(path, BUNDLE_JSON, f"more than {_INFO_MAX_BYTES} bytes") from None
    try:
        info = json.loads(data)
    except ValueError:
        info = None
    if not isinstance(info, dict) or set(info) != {"format", "release", "since"}:
        raise refuse(
            path, BUNDLE_JSON, "expected a JSON object of format, release and since"
        ) from None
    release, since = info["release"], info["since"]
    if (
        info["format"] not in _FORMATS
        or not _is_version(release)
        or not (since is None or _is_version(since))
    ):
        raise refuse(
            path,
            BUNDLE_JSON,
            f"expected format {FORMAT!r}, release and since as versions, found {info!r:.200}",
        )
    return release, since


def _is_version(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


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
        if entry.size > max_length:
            raise OversizeError(
                f"expected at most {max_length} bytes, the bundle declares {entry.size}",
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


class BundleChannel:
    """The ``bundle`` channel: the signed release (or what changed since ``options["since"]``)
    as one canonical ZIP file, for USB sticks and messengers."""

    name = "bundle"
    stage: ChannelStage = "export"

    def deliver(self, request: ChannelRequest) -> ChannelReport:
        """Write the bundle to ``request.output`` (see :func:`write_bundle`).

        Raises:
            UserError: no output, or the release is unreadable. BundleError: a signed path
            cannot be a bundle entry.
        """
        out = request.require_output(self.name)
        since = request.options.get("since")
        counts = write_bundle(request.require_release(), out, since_version=since)
        return ChannelReport(
            channel=self.name,
            release=counts["release"],
            outputs=(str(out),),
            counts={k: v for k, v in counts.items() if k != "release"},
        )
