"""Which copied files may be published: static files obey the same privacy rule as pages.

Invariant kept: no file the build copies as it is (from ``static/``, ``media/``, a page
bundle or a theme's ``static/``) makes a reader's browser load from another origin, leave
the site by itself, or run script that nobody chose to publish:

- HTML (``.html``, ``.htm``) is checked exactly like a rendered page (the same checker,
  :func:`tamizdat.render.privacy.find_violations`): it must carry the tamizdat CSP and
  referrer metas and load only relative URLs. Stylesheets, SVG and XML files likewise;
  an SVG or XML file may hold no script in any form (mirrors serve it without our CSP).
- A file of any other type that is not a known image, media, font, archive or plain-text
  format is looked at: if its first bytes are what a browser sniffs as HTML (WHATWG MIME
  Sniffing §7.1) it is checked as a page, if they start like markup at all as XML (a
  mirror may serve it without a type, or as ``…+xml``, which browsers render as XML).
- Document types the check cannot read as a browser does (``.xhtml``, ``.svgz``, MHTML,
  ``.htc``, Flash) are refused: publish HTML as ``.html``, SVG uncompressed.
- JavaScript (``.js``, ``.mjs``, ``.cjs``) and WebAssembly run on the site's origin with
  every page's ``script-src 'self'``: the theme's own scripts are part of the theme and
  pass; any other script must be allowed by its SHA-256 in ``tamizdat.toml``::

      [build.allow_scripts]
      "static/js/map.js" = "sha256:…"

  Pinning the digest, not the name, means a later edit of the file (by anyone who can
  write to the static folder) is refused until someone allows the new bytes on purpose.

Images are re-encoded and other media handled by :mod:`tamizdat.render.media`; this module
decides only about text-like files, and is a separate hook the build calls before it
touches ``public/``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tamizdat.errors import PrivacyError
from tamizdat.render.privacy import find_violations
from tamizdat.render.references import Violation

__all__ = ["StaticFile", "check_static_files", "published_file_violations"]

_CHECKED = frozenset({".html", ".htm", ".css", ".svg", ".xml", ".rss", ".atom"})
_SCRIPTS = frozenset({".js", ".mjs", ".cjs", ".wasm"})
_UNCHECKABLE = frozenset(
    {".xhtml", ".xht", ".svgz", ".mht", ".mhtml", ".shtml", ".htc", ".hta", ".swf", ".xsl"}
    | {".xslt"}
)
# WHATWG MIME Sniffing §7.1: what a browser sniffs as HTML in a file served without a type,
# each followed by a space or '>' ("tag-terminating byte").
_SNIFF_HTML = re.compile(
    rb"(?:\xef\xbb\xbf)?[\t\n\x0c\r ]*<(?:!doctype html|html|head|script|iframe|h1|div|font|table|a|style"
    rb"|title|b|body|br|p|!--)[ >]",
    re.IGNORECASE,
)
_SNIFF_MARKUP = re.compile(rb"(?:\xef\xbb\xbf)?[\t\n\x0c\r ]*<")
# Types no browser renders as a document, whatever their bytes (fixed here, not read from
# the system's MIME table, so that every machine decides alike).
_INERT = frozenset(
    {".jpg", ".jpeg", ".jfif", ".jpe", ".png", ".webp", ".gif", ".avif", ".ico", ".bmp"}
    | {".tif", ".tiff", ".heic", ".heif", ".mp4", ".m4v", ".mov", ".webm", ".ogg", ".ogv"}
    | {".oga", ".opus", ".mp3", ".m4a", ".wav", ".flac", ".aac", ".pdf", ".txt", ".md"}
    | {".json", ".csv", ".tsv", ".vtt", ".srt", ".woff", ".woff2", ".ttf", ".otf", ".eot"}
    | {".zip", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".tar", ".epub", ".zim", ".doc", ".docx"}
    | {".odt", ".ods", ".odp", ".xls", ".xlsx", ".ppt", ".pptx", ".map", ".asc", ".sig"}
)
_SNIFF_BYTES = 1445  # the resource header a browser looks at


@dataclass(frozen=True, slots=True)
class StaticFile:
    """A file to be published as it is: output path, source on disk, SHA-256, origin."""

    output: str
    path: Path
    sha256: str
    origin: str  # what produced it (site-relative source), for messages and allow-lists


def _kind(output: str, head: Callable[[], bytes]) -> str:
    """``checked``, ``sniffed``, ``script``, ``uncheckable`` or ``other`` (see module doc)."""
    suffix = PurePosixPath(output).suffix.lower()
    if suffix in _CHECKED:
        return "checked"
    if suffix in _SCRIPTS:
        return "script"
    if suffix in _UNCHECKABLE:
        return "uncheckable"
    if suffix not in _INERT and _SNIFF_MARKUP.match(head()):
        return "sniffed"
    return "other"


def published_file_violations(
    output: str, read: Callable[[], bytes], *, script_allowed: bool
) -> list[Violation]:
    """Why the file to be published at ``output`` breaks the privacy rule (empty: fine).

    ``read`` returns the file's bytes (called only for the types that are checked);
    ``script_allowed`` says whether JavaScript may be published there (a theme's own
    scripts, or a static script whose digest ``tamizdat.toml`` allows).
    """
    kind = _kind(output, lambda: read()[:_SNIFF_BYTES])
    if kind == "checked":
        return find_violations(output, read())
    if kind == "sniffed":
        data = read()
        as_type = ".html" if _SNIFF_HTML.match(data[:_SNIFF_BYTES]) else ".xml"
        found = find_violations(output + as_type, data)
        return [
            Violation(v.url, v.line, f"{v.what} (a browser reads it as {as_type[1:]})")
            for v in found
        ]
    if kind == "uncheckable":
        return [Violation("", 1, "a document type tamizdat cannot check like a browser reads it")]
    if kind == "script" and not script_allowed:
        return [
            Violation("", 1, "a script that no one allowed (it would run on the site's origin)")
        ]
    return []


def _allowed(file: StaticFile, allow_scripts: Mapping[str, str]) -> bool:
    return allow_scripts.get(file.origin) == f"sha256:{file.sha256}"


def check_static_files(files: Iterable[StaticFile], allow_scripts: Mapping[str, str]) -> None:
    """Refuse the first static file that breaks the privacy rule (see the module doc).

    ``allow_scripts`` maps a script's site-relative source to ``"sha256:HEX"``.

    Raises:
        PrivacyError: names the source file and line, the output and the offending URL or
            construct; for a script, the exact ``tamizdat.toml`` line that would allow it.
    """
    for file in files:
        violations = published_file_violations(
            file.output, file.path.read_bytes, script_allowed=_allowed(file, allow_scripts)
        )
        if not violations:
            continue
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        if PurePosixPath(file.output).suffix.lower() in _SCRIPTS:
            hint = (
                "if this script is meant to run on the site, allow these exact bytes in "
                f'tamizdat.toml under [build.allow_scripts]: "{file.origin}" = '
                f'"sha256:{file.sha256}"'
            )
        else:
            hint = (
                "static HTML needs the tamizdat CSP and referrer metas and only relative "
                "URLs; SVG may hold no script; see docs on static files"
            )
        raise PrivacyError(
            f"static file {file.output}: {first.describe()}{more}",
            where=f"{file.origin}:{first.line}",
            hint=hint,
        )
