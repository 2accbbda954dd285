"""Remove editor metadata from SVG files before they are published.

Invariant: what :func:`clean_svg` returns holds only elements and attributes of the
vocabularies a browser draws — SVG, XLink, XML, XHTML (inside ``foreignObject``) and MathML —
or in no namespace (plain SVG attributes); everything in any other namespace is removed
with its content, whichever editor wrote it and whatever prefix it uses (Inkscape,
Sodipodi, Illustrator, Sketch, Serif, RDF, Dublin Core, Creative Commons, XMP…), as are
SVG ``<metadata>`` elements, comments and the declarations of the namespaces removed. A
browser ignores foreign elements when drawing, so the picture is unchanged; what is gone is
who made it, with which tool, from which file on whose disk (``sodipodi:docname``,
``inkscape:export-filename``, ``dc:creator``, …).

The document is parsed without namespace processing, so prefixes and attribute order are
kept as written; namespaces are resolved from the ``xmlns`` declarations in scope. A file
that is not well-formed XML, or declares a DOCTYPE, is returned as ``None``: it is copied as
is and the privacy check (:mod:`tamizdat.render.static_check`) decides about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.dom import minidom
from xml.parsers import expat

__all__ = ["CLEANER_VERSION", "CleanedSvg", "clean_svg"]

CLEANER_VERSION = "1"  # bump when what is removed changes (cached results are keyed by it)
_DRAWN = frozenset(
    {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
        "http://www.w3.org/XML/1998/namespace",
        "http://www.w3.org/1999/xhtml",
        "http://www.w3.org/1998/Math/MathML",
    }
)
_SVG = "http://www.w3.org/2000/svg"
_MAX_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class CleanedSvg:
    """The cleaned document and, for the report, what was removed."""

    data: bytes
    removed: tuple[str, ...]


def _scope(element: minidom.Element, parent: dict[str, str]) -> dict[str, str]:
    """The prefix → namespace map in force on ``element`` ('' is the default namespace)."""
    scope = parent
    for name, value in element.attributes.items():
        if name == "xmlns" or name.startswith("xmlns:"):
            if scope is parent:
                scope = dict(parent)
            scope[name[6:]] = value
    return scope


def _namespace(qualified: str, scope: dict[str, str], *, attribute: bool) -> str | None:
    prefix, colon, _local = qualified.rpartition(":")
    if not colon:
        return None if attribute else scope.get("")  # unprefixed attributes: no namespace
    if prefix == "xml":
        return "http://www.w3.org/XML/1998/namespace"
    return scope.get(prefix, f"undeclared prefix {prefix}")


def _clean(
    node: minidom.Element | minidom.Document, scope: dict[str, str], removed: list[str]
) -> None:
    for child in list(node.childNodes):
        if child.nodeType == child.COMMENT_NODE:
            node.removeChild(child)
            removed.append("comments")
            continue
        if not isinstance(child, minidom.Element):
            continue
        inner = _scope(child, scope)
        namespace = _namespace(child.tagName, inner, attribute=False)
        local = child.tagName.rpartition(":")[2]
        if (namespace is not None and namespace not in _DRAWN) or (
            namespace == _SVG and local == "metadata"
        ):
            node.removeChild(child)
            removed.append("editor metadata")
            continue
        for name in list(child.attributes.keys()):
            if name == "xmlns" or name.startswith("xmlns:"):
                continue
            attr_ns = _namespace(name, inner, attribute=True)
            if attr_ns is not None and attr_ns not in _DRAWN:
                child.removeAttribute(name)
                removed.append("editor attributes")
        _clean(child, inner, removed)


def _drop_declarations(node: minidom.Element | minidom.Document) -> None:
    """Remove ``xmlns:p`` declarations of namespaces no longer drawn from."""
    for child in node.childNodes:
        if not isinstance(child, minidom.Element):
            continue
        for name, value in list(child.attributes.items()):
            if name.startswith("xmlns:") and value not in _DRAWN:
                child.removeAttribute(name)
        _drop_declarations(child)


class _DoctypeError(Exception):
    """Raised inside the expat handler: the document declares a DOCTYPE."""


def _plain_xml(data: bytes) -> bool:
    """Well-formed XML without a DOCTYPE (so without entity declarations)."""
    parser = expat.ParserCreate()

    def doctype(*_args: object) -> None:
        raise _DoctypeError

    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(data, True)
    except (_DoctypeError, expat.ExpatError, ValueError):
        return False
    return True


def clean_svg(data: bytes) -> CleanedSvg | None:
    """``data`` without editor metadata, or ``None`` when it is left to the privacy check.

    ``removed`` is empty when there was nothing to remove (``data`` is then returned as
    is). Raises nothing.
    """
    if len(data) > _MAX_BYTES or not _plain_xml(data):
        return None
    try:
        # No DOCTYPE (checked above, in whatever encoding), so no entity can be declared:
        # nothing to expand, nothing external to fetch.
        document = minidom.parseString(data)  # noqa: S318
    except (expat.ExpatError, ValueError):
        return None
    removed: list[str] = []
    _clean(document, {"xml": "http://www.w3.org/XML/1998/namespace"}, removed)
    if not removed:
        return CleanedSvg(data, ())
    _drop_declarations(document)
    # Every node of the document in order (processing instructions too: the privacy check
    # must still see them), after a declaration of the encoding written.
    text = "".join(child.toxml() for child in document.childNodes)
    return CleanedSvg(
        ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode(),
        tuple(dict.fromkeys(removed)),
    )
