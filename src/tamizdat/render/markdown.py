"""Article Markdown → safe HTML that loads nothing from another origin.

Invariant kept: the HTML returned contains only allow-listed elements and attributes, links
carry ``rel="noopener noreferrer"``, and every image points at a processed, metadata-free
variant on this site. A reference to an external resource in the source is an error
naming the article line, never a silent drop: the author must learn that the picture they
embedded would have told a third party who reads the article.

Parsing is cmark-gfm (compiled CommonMark + GFM tables, footnotes, strikethrough,
autolinks) with raw HTML passed through (``CMARK_OPT_UNSAFE``) so that nh3 — not cmark's
coarse "drop all raw HTML" switch — decides what survives.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from urllib.parse import unquote

import cmarkgfm
import nh3
from cmarkgfm.cmark import Options

from tamizdat.content.model import Article
from tamizdat.errors import ContentError, PrivacyError
from tamizdat.render.i18n import translations_for
from tamizdat.render.privacy import find_external_resources, is_external
from tamizdat.render.types import ImageSet

__all__ = ["ALLOWED_ATTRIBUTES", "ALLOWED_TAGS", "markdown_to_html", "render_body"]

_OPTIONS = Options.CMARK_OPT_UNSAFE | Options.CMARK_OPT_FOOTNOTES | Options.CMARK_OPT_VALIDATE_UTF8
_EXTENSIONS = ["table", "autolink", "strikethrough"]

ALLOWED_TAGS = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "col", "colgroup",
        "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure",
        "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol",
        "p", "pre", "q", "s", "samp", "section", "small", "span", "strong", "sub",
        "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr",
        "u", "ul", "var",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "a": frozenset({"href", "title", "id", "class"}),
    "abbr": frozenset({"title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "ol": frozenset({"start", "reversed"}),
    "li": frozenset({"id"}),
    "td": frozenset({"align", "colspan", "rowspan"}),
    "th": frozenset({"align", "colspan", "rowspan", "scope"}),
    "code": frozenset({"class"}),
    "sup": frozenset({"class"}),
    "section": frozenset({"class"}),
    "time": frozenset({"datetime"}),
    "q": frozenset({"cite"}),
    "blockquote": frozenset({"cite"}),
}
# Only footnote ids may be set by authors: an arbitrary id could clobber the theme's DOM.
_ID = re.compile(r"^fn(ref)?-[\w-]{1,64}$")
_CLASSES = {
    "a": {"footnote-ref", "footnote-backref"},
    "sup": {"footnote-ref"},
    "section": {"footnotes"},
}
_CODE_CLASS = re.compile(r"^language-[\w+#.-]{1,32}$")


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "id":
        return value if _ID.match(value) else None
    if attribute == "class":
        if tag == "code":
            return value if _CODE_CLASS.match(value) else None
        kept = [c for c in value.split() if c in _CLASSES.get(tag, set())]
        return " ".join(kept) or None
    return value


_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style", "template", "noscript", "iframe", "object"},
    attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    attribute_filter=_filter_attribute,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer",
    strip_comments=True,
)
_IMG = re.compile(r"<img\b([^>]*)>")
_ATTR = re.compile(r'([a-zA-Z-]+)="([^"]*)"')
# Width the browser lays a body image out at; the theme's column is 42rem wide.
SIZES = "(max-width: 44rem) 100vw, 42rem"


def markdown_to_html(text: str) -> str:
    """CommonMark + GFM → raw (unsanitised) HTML."""
    return str(cmarkgfm.markdown_to_html_with_extensions(text, _OPTIONS, _EXTENSIONS))


def _source_line(article: Article, url: str) -> int:
    for candidate in (url, html.escape(url, quote=False), html.escape(url)):
        index = article.body.find(candidate)
        if index >= 0:
            return article.body_line + article.body.count("\n", 0, index)
    return article.body_line


def _picture(attrs: dict[str, str], images: ImageSet, root: str) -> str:
    middle = images.variants[len(images.variants) // 2]
    parts = [
        f'src="{html.escape(root + middle.output)}"',
        f'srcset="{html.escape(images.srcset(root))}"',
        f'sizes="{SIZES}"',
        f'width="{middle.width}"',
        f'height="{middle.height}"',
        f'alt="{html.escape(attrs.get("alt", ""))}"',
    ]
    if attrs.get("title"):
        parts.append(f'title="{html.escape(attrs["title"])}"')
    parts.append('loading="lazy"')
    parts.append('decoding="async"')
    return "<img " + " ".join(parts) + ">"


def _rewrite_images(body: str, article: Article, images: Mapping[str, ImageSet], root: str) -> str:
    sources = dict(article.body_images)

    def replace(match: re.Match[str]) -> str:
        attrs = {k: html.unescape(v) for k, v in _ATTR.findall(match.group(1))}
        src = attrs.get("src", "")
        source = sources.get(src) or sources.get(unquote(src))
        where = f"{article.source}:{_source_line(article, src)}"
        if source is None:
            raise ContentError(
                f"image {src!r} is not a known image file (expected a path under the "
                "site's static or media folders)",
                where=where,
            )
        if source not in images:
            raise ContentError(f"image {source!r} was not processed", where=where)
        return _picture(attrs, images[source], root)

    return _IMG.sub(replace, body)


_ALIGN = re.compile(r'<(td|th)\b([^>]*?) align="([^"]*)"')
_TABLE_OPEN = re.compile(r"<table\b")


def _table_markup(body: str, lang: str) -> str:
    """GFM alignment as classes (the obsolete ``align`` attribute fails validation, and the
    CSP forbids the inline style that would replace it), and every table in a scroll
    region a keyboard can reach: wide tables scroll sideways on a phone."""

    def align(match: re.Match[str]) -> str:
        tag, before, value = match.groups()
        if value in ("left", "center", "right"):
            return f'<{tag}{before} class="align-{value}"'
        return f"<{tag}{before}"

    body = _ALIGN.sub(align, body)
    if "<table" not in body:
        return body
    label = html.escape(translations_for(lang).gettext("Table"), quote=True)
    region = f'<div class="table-wrap" tabindex="0" role="region" aria-label="{label}">'
    body = _TABLE_OPEN.sub(lambda m: region + m.group(0), body)
    return body.replace("</table>", "</table></div>")


def render_body(article: Article, images: Mapping[str, ImageSet], root: str) -> str:
    """The article body as sanitised HTML; ``root`` is the relative path to public/.

    Raises:
        PrivacyError: the body references an image, frame, script or other resource on
            another origin; ``where`` is ``source:LINE`` and the message names the URL.
        ContentError: a body image is not among the article's known, processed images.
    """
    raw = markdown_to_html(article.body)
    external = find_external_resources(raw)
    if external:
        first = external[0]
        raise PrivacyError(
            f"{first.what} would make readers' browsers load {first.url!r} from another origin",
            where=f"{article.source}:{_source_line(article, first.url)}",
            hint="copy the file into the site's media folder and reference it relatively, "
            "or link to it with [text](URL)",
        )
    clean = _CLEANER.clean(raw)
    body = _table_markup(_rewrite_images(clean, article, images, root), article.lang)
    # Defence in depth: nothing the sanitiser kept may point elsewhere either.
    for match in _IMG.finditer(body):
        for name, value in _ATTR.findall(match.group(1)):
            if name == "src" and is_external(html.unescape(value)):
                raise PrivacyError(f"image {value!r} survived sanitising", where=article.source)
    return body
