"""Bundles: one release (or the part that changed since an older one) in one file.

Format: a ZIP archive, chosen over tar because its central directory gives random access —
a verifier reads the metadata and then only the objects it checks, without unpacking — and
because every phone and desktop can open it. Determinism: entries are sorted by name, carry
the fixed timestamp 1980-01-01 00:00, mode 0644, and one compression setting, so the same
release gives byte-identical bundles (a second copy is recognisably the same file).

Contents (all under ``.well-known/tamizdat/``; the mirror layout minus natural paths):
  ``bundle.json``              unsigned hints: format, release version, ``since`` (delta)
  ``metadata/…``               the whole root chain, timestamp, the release's snapshot and
                               targets roles
  ``targets/…/<sha256>.name``  by-hash objects: every target of the release, or with
                               ``since`` only those the release at that version lacked
Natural paths are not stored twice: ``dir/name`` is served from ``targets/dir/<sha>.name``.

Invariant: :func:`read_bundle_safely` inspects the central directory and refuses hostile
bundles (traversal, absolute names, links and special files, duplicates, bombs, absurd entry
counts, truncation, overlapping entries, entries outside the layout) before any byte of
content is read or written anywhere.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tempfile
import threading
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from tamizdat.errors import BundleError, OversizeError
from tamizdat.layout import METADATA_DIR, TARGETS_DIR, WELL_KNOWN
from tamizdat.reader.listing import DirLayout, Layout, natural_path_of, read_listing
from tamizdat.trust.sources import MissingFileError

__all__ = [
    "BUNDLE_JSON",
    "BundleIndex",
    "BundleLimits",
    "BundleSource",
    "open_bundle",
    "read_bundle_safely",
    "write_bundle",
]

BUNDLE_JSON = f"{WELL_KNOWN}/bundle.json"
FORMAT = "tamizdat-bundle/1"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_STORED_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".gz", ".woff2", ".zip", ".zim")
_METADATA_NAME = re.compile(r"^(?:[1-9][0-9]{0,9}\.[A-Za-z0-9][A-Za-z0-9._-]*|timestamp)\.json$")
_LOCAL_HEADER = 30  # fixed part of a ZIP local file header


@dataclass(frozen=True, slots=True)
class BundleLimits:
    """Hard limits for reading a bundle from a stranger (all enforced before extraction)."""

    max_bundle_bytes: int = 8 << 30
    max_entries: int = 200_000
    max_entry_bytes: int = 512 << 20
    max_total_bytes: int = 16 << 30
    max_ratio: int = 200
    ratio_floor_bytes: int = 1 << 20
    max_name_length: int = 1024
    max_metadata_bytes: int = 64 << 20


@dataclass(frozen=True, slots=True)
class BundleIndex:
    """The validated entries of a bundle: name → ZipInfo, plus the natural-path map."""

    path: Path
    entries: dict[str, zipfile.ZipInfo]
    natural: dict[str, str]
    release: int | None
    since: int | None


def write_bundle(
    release: Path | Layout, out_path: Path, *, since_version: int | None = None
) -> dict[str, int]:
    """Write the current release of ``release`` (a release dir or a store) to ``out_path``.

    Returns counts: ``metadata``, ``objects``, ``bytes`` (size of the file written).

    Raises:
        UserError: the release's metadata is missing or unparsable, or ``since_version``
            names a release whose snapshot is not there.
    """
    layout: Layout = DirLayout(release) if isinstance(release, Path) else release
    listing = read_listing(layout)
    skip: set[str] = set()
    if since_version is not None:
        old = read_listing(layout, snapshot_version=since_version)
        skip = {t.by_hash for t in old.targets}
    objects = sorted({t.by_hash for t in listing.targets} - skip)
    info = {"format": FORMAT, "release": listing.version, "since": since_version}
    names = [BUNDLE_JSON, *listing.metadata_files, *objects]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out_path.name}.", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as archive:
            for name in sorted(names):
                data = (
                    json.dumps(info, sort_keys=True).encode()
                    if name == BUNDLE_JSON
                    else layout.read(name)
                )
                archive.writestr(_zipinfo(name), data)
        Path(tmp_name).replace(out_path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return {
        "metadata": len(listing.metadata_files),
        "objects": len(objects),
        "bytes": out_path.stat().st_size,
        "release": listing.version,
    }


def _zipinfo(name: str) -> zipfile.ZipInfo:
    entry = zipfile.ZipInfo(name, date_time=_EPOCH)
    entry.create_system = 3  # Unix, so the mode below is honoured by unzip tools
    entry.external_attr = (stat.S_IFREG | 0o644) << 16
    stored = name.lower().endswith(_STORED_SUFFIXES)
    entry.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    return entry


def _refuse(bundle: Path, entry: str, why: str) -> BundleError:
    return BundleError(
        f"refused hostile or malformed bundle: {why}",
        where=f"{bundle}: {entry}",
        hint="get the bundle again from someone you trust, or sync from a mirror",
    )


def _check_name(bundle: Path, name: str, limits: BundleLimits) -> None:
    if len(name) > limits.max_name_length:
        raise _refuse(bundle, name[:80] + "…", f"name longer than {limits.max_name_length}")
    if "\\" in name or "\x00" in name or re.match(r"^[A-Za-z]:", name):
        raise _refuse(bundle, name, "backslash, NUL or drive letter in the name")
    if name.startswith("/"):
        raise _refuse(bundle, name, "absolute path")
    parts = name.split("/")
    if ".." in parts:
        raise _refuse(bundle, name, "path traversal ('..')")
    if any(part in ("", ".") for part in parts):
        raise _refuse(bundle, name, "empty or '.' path component (or a directory entry)")
    if name == BUNDLE_JSON:
        return
    if name.startswith(METADATA_DIR + "/"):
        if not _METADATA_NAME.match(name[len(METADATA_DIR) + 1 :]):
            raise _refuse(bundle, name, "not a metadata file name (N.role.json)")
        return
    if natural_path_of(name) is None:
        raise _refuse(bundle, name, f"outside the layout ({METADATA_DIR}/ or {TARGETS_DIR}/)")


def _check_entry(bundle: Path, entry: zipfile.ZipInfo, limits: BundleLimits) -> None:
    mode = entry.external_attr >> 16
    # Type bits 0 mean "a file" to most ZIP writers; any other type (link, device, fifo,
    # directory) could escape or hang an extractor.
    if entry.create_system == 3 and stat.S_IFMT(mode) not in (0, stat.S_IFREG):
        raise _refuse(bundle, entry.filename, f"not a regular file (mode {oct(mode)})")
    if entry.flag_bits & 0x1:
        raise _refuse(bundle, entry.filename, "encrypted entry")
    if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _refuse(bundle, entry.filename, f"compression method {entry.compress_type}")
    if entry.file_size > limits.max_entry_bytes:
        raise _refuse(bundle, entry.filename, f"{entry.file_size} bytes unpacked")
    if entry.file_size > limits.ratio_floor_bytes and entry.file_size > limits.max_ratio * max(
        entry.compress_size, 1
    ):
        raise _refuse(
            bundle,
            entry.filename,
            f"decompression bomb (ratio {entry.file_size // max(entry.compress_size, 1)}:1)",
        )


def _check_layout_of_bytes(bundle: Path, infos: list[zipfile.ZipInfo], size: int) -> None:
    """Entries must lie inside the file and must not overlap (overlap is a bomb technique)."""
    end_previous, previous = 0, ""
    for entry in sorted(infos, key=lambda e: e.header_offset):
        if entry.header_offset < end_previous:
            raise _refuse(bundle, entry.filename, f"overlaps entry {previous!r}")
        end = (
            entry.header_offset + _LOCAL_HEADER + len(entry.filename.encode()) + entry.compress_size
        )
        if end > size:
            raise _refuse(bundle, entry.filename, "truncated: data ends past the end of the file")
        end_previous, previous = end, entry.filename


def read_bundle_safely(path: Path, limits: BundleLimits | None = None) -> BundleIndex:
    """Open ``path`` and validate its directory; nothing is extracted or written.

    Raises:
        BundleError: the file is missing, truncated or not a ZIP, or an entry is hostile;
            ``where`` names the bundle and the entry.
    """
    limits = limits or BundleLimits()
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise BundleError(f"cannot read the bundle ({exc.strerror})", where=str(path)) from None
    if size > limits.max_bundle_bytes:
        raise _refuse(path, "(whole file)", f"{size} bytes, limit {limits.max_bundle_bytes}")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _refuse(path, "(whole file)", f"truncated or not a ZIP bundle ({exc})") from None
    if len(infos) > limits.max_entries:
        raise _refuse(path, "(whole file)", f"{len(infos)} entries, limit {limits.max_entries}")
    entries: dict[str, zipfile.ZipInfo] = {}
    folded: set[str] = set()
    total = 0
    for entry in infos:
        _check_name(path, entry.filename, limits)
        if entry.filename in entries or entry.filename.casefold() in folded:
            raise _refuse(path, entry.filename, "duplicate entry")
        _check_entry(path, entry, limits)
        total += entry.file_size
        if total > limits.max_total_bytes:
            raise _refuse(
                path, entry.filename, f"more than {limits.max_total_bytes} bytes unpacked"
            )
        entries[entry.filename] = entry
        folded.add(entry.filename.casefold())
    _check_layout_of_bytes(path, infos, size)
    natural: dict[str, str] = {}
    for name in entries:
        target = natural_path_of(name)
        # Two objects for one natural path cannot both be current; serve neither by name.
        if target is not None:
            natural[target] = "" if target in natural else name
    release, since = _read_info(path, entries, limits)
    return BundleIndex(path, entries, {k: v for k, v in natural.items() if v}, release, since)


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
        raise _refuse(path, BUNDLE_JSON, "not a JSON object") from None
    return (
        release if isinstance(release, int) else None,
        since if isinstance(since, int) else None,
    )


class BundleSource:
    """A validated bundle as a read-only source of layout paths (random access)."""

    def __init__(self, index: BundleIndex, limits: BundleLimits | None = None) -> None:
        self.index = index
        self.limits = limits or BundleLimits()
        self.name = f"bundle {index.path.name}"
        # One open archive: re-reading the central directory per file made verifying a
        # 10,000-file bundle quadratic. The lock keeps concurrent readers off one handle.
        self._archive: zipfile.ZipFile | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        """Close the bundle file (also done when the source is garbage-collected)."""
        with self._lock:
            if self._archive is not None:
                self._archive.close()
                self._archive = None

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
        return sorted(self.index.entries)

    def exists(self, path: str) -> bool:
        return path in self.index.entries or path in self.index.natural

    def read(self, path: str) -> bytes:
        """Layout interface: the bytes at ``path`` (FileNotFoundError when absent)."""
        if not self.exists(path):
            raise FileNotFoundError(path)
        return self.fetch(path, self.limits.max_entry_bytes)

    def fetch(self, path: str, max_length: int) -> bytes:
        """The bytes of ``path`` (a layout path, or a natural path mapped to its object).

        Raises:
            MissingFileError: the bundle holds no such file.
            OversizeError: the entry is longer than ``max_length``.
            BundleError: the entry is corrupt (bad CRC, truncated deflate stream).
        """
        name = path if path in self.index.entries else self.index.natural.get(path)
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
        try:
            with self._lock:
                if self._archive is None:
                    self._archive = zipfile.ZipFile(self.index.path)
                with self._archive.open(entry) as stream:
                    # zipfile stops at the declared size and checks the CRC at the end.
                    data = stream.read(max_length + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError) as exc:
            raise _refuse(self.index.path, name, f"corrupt entry ({exc})") from None
        if len(data) > max_length:
            raise OversizeError(f"more than {max_length} bytes", where=f"{self.name}: {name}")
        return data


def open_bundle(path: Path | str, limits: BundleLimits | None = None) -> BundleSource:
    """Validate ``path`` with :func:`read_bundle_safely` and return it as a source.

    Raises:
        BundleError: as :func:`read_bundle_safely`.
    """
    return BundleSource(read_bundle_safely(Path(path), limits), limits)
