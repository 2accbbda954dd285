"""What the loader needs from a Markdown body without rendering it: images and words.

Invariant: image references are found where Markdown would show an image (``![alt](ref)``
and raw ``<img src=…>``), never inside code blocks or code spans, and each carries the line
of the file it sits on.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

__all__ = ["body_image_refs", "count_words", "is_external", "ref_path"]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)[^`\n]*?\1")
_MD_IMAGE = re.compile(
    r"!\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>\n]*>|[^\s)]+)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
_HTML_IMAGE = re.compile(
    r"<img\b[^>]*?\ssrc\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.IGNORECASE
)
_EXTERNAL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*:|//)")

_HTML_TAG = re.compile(r"<[^>\n]+>")
_IMAGE_OR_LINK_TARGET = re.compile(r"!\[[^\]]*\]\([^)]*\)|\]\([^)]*\)")
_URL = re.compile(r"\bhttps?://\S+")
# A token a reader reads: whitespace-separated and holding at least one letter or digit.
_WORD_TOKEN = re.compile(r"[^\w\s]*\w\S*")


def is_external(ref: str) -> bool:
    """True for refs with a scheme (``https:``, ``data:``) or protocol-relative (``//host``)."""
    return bool(_EXTERNAL.match(ref.strip()))


def _mask_code(body: str) -> str:
    """Blank out fenced code blocks and code spans, keeping every newline and offset."""
    out: list[str] = []
    fence: str | None = None
    for line in body.split("\n"):
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            out.append(" " * len(line))
        elif fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            out.append(" " * len(line))
        else:
            out.append(_CODE_SPAN.sub(lambda m: " " * len(m.group(0)), line))
    return "\n".join(out)


def _clean_ref(ref: str) -> str:
    ref = ref.strip()
    if ref.startswith("<") and ref.endswith(">"):
        ref = ref[1:-1].strip()
    return ref


def body_image_refs(body: str, body_line: int) -> list[tuple[str, int]]:
    """Every image ``(ref as written, line)`` in ``body``, in order of appearance.

    ``body_line`` is the file line the body starts on. Refs are returned as written (the
    renderer matches them against the HTML); external ones are included, callers skip them.
    """
    if "![" not in body and "<" not in body:
        return []
    masked = _mask_code(body) if "`" in body or "~~~" in body else body
    found: list[tuple[int, str]] = []
    for match in _MD_IMAGE.finditer(masked):
        found.append((match.start(), _clean_ref(match.group(1))))
    for match in _HTML_IMAGE.finditer(masked):
        ref = next(g for g in match.groups() if g is not None)
        found.append((match.start(), ref.strip()))
    found.sort()
    return [(ref, body_line + masked.count("\n", 0, pos)) for pos, ref in found if ref]


def ref_path(ref: str) -> str:
    """The file path part of a local ref: no query or fragment, percent-decoded."""
    for mark in ("#", "?"):
        ref = ref.split(mark, 1)[0]
    return unquote(ref)


def count_words(body: str) -> int:
    """Words a reader reads in ``body``: markup, link targets, images and URLs removed.

    Rough on purpose (it feeds "3 min read"): whitespace-separated tokens, minus tokens
    made only of punctuation (list bullets, dashes, heading marks).
    """
    text = body
    # Each pass only when its markup is present: this runs on every article of a cold load.
    if "](" in text:
        text = _IMAGE_OR_LINK_TARGET.sub(" ", text)
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "://" in text:
        text = _URL.sub(" ", text)
    # Counted by ``subn``, not ``split``: a list of every word of a 30 MB file costs ~10x
    # the file in memory; what ``subn`` keeps is only the whitespace between words.
    return _WORD_TOKEN.subn("", text)[1]
