"""Decide, from its bytes, what each published media file goes through.

Invariant: every static file is sniffed (:mod:`tamizdat.render.sniff`) and then

- an image is re-encoded from its pixels (:mod:`tamizdat.render.images`), whatever its name;
- audio, video and PDF are stripped (:mod:`tamizdat.render.strip`), cached by content;
- text (HTML, CSS, JS, …) and fonts are copied: they carry no camera or author block
  that a tool could strip (the privacy checks of static text live elsewhere); an SVG loses
  its editor metadata first (:mod:`tamizdat.render.svg_clean`);
- anything else (archives, Office documents, unknown binary data, HEIF, or a file the
  stripper could not read) is refused, naming the file and the type found, unless the
  publisher listed it under ``[media] publish_unstripped``: then it is copied as it is and
  reported as published unstripped.

A name that promises another type than the bytes are is a warning, not an error: the bytes
decide what happens, so the name cannot make a file skip a step.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tamizdat.errors import ContentError
from tamizdat.files import sha256_file, write_atomic
from tamizdat.render.sniff import FileType, name_matches, sniff_file
from tamizdat.render.strip import OVERRIDE_HINT, strip_file, stripper_version

__all__ = [
    "MediaNote",
    "StripJob",
    "StrippedFile",
    "mismatch_warning",
    "read_stripped",
    "refuse_unstrippable",
    "run_strip_job",
    "sniff_media",
]


@dataclass(frozen=True, slots=True)
class MediaNote:
    """One file in the build report: its type and the metadata removed from it."""

    source: str
    kind: str
    removed: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"file": self.source, "type": self.kind, "removed": list(self.removed)}


def sniff_media(path: Path, source: str) -> FileType:
    """The type of the file at ``path`` (named ``source`` in errors), from its bytes.

    Raises:
        ContentError: the file cannot be read.
    """
    try:
        return sniff_file(path)
    except OSError as exc:
        raise ContentError(f"cannot read: {exc.strerror or exc}", where=source) from None


def mismatch_warning(source: str, found: FileType, treated: str) -> str | None:
    """A warning when ``source``'s name promises another type than its bytes are."""
    if name_matches(source, found):
        return None
    suffix = PurePosixPath(source).suffix
    named = f"named '{suffix}'" if suffix else "has no extension"
    return f"{source}: {named} but its bytes are {found.name}; {treated}"


def refuse_unstrippable(source: str, found: FileType) -> ContentError:
    """The error for a file whose metadata tamizdat cannot remove."""
    return ContentError(
        f"{found.name}: tamizdat cannot remove metadata from this type, so it is not published",
        where=source,
        hint=OVERRIDE_HINT,
    )


@dataclass(frozen=True, slots=True)
class StripJob:
    """One audio, video or PDF file to strip into the cache."""

    source: str
    path: Path
    sha256: str
    found: FileType
    cache_dir: Path
    allow_unstripped: bool  # on failure, publish the original instead of failing

    @property
    def key(self) -> str:
        settings = json.dumps([stripper_version(self.found), self.found.name])
        return f"{self.sha256}-{hashlib.sha256(settings.encode()).hexdigest()[:16]}"


@dataclass(frozen=True, slots=True)
class StrippedFile:
    """A stripped file in the cache (or, ``unstripped``, the original allowed as it is)."""

    file: Path
    sha256: str
    removed: tuple[str, ...]
    unstripped: bool = False


def read_stripped(job: StripJob) -> StrippedFile | None:
    """The cached result of ``job``, or ``None`` if absent or damaged."""
    try:
        meta = json.loads((job.cache_dir / f"{job.key}.json").read_text("utf-8"))
        file = job.cache_dir / f"{job.key}.bin"
        if file.stat().st_size != meta["size"]:
            return None
        return StrippedFile(file, str(meta["sha256"]), tuple(str(r) for r in meta["removed"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_strip_job(job: StripJob) -> StrippedFile:
    """Strip ``job`` into the cache (may run in a worker process).

    Raises:
        ContentError: the file cannot be stripped and is not allowed unstripped.
    """
    out = job.cache_dir / f"{job.key}.bin"
    try:
        removed = strip_file(job.path, out, job.found, source=job.source)
    except ContentError:
        if not job.allow_unstripped:
            raise
        return StrippedFile(job.path, job.sha256, (), unstripped=True)
    digest = sha256_file(out)
    meta = {"sha256": digest, "size": out.stat().st_size, "removed": list(removed)}
    write_atomic(job.cache_dir / f"{job.key}.json", json.dumps(meta, sort_keys=True).encode())
    return StrippedFile(out, digest, removed)
