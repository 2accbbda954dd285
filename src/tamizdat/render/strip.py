"""Strip metadata from audio, video and PDF files, or refuse them.

Invariant: a file comes out of :func:`strip_file` with no container metadata left (checked
again on the output, not assumed), and byte-identical for the same input and tool versions
(Invariant 5), or :func:`strip_file` raises and nothing is written. Images are not handled
here: :mod:`tamizdat.render.images` rebuilds them from their pixels.

Tools, chosen for being well kept and made for the job:

- Audio and video: ``ffmpeg`` remuxes the streams as they are (``-c copy``, no re-encoding)
  into a fresh container with no global, stream or chapter metadata, keeping only the real
  video and audio streams (data streams such as GPS tracks, subtitles, attachments and cover
  pictures are dropped), with ``+bitexact`` so no date, version or random id is written. The
  input format is forced from the sniffed type (ffmpeg never guesses) and only the ``file``
  protocol is allowed, so a crafted file cannot make ffmpeg read other files or the network.
- PDF: ``pikepdf`` (qpdf) rewrites the whole file, which drops earlier revisions that an
  incremental update (as exiftool's own edits make) would keep; the document information
  dictionary, every XMP stream, application private data, annotation authors and the EXIF/XMP
  segments of embedded JPEG images are removed.

Both tools run with fixed argument lists, no shell, a timeout, and write to a temporary file
that is renamed into place only after the output was checked.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tamizdat.errors import ContentError
from tamizdat.render.sniff import FileType

__all__ = ["StripLimits", "can_strip", "strip_file", "stripper_version"]

# Bump when what is stripped changes, so cached results made by older code are not reused.
STRIPPER_VERSION = "1"
OVERRIDE_HINT = (
    "convert it to a format tamizdat can clean, or, if you checked it yourself, list it "
    "under [media] publish_unstripped in tamizdat.toml"
)


@dataclass(frozen=True, slots=True)
class StripLimits:
    """Bounds on one external tool run."""

    timeout: float = 600.0  # seconds for one ffmpeg/ffprobe run or one PDF rewrite
    max_bytes: int = 4 * 1024**3  # larger files are refused rather than processed


LIMITS = StripLimits()

# Tags a fresh container writes itself; they say nothing about who made the file.
_BENIGN_FORMAT_TAGS = frozenset({"major_brand", "minor_version", "compatible_brands"})
# (Matroska's per-stream DURATION is computed by the muxer from the packets.)
_BENIGN_STREAM_TAGS = frozenset({"language", "handler_name", "vendor_id", "DURATION"})
_LABELS: tuple[tuple[str, str], ...] = (
    (r"location|gps|xyz|coordinates", "GPS location"),
    (r"make|model|camera|device|lens|serial", "device make/model"),
    (r"date|time|year", "creation time"),
    (r"artist|author|composer|performer|copyright|owner|publisher|by$", "author names"),
    (r"encoder|software|tool|writing|application", "software"),
    (r"title|comment|description|synopsis|keywords|album|genre|lyrics", "title/comments"),
)


def can_strip(found: FileType) -> bool:
    """True for the types :func:`strip_file` handles (audio, video, PDF)."""
    return found.family == "pdf" or bool(found.muxer)


def _label(key: str) -> str:
    lowered = key.lower()
    for pattern, label in _LABELS:
        if re.search(pattern, lowered):
            return label
    return "other tags"


def _tool(name: str, source: str, found: FileType) -> str:
    path = shutil.which(name)
    if path is None:
        raise ContentError(
            f"{found.name} file needs {name} to remove its metadata, and {name} is not installed",
            where=source,
            hint=f"install {name} (Debian package 'ffmpeg'), or " + OVERRIDE_HINT,
        )
    return path


def _run(argv: list[str], source: str, found: FileType, limits: StripLimits) -> str:
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=limits.timeout,
            check=False,
            env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"},
        )
    except subprocess.TimeoutExpired:
        raise ContentError(
            f"{Path(argv[0]).name} took longer than {limits.timeout:g} s on this {found.name} file",
            where=source,
            hint=OVERRIDE_HINT,
        ) from None
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        # ffmpeg prefixes messages with the path it was given: the error names the file already.
        reason = detail[0].rsplit(": ", 1)[-1][:300]
        raise ContentError(
            f"{Path(argv[0]).name} could not read this {found.name} file: {reason}",
            where=source,
            hint=OVERRIDE_HINT,
        )
    return done.stdout.decode("utf-8", "replace")


def _probe(path: Path, found: FileType, source: str, limits: StripLimits) -> dict[str, Any]:
    ffprobe = _tool("ffprobe", source, found)
    argv = [ffprobe, "-v", "error", "-protocol_whitelist", "file", "-f", found.demuxer]
    argv += ["-show_format", "-show_streams", "-show_chapters", "-of", "json"]
    text = _run([*argv, f"file:{path}"], source, found, limits)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ContentError(f"ffprobe gave unreadable output: {exc}", where=source) from None
    return data if isinstance(data, dict) else {}


def _tags(holder: Any) -> dict[str, str]:
    tags = holder.get("tags") if isinstance(holder, dict) else None
    return {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {}


def _kept(stream: dict[str, Any]) -> bool:
    """The streams the remux keeps: real video (no cover pictures) and audio."""
    attached = bool((stream.get("disposition") or {}).get("attached_pic"))
    return stream.get("codec_type") == "audio" or (
        stream.get("codec_type") == "video" and not attached
    )


def _describe_av(probe: dict[str, Any]) -> list[str]:
    removed: list[str] = []
    keys = [k for k in _tags(probe.get("format")) if k not in _BENIGN_FORMAT_TAGS]
    streams = [s for s in probe.get("streams", []) if isinstance(s, dict)]
    for stream in streams:
        keys += [k for k in _tags(stream) if k not in _BENIGN_STREAM_TAGS]
    order = [label for _pattern, label in _LABELS] + ["other tags"]
    removed += sorted({_label(k) for k in keys}, key=order.index)
    dropped = [s for s in streams if not _kept(s)]
    pictures = sum(1 for s in dropped if s.get("codec_type") == "video")
    if pictures:
        removed.append("cover picture")
    others = len(dropped) - pictures
    if others:
        removed.append(f"{others} data/subtitle stream{'s' if others > 1 else ''}")
    if probe.get("chapters"):
        removed.append("chapters")
    return removed


def _leftovers(probe: dict[str, Any]) -> list[str]:
    # Matroska always writes its muxing app; under +bitexact it is the bare name "Lavf".
    tags = {k: v for k, v in _tags(probe.get("format")).items() if (k, v) != ("encoder", "Lavf")}
    left = [k for k in tags if k not in _BENIGN_FORMAT_TAGS]
    for stream in probe.get("streams", []):
        left += [k for k in _tags(stream) if k not in _BENIGN_STREAM_TAGS]
    return sorted(set(left))


@contextmanager
def _temporary(out: Path, suffix: str) -> Iterator[Path]:
    """A temporary file beside ``out``: removed unless the caller renamed it into place."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=suffix, dir=out.parent)
    os.close(handle)
    temp = Path(name)
    try:
        yield temp
    finally:
        temp.unlink(missing_ok=True)


