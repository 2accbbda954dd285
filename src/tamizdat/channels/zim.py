"""ZIM export for Kiwix readers, with a detached file that ties the ZIM to the signed release.

Invariant: every entry written into the ZIM is a target of the release, read from its
by-hash object and checked against the signed sha256 on the way in, and the detached
``FILE.tamizdat-sig.json`` carries the release's signed TUF metadata (root chain,
timestamp, snapshot, targets roles) plus the map ZIM entry → target. So anyone who pinned
the publisher's fingerprint can check, offline, that each page in the ZIM is exactly what
the publisher signed (:func:`verify_zim`).

What is *not* signed: the ZIM file's own sha256 (recorded in the sig file, but libzim
writes a random UUID, so the file is not byte-deterministic and no publisher key signs it),
and the ZIM metadata (title, date, illustration). Verification is therefore per entry.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import mimetypes
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tamizdat.channels.base import ChannelReport, ChannelRequest, ChannelStage
from tamizdat.errors import TamperedError, UserError
from tamizdat.files import write_atomic
from tamizdat.fingerprint import root_fingerprint
from tamizdat.release.listing import DirLayout, Layout, TargetEntry, read_listing

if TYPE_CHECKING:
    from tamizdat.config import Config

__all__ = [
    "SIG_SUFFIX",
    "ZimChannel",
    "ZimInfo",
    "export_zim",
    "verify_zim",
    "zim_info",
]

SIG_SUFFIX = ".tamizdat-sig.json"
SIG_FORMAT = "tamizdat-zim-sig/1"
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
# Kiwix wants ISO 639-3 codes in the Language metadata.
_ISO639_3 = {
    "ar": "ara", "be": "bel", "de": "deu", "en": "eng", "es": "spa", "fa": "fas",
    "fr": "fra", "hy": "hye", "ka": "kat", "kk": "kaz", "ky": "kir", "ru": "rus",
    "tg": "tgk", "tr": "tur", "uk": "ukr", "uz": "uzb", "zh": "zho",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ZimInfo:
    """ZIM metadata (Kiwix's required keys)."""

    title: str
    language: str
    creator: str
    publisher: str
    description: str
    name: str


def _illustration(title: str) -> bytes:
    """A 48x48 PNG: a plain square in a colour derived from the title (deterministic)."""
    from PIL import Image, ImageDraw

    digest = hashlib.sha256(title.encode()).digest()
    image = Image.new("RGB", (48, 48), (digest[0] // 2, digest[1] // 2, 96 + digest[2] // 3))
    ImageDraw.Draw(image).rectangle((10, 10, 37, 37), outline=(255, 255, 255), width=3)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _zim_entries(layout: Layout) -> tuple[list[tuple[TargetEntry, bytes]], Any]:
    listing = read_listing(layout)
    entries: list[tuple[TargetEntry, bytes]] = []
    for entry in listing.targets:
        if entry.path.startswith(".well-known/"):
            continue  # mirror list and log: for tamizdat clients, not for Kiwix
        data = layout.read(entry.by_hash)
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            raise TamperedError(f"{entry.path} differs from the signed copy", where=entry.by_hash)
        entries.append((entry, data))
    return entries, listing


def _write_zim(
    creator_type: Any,
    page_type: Any,
    tmp: Path,
    language: str,
    info: ZimInfo,
    entries: list[tuple[TargetEntry, bytes]],
    now: datetime,
) -> None:
    with creator_type(str(tmp)).config_verbose(False).config_indexing(False, language) as creator:
        creator.set_mainpath("index.html")
        for key, value in (
            ("Title", info.title), ("Language", language), ("Creator", info.creator),
            ("Publisher", info.publisher), ("Date", now.strftime("%Y-%m-%d")),
            ("Description", info.description[:80]), ("Name", info.name),
        ):  # fmt: skip
            creator.add_metadata(key, value)
        creator.add_illustration(48, _illustration(info.title))
        for entry, data in entries:
            creator.add_item(page_type(entry.path, data))


def export_zim(
    release: Path | Layout, out: Path, info: ZimInfo, *, now: datetime | None = None
) -> dict[str, Any]:
    """Write the release's site to ``out`` (ZIM) and ``out`` + SIG_SUFFIX.

    Raises:
        UserError: the release is unreadable, has no ``index.html``, or libzim is missing.
        TamperedError: a by-hash object differs from its signed hash.
    """
    try:
        from libzim.writer import Creator, Hint, Item, StringProvider
    except ImportError:
        raise UserError("the ZIM export needs libzim", hint="pip install 'tamizdat[zim]'") from None
    layout: Layout = DirLayout(release) if isinstance(release, Path) else release
    entries, listing = _zim_entries(layout)
    if not any(e.path == "index.html" for e, _ in entries):
        raise UserError(
            "expected an index.html in the release for the main page", where="index.html"
        )

    class _Page(Item):  # type: ignore[misc]
        def __init__(self, path: str, data: bytes) -> None:
            super().__init__()
            self.path, self.data = path, data
            self.mime = mimetypes.guess_type(path)[0] or "application/octet-stream"

        def get_path(self) -> str:
            return self.path

        def get_title(self) -> str:
            match = _TITLE.search(self.data[:8192]) if self.mime == "text/html" else None
            return match.group(1).decode(errors="replace").strip() if match else ""

        def get_mimetype(self) -> str:
            return self.mime

        def get_contentprovider(self) -> Any:
            return StringProvider(self.data)

        def get_hints(self) -> dict[Any, int]:
            return {Hint.FRONT_ARTICLE: self.mime == "text/html"}

    now = now or datetime.now(UTC)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own: two exports to one folder never write into each other's file.
    tmp = out.with_name(f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    language = _ISO639_3.get(info.language.split("-")[0], info.language)
    try:
        _write_zim(Creator, _Page, tmp, language, info, entries, now)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(out)
    zim_sha = hashlib.sha256(out.read_bytes()).hexdigest()
    first_root = layout.read(listing.metadata_files[0])
    sig = {
        "format": SIG_FORMAT,
        "zim_sha256": zim_sha,
        "release": listing.version,
        "timestamp_version": listing.timestamp_version,
        "fingerprint": root_fingerprint(first_root),
        "metadata": {
            name.rsplit("/", 1)[1]: base64.b64encode(layout.read(name)).decode()
            for name in listing.metadata_files
        },
        "entries": {e.path: e.sha256 for e, _ in entries},
    }
    sig_path = out.with_name(out.name + SIG_SUFFIX)
    write_atomic(sig_path, json.dumps(sig, indent=1, sort_keys=True).encode())
    return {"entries": len(entries), "release": listing.version, "sha256": zim_sha,
            "bytes": out.stat().st_size, "signature": str(sig_path)}  # fmt: skip


def verify_zim(zim: Path, fingerprint: str, *, now: datetime | None = None) -> dict[str, Any]:
    """Check every entry of ``zim`` against the signed release named in its sig file.

    Raises:
        UserError: no readable sig file. UntrustedContentError (via the trust policy):
        the metadata is not the pinned publisher's. TamperedError: an entry differs.
    """
    from libzim.reader import Archive

    from tamizdat.layout import METADATA_DIR
    from tamizdat.transport.sources import MemorySource
    from tamizdat.trust.verify.whole import load_release

    sig_path = zim.with_name(zim.name + SIG_SUFFIX)
    try:
        sig = json.loads(sig_path.read_text())
        files = {f"{METADATA_DIR}/{k}": base64.b64decode(v) for k, v in sig["metadata"].items()}
        entries: dict[str, str] = dict(sig["entries"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(
            f"expected a readable signature file ({exc})", where=str(sig_path)
        ) from None
    loaded = load_release(MemorySource(files, str(sig_path)), fingerprint=fingerprint, now=now)
    archive = Archive(str(zim))
    for path in entries:
        if not archive.has_entry_by_path(path):
            raise TamperedError(f"expected entry {path} in the ZIM, found none", where=str(zim))
        data = bytes(archive.get_entry_by_path(path).get_item().content)
        try:
            loaded.policy.verify_target(path, data)
        except TamperedError as exc:
            raise TamperedError(exc.message, where=f"{zim}: {path}") from None
    policy = loaded.policy
    return {
        "entries": len(entries),
        "release": policy.snapshot.version,
        "stale": policy.stale,
        "file_sha256_matches": hashlib.sha256(zim.read_bytes()).hexdigest() == sig["zim_sha256"],
    }


def zim_info(config: Config) -> ZimInfo:
    """Kiwix's metadata for the site: its title, default language and description."""
    site = config.site
    lang = site.language(site.default_language)
    return ZimInfo(
        title=site.title,
        language=site.default_language,
        creator=site.title,
        publisher=site.title,
        description=lang.description or site.title,
        name=re.sub(r"[^a-z0-9]+", "-", site.title.lower()).strip("-") or "site",
    )


class ZimChannel:
    """The ``zim`` channel: the site as a ZIM file for Kiwix, with a detached signature
    file that ``tamizdat zim --verify`` (and readers) check against the pinned root."""

    name = "zim"
    stage: ChannelStage = "export"

    def deliver(self, request: ChannelRequest) -> ChannelReport:
        """Write the ZIM file and its signature (see :func:`export_zim`).

        Raises:
            UserError: no output, the release is unreadable, or libzim is missing.
            TamperedError: a by-hash object differs from its signed hash.
        """
        out = request.require_output(self.name)
        result = export_zim(request.require_release(), out, zim_info(request.config))
        return ChannelReport(
            channel=self.name,
            release=int(result["release"]),
            outputs=(str(out), str(result["signature"])),
            counts={"entries": int(result["entries"]), "bytes": int(result["bytes"])},
        )
