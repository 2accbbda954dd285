"""Reader privacy: no built page makes a browser contact another origin.

Invariant kept: every HTML page and stylesheet the renderer writes references resources
(scripts, styles, images, fonts, frames, media, manifests, prefetches) only by relative,
same-origin URLs, carries the strict Content-Security-Policy and ``no-referrer`` metas,
and holds no inline script or style (the CSP would block them, so they are bugs).
Ordinary ``<a href>`` links to other sites are fine: following one is the reader's choice.

What counts as "another origin": a URL with any scheme (``https:``, ``http:``, ``ftp:``,
``file:``, ``blob:``, ``javascript:`` and also ``data:``) or a protocol-relative one
(``//host``; browsers read ``\\`` as ``/``, so ``/\\host`` too). ``data:`` loads nothing
over the network, but ``img-src 'self'`` in our CSP blocks it anyway, and an SVG
``data:`` URL is a classic script-smuggling vector; refusing it keeps the rule one line:
resources are relative paths, nothing else.

Why the CSP is what it is (a ``<meta>`` CSP cannot carry ``frame-ancestors``,
``report-uri`` or ``sandbox``, so those are absent on purpose):

- ``default-src 'none'``: anything not listed below is refused (frames, workers' fall-back,
  media, objects).
- ``script-src 'self'``: the two small theme scripts (relative time, search) and, later, the
  service worker registration; no inline script, no ``eval``.
- ``style-src 'self'``: the theme stylesheet only; no inline styles.
- ``img-src 'self'``: the re-encoded images only (no ``data:``, see above).
- ``connect-src 'self'``: ``search.js`` fetches the same-origin search index; the future
  service worker verifies mirrors through its own fetches, not the page's.
- ``font-src 'self'``: no web fonts by default, a theme may ship its own.
- ``manifest-src 'self'``: a web-app manifest for the offline reader.
- ``base-uri 'none'``: an injected ``<base>`` cannot redirect every relative URL.
- ``form-action 'self'``: the search form submits to its own page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from tamizdat.errors import PrivacyError
from tamizdat.render.strict_html import TagMemo, feed_strict

__all__ = [
    "CSP",
    "REFERRER",
    "Violation",
    "check_page",
    "find_external_resources",
    "find_violations",
    "is_external",
]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'"
)
REFERRER = "no-referrer"

_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:")
_STRIPPED = re.compile(r"[\t\n\r]")
# Attributes that make the browser fetch something, per element (any element: background).
_RESOURCE_ATTRS: dict[str, tuple[str, ...]] = {
    "script": ("src",),
    "img": ("src", "srcset", "lowsrc", "dynsrc"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data", "codebase"),
    "applet": ("code", "archive", "codebase"),
    "input": ("src", "formaction"),
    "button": ("formaction",),
    "form": ("action",),
    "image": ("href", "xlink:href"),
    "use": ("href", "xlink:href"),
    "feimage": ("href", "xlink:href"),
    "base": ("href",),
    "a": ("ping",),
    "area": ("ping",),
}
_LOADING_RELS = frozenset(
    {
        "stylesheet",
        "icon",
        "shortcut",
        "apple-touch-icon",
        "apple-touch-icon-precomposed",
        "mask-icon",
        "preload",
        "prefetch",
        "modulepreload",
        "manifest",
        "dns-prefetch",
        "preconnect",
        "prerender",
        "import",
    }
)
_DATA_SCRIPT_TYPES = frozenset({"application/json", "application/ld+json"})
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"]*)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Violation:
    """One reference that breaks the rule; ``line`` is 1-based in the scanned text."""

    url: str
    line: int
    what: str

    def describe(self) -> str:
        if self.url:
            return f"{self.what} loads {self.url!r} from another origin"
        return self.what


def is_external(url: str) -> bool:
    """True when ``url`` would be fetched from anywhere but this site (see module doc)."""
    cleaned = _STRIPPED.sub("", url).strip(" \x00\x0b\x0c").replace("\\", "/")
    return cleaned.startswith("//") or bool(_SCHEME.match(cleaned))


def _srcset_urls(value: str) -> list[str]:
    return [part.strip().split()[0] for part in value.split(",") if part.strip()]


def _css_violations(css: str, first_line: int, what: str) -> list[Violation]:
    found: list[Violation] = []
    text = _CSS_COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), css)
    for pattern in (_CSS_URL, _CSS_IMPORT):
        for match in pattern.finditer(text):
            url = next((g for g in match.groups() if g is not None), "")
            if is_external(url):
                line = first_line + text.count("\n", 0, match.start())
                found.append(Violation(url, line, what))
    return found


class _Scanner(HTMLParser):
    def __init__(self, *, resources_only: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.resources_only = resources_only
        self.violations: list[Violation] = []
        self.csp: str | None = None
        self.referrer: str | None = None
        self._in: str | None = None  # "script" / "style" whose text we must look at
        self._in_line = 0

    def _add(self, url: str, what: str) -> None:
        self.violations.append(Violation(url, self.getpos()[0], what))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name in _RESOURCE_ATTRS.get(tag, ()):
            if name not in values:
                continue
            urls = _srcset_urls(values[name]) if name == "srcset" else [values[name]]
            if name == "archive":
                urls = values[name].replace(",", " ").split()
            for url in urls:
                if is_external(url):
                    self._add(url, f"<{tag} {name}>")
        if "background" in values and is_external(values["background"]):
            self._add(values["background"], f"<{tag} background>")
        if tag == "link":
            rels = set(values.get("rel", "").lower().split())
            if rels & _LOADING_RELS and is_external(values.get("href", "")):
                self._add(values.get("href", ""), f"<link rel={values.get('rel', '')}>")
        if tag == "meta":
            self._meta(values)
        if "style" in values:
            line = self.getpos()[0]
            self.violations.extend(_css_violations(values["style"], line, f"<{tag} style>"))
            if not self.resources_only:
                self._add("", f"inline style attribute on <{tag}> (blocked by the CSP)")
        if not self.resources_only:
            self._scripting(tag, values)

    def _meta(self, values: dict[str, str]) -> None:
        equiv = values.get("http-equiv", "").lower()
        if equiv == "refresh":
            match = _REFRESH_URL.search(values.get("content", ""))
            if match and is_external(match.group(1).strip()):
                self._add(match.group(1).strip(), "<meta http-equiv=refresh>")
        elif equiv == "content-security-policy":
            self.csp = values.get("content", "")
        elif values.get("name", "").lower() == "referrer":
            self.referrer = values.get("content", "")

    def _scripting(self, tag: str, values: dict[str, str]) -> None:
        for name in values:
            if name.startswith("on"):
                self._add("", f"inline event handler {name}= on <{tag}> (blocked by the CSP)")
        for name in ("href", "src", "action", "formaction"):
            if _STRIPPED.sub("", values.get(name, "")).strip().lower().startswith("javascript:"):
                self._add("", f"javascript: URL in <{tag} {name}> (blocked by the CSP)")
        if tag == "style" or (
            tag == "script"
            and "src" not in values
            and values.get("type", "").lower() not in _DATA_SCRIPT_TYPES
        ):
            self._in, self._in_line = tag, self.getpos()[0]

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "style":
            self.violations.extend(_css_violations(data, self._in_line, "<style>"))
        if self._in is not None and data.strip():
            self._add("", f"inline <{self._in}> element (blocked by the CSP)")
            self._in = None


# Per rule set: start tags already found harmless (see TagMemo). ``meta`` tags set the CSP
# and referrer the page must carry, so they are always looked at.
_MEMOS = {flag: TagMemo(frozenset({"meta"})) for flag in (False, True)}


def _scan(text: str, *, resources_only: bool) -> _Scanner:
    """Run the scanner over ``text``: quick path first, ``HTMLParser`` when it is unsure.

    The quick path (:func:`feed_strict`) feeds the same rules the same tags, but line
    numbers are unknown there; so its answer is taken only when it finds the page clean,
    and any finding is reported by a full ``HTMLParser`` pass (exact lines).
    """
    quick = _Scanner(resources_only=resources_only)
    memo = _MEMOS[resources_only]
    clean = feed_strict(text, quick, memo) and not quick.violations
    if clean and (resources_only or (quick.csp == CSP and quick.referrer == REFERRER)):
        memo.commit()
        return quick
    memo.discard()
    scanner = _Scanner(resources_only=resources_only)
    scanner.feed(text)
    scanner.close()
    return scanner


def find_external_resources(html: str) -> list[Violation]:
    """Every resource-loading reference in ``html`` that points to another origin."""
    return _scan(html, resources_only=True).violations


def find_violations(output_path: str, data: bytes) -> list[Violation]:
    """Everything in one output file that breaks the privacy rule (empty when clean).

    HTML pages are scanned for external resources, inline scripts/styles and the two
    required metas; stylesheets for ``url()`` and ``@import``. Other files (feeds, JSON,
    scripts, images) are not documents a browser renders with our CSP, so they pass.
    """
    text = data.decode("utf-8", errors="replace")
    if output_path.endswith(".css"):
        return _css_violations(text, 1, "stylesheet")
    if not output_path.endswith((".html", ".htm")):
        return []
    scanner = _scan(text, resources_only=False)
    violations = list(scanner.violations)
    if scanner.csp != CSP:
        found = "none" if scanner.csp is None else repr(scanner.csp)
        violations.append(Violation("", 1, f"expected the tamizdat CSP meta, found {found}"))
    if scanner.referrer != REFERRER:
        violations.append(
            Violation("", 1, f"expected <meta name=referrer content={REFERRER}>, found none")
        )
    return violations


def check_page(output_path: str, html_or_css_bytes: bytes, source_hint: str) -> None:
    """Refuse a page or stylesheet that would load anything from another origin.

    ``source_hint`` names what produced the bytes (a template, an article) for the error.

    Raises:
        PrivacyError: the first violation, naming ``source_hint``, the output file and URL.
    """
    violations = find_violations(output_path, html_or_css_bytes)
    if violations:
        first = violations[0]
        raise PrivacyError(
            f"{output_path} line {first.line}: {first.describe()}",
            where=source_hint,
            hint="serve every script, style, image and font from this site (relative URLs); "
            "link to other sites with <a href> only",
        )