def _strip_av(
    path: Path, out: Path, found: FileType, source: str, limits: StripLimits
) -> tuple[str, ...]:
    before = _probe(path, found, source, limits)
    if not any(_kept(s) for s in before.get("streams", []) if isinstance(s, dict)):
        raise ContentError(
            f"{found.name} file has no audio or video stream to publish", where=source
        )
    ffmpeg = _tool("ffmpeg", source, found)
    with _temporary(out, ".part") as temp:
        argv = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
        argv += ["-protocol_whitelist", "file", "-f", found.demuxer, "-i", f"file:{path}"]
        argv += ["-map", "0:V?", "-map", "0:a?", "-map_metadata", "-1", "-map_chapters", "-1"]
        argv += ["-c", "copy", "-fflags", "+bitexact", "-flags:v", "+bitexact"]
        argv += ["-flags:a", "+bitexact"]
        if found.muxer == "mp3":
            argv += ["-id3v2_version", "0", "-write_id3v1", "0"]
        argv += ["-f", found.muxer, f"file:{temp}"]
        _run(argv, source, found, limits)
        left = _leftovers(_probe(temp, found, source, limits))
        if left:
            raise ContentError(
                f"ffmpeg left metadata in this {found.name} file: {', '.join(left)}",
                where=source,
                hint=OVERRIDE_HINT,
            )
        temp.replace(out)
    return tuple(_describe_av(before))


def strip_file(
    path: Path, out: Path, found: FileType, *, source: str, limits: StripLimits = LIMITS
) -> tuple[str, ...]:
    """Write ``path`` without its metadata to ``out``; return what was removed, for reports.

    ``found`` is the type sniffed from the bytes (see :func:`can_strip`); ``source`` names
    the file in errors.

    Raises:
        ContentError: the file is too large, the tool it needs is missing, the tool cannot
            read it or took too long, metadata remained after stripping, or (PDF) it is
            encrypted or carries attached files. Names the file; ``out`` is not written.
    """
    size = path.stat().st_size
    if size > limits.max_bytes:
        raise ContentError(
            f"{found.name} file is {size} bytes, more than the {limits.max_bytes} tamizdat "
            "strips metadata from",
            where=source,
            hint=OVERRIDE_HINT,
        )
    if found.family == "pdf":
        from tamizdat.render.strip_pdf import strip_pdf

        return strip_pdf(path, out, source=source)
    if not found.muxer:
        raise ContentError(f"cannot strip metadata from {found.name} files", where=source)
    return _strip_av(path, out, found, source, limits)


@functools.cache
def _ffmpeg_version() -> str:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return "none"
    try:
        done = subprocess.run([ffmpeg, "-version"], capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.decode("utf-8", "replace").split("\n", 1)[0]


def stripper_version(found: FileType) -> str:
    """Everything that changes the stripped bytes of ``found``: for cache keys."""
    if found.family == "pdf":
        from tamizdat.render.strip_pdf import pdf_tool_version

        return f"{STRIPPER_VERSION} {pdf_tool_version()}"
    return f"{STRIPPER_VERSION} {_ffmpeg_version()}"
