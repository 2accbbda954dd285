"""SVG files lose editor metadata (who drew them, with what, from which file), as a class.

Every editor writes its own namespace under its own prefix, or none: the cleaner removes
whatever is outside the vocabularies a browser draws, by namespace, never by prefix name,
and keeps the drawing exactly (same SVG elements, same attributes, same order).
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.dom import minidom

import pytest

from tamizdat.cli import main
from tamizdat.render.svg_clean import clean_svg

SECRET = "Anna-Secretova"
SVG = "http://www.w3.org/2000/svg"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'


def _svg(declarations: str, root_attributes: str, body: str, before: str = "") -> bytes:
    return (
        f'{HEAD}{before}<svg xmlns="{SVG}" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'{declarations} width="20" height="10" {root_attributes}>\n'
        f'<rect x="1" y="1" width="5" height="5" style="fill:#c00"/>{body}'
        '<use xlink:href="#r"/>\n</svg>\n'
    ).encode()


INK = 'xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"'
SODI = 'xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd"'
RDF = (
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:cc="http://creativecommons.org/ns#"'
)
CASES = {
    "inkscape-attributes": _svg(
        INK, f'inkscape:export-filename="/home/{SECRET}/x.png"', '<g inkscape:label="L"/>'
    ),
    "sodipodi-docname-and-namedview": _svg(
        f"{INK} {SODI}",
        f'sodipodi:docname="{SECRET}.svg"',
        f'<sodipodi:namedview inkscape:current-layer="{SECRET}"/>',
    ),
    "rdf-dc-creator-in-metadata": _svg(
        RDF,
        "",
        "<metadata><rdf:RDF><cc:Work><dc:creator><cc:Agent><dc:title>"
        f"{SECRET}</dc:title></cc:Agent></dc:creator></cc:Work></rdf:RDF></metadata>",
    ),
    "plain-svg-metadata-element": _svg("", "", f"<metadata>{SECRET}</metadata>"),
    "prefixed-svg-metadata-element": _svg(
        f'xmlns:s="{SVG}"', "", f"<s:metadata>{SECRET}</s:metadata>"
    ),
    "editor-namespace-under-another-prefix": _svg(
        'xmlns:ink="http://www.inkscape.org/namespaces/inkscape"',
        f'ink:export-filename="{SECRET}"',
        "",
    ),
    "editor-namespace-as-default-of-a-subtree": _svg(
        "",
        "",
        f'<data xmlns="http://ns.adobe.com/AdobeIllustrator/10.0/"><p>{SECRET}</p></data>',
    ),
    "illustrator-and-sketch": _svg(
        'xmlns:i="http://ns.adobe.com/AdobeIllustrator/10.0/" '
        'xmlns:sketch="http://www.bohemiancoding.com/sketch/ns"',
        f'i:pageBounds="{SECRET}"',
        f'<g sketch:type="MSPage"><i:pgf>{SECRET}</i:pgf></g>',
    ),
    "xmp-packet": _svg(
        'xmlns:x="adobe:ns:meta/"',
        "",
        f"<metadata><x:xmpmeta><x:creator>{SECRET}</x:creator></x:xmpmeta></metadata>",
    ),
    "comment-before-root": _svg("", "", "", before=f"<!-- Created by {SECRET} -->\n"),
    "comment-inside": _svg("", "", f"<!-- {SECRET} -->"),
}


def _drawing(data: bytes) -> list[tuple[str, list[tuple[str, str]]]]:
    """The SVG elements in document order with their drawn attributes."""
    document = minidom.parseString(data)
    found = []
    for element in document.getElementsByTagNameNS(SVG, "*"):
        if element.localName == "metadata":
            continue
        attributes = [
            (name, value)
            for name, value in element.attributes.items()
            if ":" not in name or name.startswith("xlink:")
        ]
        found.append((element.localName, attributes))
    return found


@pytest.mark.parametrize("case", sorted(CASES))
def test_editor_metadata_is_removed_and_the_drawing_kept(case: str) -> None:
    data = CASES[case]
    assert SECRET.encode() in data
    result = clean_svg(data)
    assert result is not None
    assert result.removed
    assert SECRET.encode() not in result.data
    for namespace in ("inkscape", "sodipodi", "purl.org/dc", "AdobeIllustrator", "sketch/ns"):
        assert namespace.encode() not in result.data, namespace
    assert _drawing(result.data) == _drawing(data)
    again = clean_svg(result.data)
    assert again is not None
    assert again.removed == ()
    assert again.data == result.data


def test_clean_svg_is_left_as_it_is() -> None:
    data = _svg(
        "", "", '<foreignObject><p xmlns="http://www.w3.org/1999/xhtml">Hi</p></foreignObject>'
    )
    result = clean_svg(data)
    assert result is not None
    assert result.removed == ()
    assert result.data == data


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "x">]><svg xmlns="'
        + SVG.encode()
        + b'"/>',
        "<?xml version='1.0' encoding='utf-16'?><!DOCTYPE svg><svg/>".encode("utf-16"),
        b"<svg><not-closed></svg>",
    ],
    ids=["doctype", "doctype-in-utf16", "malformed"],
)
def test_doctype_or_malformed_is_left_to_the_privacy_check(data: bytes) -> None:
    assert clean_svg(data) is None


def test_build_publishes_the_cleaned_svg_and_reports_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    assert main(["-q", "init", str(site), "--title", "SVG test"]) == 0
    (site / "static").mkdir(exist_ok=True)
    (site / "static" / "logo.svg").write_bytes(CASES["sodipodi-docname-and-namedview"])
    (site / "static" / "plain.svg").write_bytes(_svg("", "", ""))
    capsys.readouterr()
    assert main(["-C", str(site), "-q", "--json", "build"]) == 0
    report = json.loads(capsys.readouterr().out)
    published = (site / "public" / "logo.svg").read_bytes()
    assert SECRET.encode() not in published
    assert b"sodipodi" not in published
    notes = {n["file"]: n for n in report["metadata_removed"]}
    assert notes["static/logo.svg"]["type"] == "SVG"
    assert "editor attributes" in notes["static/logo.svg"]["removed"]
    assert "static/plain.svg" not in notes
    assert (site / "public" / "plain.svg").read_bytes() == _svg("", "", "")
    # A rebuild reuses the cleaned copy (cached by content) and says the same.
    assert main(["-C", str(site), "-q", "--json", "build"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["metadata_removed"] == report["metadata_removed"]
    assert (site / "public" / "logo.svg").read_bytes() == published
