"""Reader privacy: no built page makes a browser contact another origin.

Invariant kept: every HTML page, stylesheet, SVG and XML file the build publishes (rendered
from the theme, or copied from a static folder: see :mod:`tamizdat.render.static_check`)
references resources (scripts, styles, images, fonts, frames, media, manifests, prefetches)
only by relative, same-origin URLs and never sends the reader elsewhere by itself; every
HTML page carries the strict Content-Security-Policy and ``no-referrer`` metas and holds no
inline script or style (the CSP would block them, so they are bugs); an SVG or XML file
holds no script in any form (it is served without our CSP). Ordinary ``<a href>`` links to
other sites are fine: following one is the reader's choice.

One checker: the rules live in :mod:`tamizdat.render.references` and every document kind
goes through them. Only the tokenizer differs, and each is the one a browser applies to
that kind: HTML through a WHATWG tokenizer and tree builder (html5lib; the quick path of
:mod:`tamizdat.render.strict_html` is used where it provably agrees), SVG and XML through an
XML parser (expat) with namespaces, so entities, CDATA, foreign content and namespace
prefixes mean to the check what they mean to the browser. ``html.parser`` is not used: it
reads ``</style x>``, ``--!>`` and ``<![CDATA[`` differently from browsers.

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
- ``script-src 'self'``: the small theme scripts (relative time, search), the service worker's
  register script and the verify page's check; no inline script, no ``eval``.
- ``style-src 'self'``: the theme stylesheet only; no inline styles.
- ``img-src 'self'``: the re-encoded images only (no ``data:``, see above).
- ``connect-src 'self'``: ``search.js`` fetches the same-origin search index; the service
  worker verifies mirrors through its own fetches, not the page's.
- ``worker-src 'self'``: the service worker, ``/sw.js`` of this origin only.
- ``font-src 'self'``: no web fonts by default, a theme may ship its own.
- ``manifest-src 'self'``: a web-app manifest for the offline reader.
- ``base-uri 'none'``: an injected ``<base>`` cannot redirect every relative URL.
- ``form-action 'self'``: the search form submits to its own page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import partial
from typing import Any
from xml.parsers import expat

from tamizdat.errors import PrivacyError
from tamizdat.render.references import Mode, ReferenceRules, Violation, is_external
from tamizdat.render.strict_html import TagMemo, feed_strict
from tamizdat.site_policy import CSP, REFERRER

__all__ = [
    "CSP",
    "REFERRER",
    "Violation",
    "check_page",
    "find_external_resources",
    "find_violations",
    "is_external",
]


_HTML_SUFFIXES = (".html", ".htm")
_XML_SUFFIXES = (".svg", ".xml", ".rss", ".atom")
# Bytes that let a browser decode the document differently from the check: a UTF-16/32
# byte-order mark, NUL (UTF-16 sniffing), ESC (ISO-2022-JP's mode switches).
_BOMS = (b"\xfe\xff", b"\xff\xfe")
_SWITCHING_BYTES = {0x00: "NUL", 0x1B: "ESC"}
_MAX_SRCDOC_DEPTH = 3
_NAMESPACE_PREFIXES = {
    "http://www.w3.org/1999/xlink": "xlink:",
    "http://www.w3.org/XML/1998/namespace": "xml:",
}
_XMLNS = "http://www.w3.org/2000/xmlns/"
_XHTML = "http://www.w3.org/1999/xhtml"
# Vocabularies whose element names the rules know; other XML elements are "{ns}name".
_KNOWN_NAMESPACES = frozenset(
    {_XHTML, "http://www.w3.org/2000/svg", "http://www.w3.org/1998/Math/MathML"}
)


# -- HTML: the quick path, else html5lib ------------------------------------------------------


def _attribute_name(name: Any) -> str | None:
    """``href``, ``xlink:href``, ``xml:base``; None for namespace declarations."""
    if isinstance(name, tuple):  # (prefix, local, namespace) in some html5lib builders
        name = f"{{{name[2]}}}{name[1]}" if name[2] else name[1]
    if not name.startswith("{"):
        return str(name).lower()
    namespace, _, local = name[1:].partition("}")
    if namespace == _XMLNS:
        return None
    return str(_NAMESPACE_PREFIXES.get(namespace, "") + local).lower()


def _html5_scan(text: str, rules: ReferenceRules) -> None:
    """Feed ``rules`` every element a browser's HTML parser builds from ``text``."""
    # Imported here: only pages outside the quick path's subset need it, and its import
    # is a noticeable part of a one-page rebuild.
    import html5lib
    from html5lib import treebuilders

    base = treebuilders.getTreeBuilder("etree")
    created: list[tuple[Any, int]] = []
    position: list[Callable[[], int]] = [lambda: 1]

    class Builder(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            make: Callable[..., Any] = getattr(self, "elementClass")  # noqa: B009 - untyped base

            def element(name: str, namespace: str | None = None) -> Any:
                node = make(name, namespace)
                created.append((node, position[0]()))
                return node

            self.elementClass = element

    parser = html5lib.HTMLParser(tree=Builder)
    position[0] = lambda: int(parser.tokenizer.stream.position()[0])
    parser.parse(text)
    for node, line in created:
        tag = str(node.name).lower()
        attrs: list[tuple[str, str | None]] = []
        for name, value in node.attributes.items():
            normal = _attribute_name(name)
            if normal is not None:
                attrs.append((normal, str(value)))
        rules.line = partial(int, line)
        rules.handle_starttag(tag, attrs)
        if tag in ("style", "script"):
            rules.handle_data("".join(node._element.itertext()))
        rules.handle_endtag(tag)
    rules.finish()


# Per mode: start tags already found harmless (see TagMemo). ``meta`` tags set the CSP
# and referrer the page must carry, so they are always looked at.
_MEMOS = {mode: TagMemo(frozenset({"meta"})) for mode in ("template", "page")}


def _scan_html(text: str, mode: Mode, depth: int = 0) -> ReferenceRules:
    """Run the rules over ``text``: quick path first, html5lib when it is unsure.

    The quick path (:func:`feed_strict`) feeds the same rules the same tags, but line
    numbers are unknown there; so its answer is taken only when it finds the page clean,
    and any finding is reported by a full pass (exact lines).
    """
    quick = ReferenceRules(mode)
    memo = _MEMOS[mode]
    clean = feed_strict(text, quick, memo)
    quick.finish()
    clean = clean and not quick.violations and not quick.srcdocs
    if clean and (mode == "template" or (quick.csps == [CSP] and quick.referrer == REFERRER)):
        memo.commit()
        return quick
    memo.discard()
    return _full_scan(text, mode, depth)


def _full_scan(text: str, mode: Mode, depth: int) -> ReferenceRules:
    rules = ReferenceRules(mode)
    _html5_scan(text, rules)
    for line, document in rules.srcdocs:
        # An <iframe srcdoc> is a whole document in an attribute, under this page's CSP.
        if depth >= _MAX_SRCDOC_DEPTH:
            rules.add("", "<iframe srcdoc> nested too deeply to check", line)
            continue
        for found in _full_scan(document, mode, depth + 1).violations:
            rules.add(found.url, f"{found.what} in <iframe srcdoc>", line)
    return rules


# -- SVG and XML: expat ----------------------------------------------------------------------


class _StopParsingError(Exception):
    """Raised inside an expat handler to stop at a construct we refuse outright."""


def _scan_xml(data: bytes) -> ReferenceRules:
    """Feed ``rules`` every element of an SVG or XML document, as a browser's XML parser reads it."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.ordered_attributes = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    rules = ReferenceRules("image", line=lambda: parser.CurrentLineNumber)

    def name_of(raw: str) -> tuple[str, str]:
        namespace, _, local = raw.rpartition(" ")
        if namespace and namespace not in _KNOWN_NAMESPACES:
            return namespace, f"{{{namespace}}}{local}".lower()
        return namespace, local.lower()

    def start(raw: str, flat: list[str]) -> None:
        # XHTML elements get the same rules as SVG ones: in an XML document a browser
        # renders them as HTML (a script runs), so the "image" rules refuse any script.
        _namespace, tag = name_of(raw)
        attrs: list[tuple[str, str | None]] = []
        for i in range(0, len(flat), 2):
            attr_ns, _, local = flat[i].rpartition(" ")
            if attr_ns != _XMLNS:
                attrs.append(((_NAMESPACE_PREFIXES.get(attr_ns, "") + local).lower(), flat[i + 1]))
        rules.handle_starttag(tag, attrs)

    def end(raw: str) -> None:
        rules.handle_endtag(name_of(raw)[1])

    def instruction(target: str, _data: str) -> None:
        if target.lower() == "xml-stylesheet":
            rules.add("", "<?xml-stylesheet?> (a stylesheet or XSLT can load and run anything)")

    def doctype(_name: str, _sys: str | None, _pub: str | None, internal: int) -> None:
        if internal:
            rules.add("", "a DOCTYPE with an internal subset (its entities could hide anything)")
            raise _StopParsingError

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = rules.handle_data
    parser.ProcessingInstructionHandler = instruction
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except _StopParsingError:
        pass
    except expat.ExpatError as exc:
        rules.add(
            "",
            f"not well-formed XML ({expat.ErrorString(exc.code)}), so it cannot be checked",
            exc.lineno,
        )
    rules.finish()
    return rules


# -- the public checks ------------------------------------------------------------------------


def _encoding_violations(data: bytes) -> list[Violation]:
    """Bytes that would make a browser decode ``data`` otherwise than as UTF-8."""
    if data.startswith(_BOMS):
        return [Violation("", 1, "a UTF-16 byte-order mark: publish HTML, CSS and SVG as UTF-8")]
    for byte, name in _SWITCHING_BYTES.items():
        index = data.find(bytes([byte]))
        if index >= 0:
            line = data.count(b"\n", 0, index) + 1
            return [Violation("", line, f"a {name} byte (it can switch a browser's decoder)")]
    return []


def find_external_resources(html: str) -> list[Violation]:
    """Every resource-loading or self-navigating reference in ``html`` (a template)."""
    return _scan_html(html, "template").violations


def _css_violations(text: str) -> list[Violation]:
    rules = ReferenceRules("template")
    rules.check_css(text, 1, "stylesheet")
    return rules.violations


# The exact shape :func:`tamizdat.render.feeds.sitemap_xml` writes: the sitemaps.org
# elements with text free of markup, and XHTML links that can only be rel="alternate" (a
# link that loads nothing; a stylesheet link is what an XML browser view would load). No
# processing instruction besides the XML declaration, no DOCTYPE, no other element.
_SITEMAP = re.compile(
    r'<\?xml version="1\.0" encoding="utf-8"\?>\n'
    r'<urlset xmlns="http://www\.sitemaps\.org/schemas/sitemap/0\.9" '
    r'xmlns:xhtml="http://www\.w3\.org/1999/xhtml">\n'
    r"(?:<url>\n<loc>[^<>]*</loc>\n(?:<lastmod>[-0-9T:.+]*</lastmod>\n)?"
    r'(?:<xhtml:link rel="alternate" hreflang="[-a-zA-Z0-9]*" href="[^<>"]*"/>\n)*'
    r"</url>\n)*"
    r"</urlset>\n",
)


def sitemap_violations(data: bytes) -> list[Violation]:
    """Like :func:`find_violations` for a sitemap, but fast for the shape tamizdat writes.

    A sitemap of that exact shape can load nothing (see ``_SITEMAP``): it is accepted by one
    linear match instead of an XML scan of every element (the scan took most of a one-page
    rebuild of a large site). Anything else — a theme's own sitemap, a future format — gets
    the full scan of :func:`find_violations`.
    """
    if not _encoding_violations(data) and _SITEMAP.fullmatch(data.decode("utf-8", "replace")):
        return []
    return find_violations("sitemap.xml", data)


def find_violations(output_path: str, data: bytes) -> list[Violation]:
    """Everything in one output file that breaks the privacy rule (empty when clean).

    HTML pages are scanned for external resources, automatic navigation, inline
    scripts/styles and the two required metas; stylesheets for ``url()``, ``@import`` and
    ``image-set()``; SVG files for external references and any script. Other files
    (feeds, JSON, scripts, images) are not documents a browser renders as such, so they
    pass here; :mod:`tamizdat.render.static_check` decides which static files may exist.
    """
    lowered = output_path.lower()
    if lowered.endswith(_XML_SUFFIXES):
        return _scan_xml(data).violations
    if not lowered.endswith((".css", *_HTML_SUFFIXES)):
        return []
    encoding = _encoding_violations(data)
    if encoding:
        return encoding
    text = data.decode("utf-8", errors="replace")
    if lowered.endswith(".css"):
        return _css_violations(text)
    rules = _scan_html(text, "page")
    violations = list(rules.violations)
    if rules.csps != [CSP]:
        found = ", ".join(map(repr, rules.csps)) or "none"
        violations.append(
            Violation("", 1, f"expected exactly the tamizdat CSP meta, found {found}")
        )
    if rules.referrer != REFERRER:
        violations.append(
            Violation("", 1, f"expected <meta name=referrer content={REFERRER}>, found none")
        )
    return violations


def check_page(output_path: str, html_or_css_bytes: bytes, source_hint: str) -> None:
    """Refuse a page, stylesheet or SVG that would load anything from another origin.

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
