"""The one rule set of the privacy check: which tags and attributes make a browser fetch.

Invariant kept: :class:`ReferenceRules` is the only place that decides whether a start tag
(already tokenized and entity-decoded by a front-end in :mod:`tamizdat.render.privacy`) or a
stylesheet loads from another origin, navigates the reader away without a click, or runs
script. Every document kind goes through it: theme templates, rendered pages, theme
assets, static HTML/CSS, SVG and XML files. What differs per kind is only how strict it is
(:data:`Mode`):

- ``template``: resources and automatic navigation only (a template is not a page yet);
- ``page``: a rendered or static HTML page served under our CSP: also no inline script,
  style or event handlers (the CSP would block them, so they are bugs);
- ``image``: an SVG or XML document, served *without* our CSP (mirrors send only bytes):
  no script in any form at all, because nothing else would stop it.

The tables list every navigation and resource form browsers honour (HTML Living Standard,
SVG 2, CSS, Chromium's ``attributionsrc``); a URL is external under :func:`is_external`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tamizdat.render.css_scan import css_references

__all__ = ["Mode", "ReferenceRules", "Violation", "is_external", "refresh_url"]

Mode = Literal["template", "page", "image"]

# WHATWG URL parsing removes tabs and newlines anywhere and trims C0 controls and spaces at
# both ends; we remove every C0 control anywhere, which only ever finds more.
_CONTROLS = re.compile(r"[\x00-\x1f]")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.\-]*:")
_SCRIPT_SCHEMES = ("javascript:", "vbscript:", "livescript:")

# Attributes that make the browser fetch something, per element. ``href``/``xlink:href``
# on SVG elements and the attributes below on any element are handled separately.
_RESOURCE_ATTRS: dict[str, tuple[str, ...]] = {
    "script": ("src", "href", "xlink:href"),
    "img": ("src", "srcset", "lowsrc", "dynsrc"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "iframe": ("src",),
    "frame": ("src",),
    "portal": ("src",),
    "fencedframe": ("src",),
    "embed": ("src", "code"),
    "object": ("data", "codebase", "archive"),
    "applet": ("code", "archive", "codebase", "object"),
    "bgsound": ("src",),
    "input": ("src", "formaction"),
    "button": ("formaction",),
    "form": ("action",),
    "base": ("href",),
    "html": ("manifest",),
    "a": ("ping",),
    "area": ("ping",),
}
# On any element: the legacy ``background``, Chromium's Attribution Reporting
# ``attributionsrc`` (it sends requests to each listed URL) and ``xml:base`` (it rebases
# every relative URL below it in SVG and XML documents).
_ANY_ELEMENT_ATTRS = ("background", "attributionsrc", "xml:base")
_URL_LISTS = frozenset({"ping", "archive", "attributionsrc"})  # space-separated URLs
_SRCSETS = frozenset({"srcset", "imagesrcset"})
# An external <link href> is fine only when every rel keyword is a plain relation that no
# browser fetches (Firefox prefetches rel=next; Chromium fetches rel=search descriptions).
_NAVIGATION_RELS = frozenset(
    {
        "alternate",
        "author",
        "bookmark",
        "canonical",
        "external",
        "help",
        "license",
        "me",
        "nofollow",
        "noopener",
        "noreferrer",
        "opener",
        "privacy-policy",
        "prev",
        "tag",
        "terms-of-service",
    }
)
# SVG presentation attributes that take a CSS url() (paint servers, filters, masks…).
_CSS_URL_ATTRS = frozenset(
    {
        "fill",
        "stroke",
        "filter",
        "mask",
        "clip-path",
        "marker",
        "marker-start",
        "marker-mid",
        "marker-end",
        "cursor",
    }
)
# Attributes holding a URL that is followed on click or by script: a script scheme in any
# of them runs code; ``to``/``values``/``from``/``by`` are what SVG animations write into href.
_URL_ATTRS = frozenset(
    {"href", "xlink:href", "src", "action", "formaction", "data", "poster", "background"}
    | {"to", "values", "from", "by", "srcdoc"}
)
_ANIMATIONS = frozenset({"animate", "set", "animatetransform", "animatemotion", "animatecolor"})
# Elements that run script or embed a document with its own script, refused in ``image``
# mode: an SVG is served without our CSP. (``foreignobject`` holds HTML.)
_ACTIVE_IN_IMAGES = frozenset(
    {"script", "foreignobject", "handler", "listener", "iframe", "frame", "embed", "object"}
    | {"applet", "audio", "video", "animation", "portal", "fencedframe", "meta", "base"}
)
_DATA_SCRIPT_TYPES = frozenset({"application/json", "application/ld+json"})
# http-equiv values with no effect on where the browser goes or what it loads.
_HARMLESS_EQUIV = frozenset({"content-type", "content-language", "x-ua-compatible"})
_WS = " \t\n\f\r"


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
    """True when ``url`` would be fetched from anywhere but this site.

    That is: any scheme (``https:``, ``data:``, ``javascript:``, any case, with tabs,
    newlines or other control characters anywhere in it) or a protocol-relative URL
    (``//host``; browsers read ``\\`` as ``/``, so ``\\\\host`` and ``/\\host`` too).
    """
    cleaned = _CONTROLS.sub("", url).strip(" ").replace("\\", "/")
    return cleaned.startswith("//") or bool(_SCHEME.match(cleaned))


def is_script_url(url: str) -> bool:
    """True when following ``url`` runs script (``javascript:`` in any spelling)."""
    cleaned = _CONTROLS.sub("", url).strip(" ").lower()
    return cleaned.startswith(_SCRIPT_SCHEMES)


def srcset_urls(value: str) -> list[str]:
    """The URL of every candidate in a ``srcset`` (HTML §4.8.4.3.10, simplified safely).

    Candidates are split at commas that follow a descriptor or whitespace; a URL may hold
    commas itself, so each piece's first word is taken *and* every comma-free word that
    looks like a URL is reported, which can only find more.
    """
    urls: list[str] = []
    for part in value.split(","):
        words = part.split()
        if words:
            urls.append(words[0])
    urls.extend(word for word in value.replace(",", " ").split() if word not in urls)
    return urls


def refresh_url(content: str) -> str | None:
    """The URL a ``<meta http-equiv=refresh>`` navigates to, or None (reload or invalid).

    Follows the HTML Living Standard's "shared declarative refresh steps" exactly, so
    ``0;https://…``, ``0; URL = 'https://…'`` and ``0,url=…`` all yield the URL.
    """
    text, pos = content, 0

    def skip_ws() -> None:
        nonlocal pos
        while pos < len(text) and text[pos] in _WS:
            pos += 1

    skip_ws()
    start = pos
    while pos < len(text) and text[pos].isdigit() and text[pos].isascii():
        pos += 1
    if pos == start and not text.startswith(".", pos):
        return None
    while pos < len(text) and (text[pos] in "0123456789."):
        pos += 1
    if pos < len(text):
        if text[pos] not in ";," + _WS:
            return None
        skip_ws()
        if pos < len(text) and text[pos] in ";,":
            pos += 1
        skip_ws()
    if pos >= len(text):
        return None
    for letter in "url":
        if pos < len(text) and text[pos].lower() == letter:
            pos += 1
        else:
            break
    else:
        skip_ws()
        if pos < len(text) and text[pos] == "=":
            pos += 1
            skip_ws()
    quote = text[pos] if pos < len(text) and text[pos] in "'\"" else ""
    if quote:
        pos += 1
    url = text[pos:]
    if quote and quote in url:
        url = url[: url.index(quote)]
    return url


class ReferenceRules:
    """The privacy rules as a tag handler (see the module docstring for ``mode``).

    Front-ends call ``handle_starttag`` with lower-cased tag and attribute names and
    entity-decoded values, every attribute in source order (duplicates included: all are
    checked), ``handle_data`` with the text of ``script``/``style`` elements and
    ``handle_endtag``. ``line()`` gives the current 1-based line for messages.
    """

    def __init__(self, mode: Mode, line: Callable[[], int] = lambda: 0) -> None:
        self.mode = mode
        self.line = line
        self.violations: list[Violation] = []
        self.csps: list[str] = []
        self.referrer: str | None = None
        self.srcdocs: list[tuple[int, str]] = []  # (line, document) to scan as pages
        self._in: str | None = None  # "script" / "style" whose text we must look at
        self._in_line = 0
        self._text: list[str] = []

    def add(self, url: str, what: str, line: int | None = None) -> None:
        self.violations.append(Violation(url, self.line() if line is None else line, what))

    def check_css(self, css: str, first_line: int, what: str) -> None:
        """Report every external URL ``css`` loads (``first_line`` is where ``css`` starts)."""
        for ref in css_references(css):
            if is_external(ref.url):
                self.add(ref.url, what, first_line + ref.line - 1)

    # -- start tags --------------------------------------------------------------------------

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values: dict[str, str] = {}
        for name, value in attrs:
            values.setdefault(name, value or "")  # the first one wins, as in browsers
        for name, value in attrs:
            self._attribute(tag, name, value or "")
        if tag == "link":
            self._link(values)
        elif tag == "meta":
            self._meta(values)
        elif tag == "param" and values.get("name", "").lower() in ("movie", "src", "url"):
            self._url(values.get("value", ""), f"<param name={values['name']}>")
        if self.mode != "template":
            self._scripting(tag, values)
        self._watch_text(tag, values)
        if tag == "iframe" and "srcdoc" in values:
            self.srcdocs.append((self.line(), values["srcdoc"]))

    def _url(self, url: str, what: str) -> None:
        if is_external(url):
            self.add(url, what)

    def _attribute(self, tag: str, name: str, value: str) -> None:
        what = f"<{tag} {name}>"
        # href on SVG elements (use, image, feImage, tref, pattern, filter…) loads what it
        # names; on a, link, base and area it is handled above or is a link to follow.
        # Elements of other XML vocabularies ("{namespace}name") have no such meaning.
        svg_link = (
            name in ("href", "xlink:href")
            and tag not in ("a", "link", "base", "area")
            and not tag.startswith("{")
        )
        if name in _RESOURCE_ATTRS.get(tag, ()) or name in _ANY_ELEMENT_ATTRS or svg_link:
            if name in _URL_LISTS:
                urls = value.split()
            elif name in _SRCSETS:
                urls = srcset_urls(value)
            else:
                urls = [value]
            for url in urls:
                self._url(url, what)
        if name == "style" or (name in _CSS_URL_ATTRS and "(" in value):
            self.check_css(value, self.line(), what)
        if name == "referrerpolicy" and value.strip().lower() not in ("", "no-referrer"):
            self.add("", f"{what}={value!r} would send this page's address to another site")

    def _link(self, values: dict[str, str]) -> None:
        rels = values.get("rel", "").lower().split()
        if all(rel in _NAVIGATION_RELS for rel in rels):
            return
        what = f"<link rel={values.get('rel', '')}>"
        self._url(values.get("href", ""), what)
        for url in srcset_urls(values.get("imagesrcset", "")):
            self._url(url, what)

    def _meta(self, values: dict[str, str]) -> None:
        equiv = values.get("http-equiv", "").strip(_WS).lower()
        content = values.get("content", "")
        if equiv == "refresh":
            url = refresh_url(content)
            if url is not None and (is_external(url) or is_script_url(url)):
                self.add(url.strip(), "<meta http-equiv=refresh> (navigates away by itself)")
        elif equiv == "content-security-policy":
            self.csps.append(content)
        elif equiv == "x-dns-prefetch-control":
            if content.strip(_WS).lower() != "off":
                self.add("", f"<meta http-equiv={equiv} content={content!r}> turns on DNS prefetch")
        elif equiv and equiv not in _HARMLESS_EQUIV:
            self.add("", f"<meta http-equiv={values['http-equiv']!r}> is not allowed")
        elif values.get("name", "").strip(_WS).lower() == "referrer":
            self.referrer = content

    # -- script -------------------------------------------------------------------------------

    def _scripting(self, tag: str, values: dict[str, str]) -> None:
        served_bare = self.mode == "image"
        for name, value in values.items():
            if name.startswith("on"):
                self.add("", f"event handler {name}= on <{tag}> runs script")
            elif name in _URL_ATTRS and (
                is_script_url(value) or (name == "values" and "script:" in value.lower())
            ):
                self.add("", f"script URL in <{tag} {name}>")
        if tag in _ANIMATIONS:
            target = values.get("attributename", "").strip(_WS).lower()
            if target.endswith("href") or target.startswith("on"):
                self.add("", f"<{tag} attributeName={target}> rewrites a link or handler")
        if served_bare:
            if tag in _ACTIVE_IN_IMAGES:
                self.add("", f"<{tag}> in an SVG or XML file (runs script or embeds a document)")
            return
        if tag == "base":
            self.add("", "<base> element (blocked by the CSP: base-uri 'none')")
        if "style" in values:
            self.add("", f"inline style attribute on <{tag}> (blocked by the CSP)")

    # -- element text -------------------------------------------------------------------------

    def _watch_text(self, tag: str, values: dict[str, str]) -> None:
        """Start collecting the text of a ``<style>`` (CSS to check) or inline ``<script>``."""
        inline_script = (
            tag == "script"
            and "src" not in values
            and values.get("type", "").lower() not in _DATA_SCRIPT_TYPES
        )
        if tag == "style" or (inline_script and self.mode == "page"):
            self.finish()
            self._in, self._in_line, self._text = tag, self.line(), []

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in:
            self.finish()

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._text.append(data)

    def finish(self) -> None:
        """Check the text collected for the open ``<style>``/``<script>``, if any."""
        if self._in is None:
            return
        text = "".join(self._text)
        if self._in == "style":
            self.check_css(text, self._in_line, "<style>")
        if self.mode == "page" and text.strip():
            self.add("", f"inline <{self._in}> element (blocked by the CSP)", self._in_line)
        self._in, self._text = None, []
