"""The first-screen budget: headline and lead arrive in the first packets.

Invariant checked: on an article page, everything up to the end of the lead compresses to
at most ``budget`` bytes of gzip. Connections to big hosters from Russia have been seen to
stall after roughly 16 KB; with the TCP initial window of 10 segments a server sends about
14 KB before the first acknowledgement, so 14 KB is the default.

The lead is the element carrying ``class="lead"`` (the default theme's article template);
without a lead, the headline's ``</h1>`` ends the first screen.

The build calls :func:`check_first_screen` on every article page it renders; ``[build]
budget`` in ``tamizdat.toml`` says whether a page over budget fails the build (``"fail"``,
the default: the budget is an invariant, and what breaks it is nearly always a theme
change, best caught before it ships) or is published with a warning (``"warn"``).
"""

from __future__ import annotations

import re
import zlib

from tamizdat.config.site import BudgetMode
from tamizdat.errors import ContentError

__all__ = [
    "FIRST_SCREEN_BUDGET",
    "check_first_screen",
    "compressed_prefix_size",
    "first_screen_end",
    "first_screen_within",
]

FIRST_SCREEN_BUDGET = 14 * 1024
_LEAD = re.compile(rb"<(\w+)[^>]*\bclass=\"[^\"]*\blead\b[^\"]*\"[^>]*>")
_H1_END = re.compile(rb"</h1\s*>", re.IGNORECASE)
_GZIP_OVERHEAD = 18  # gzip header (10) + trailer (8) around the deflate stream


def first_screen_end(html: bytes) -> int | None:
    """Byte offset just after the lead element (or the headline); None when neither exists."""
    heading = _H1_END.search(html)
    if heading is None:
        return None
    lead = _LEAD.search(html, heading.end())
    if lead is None:
        return heading.end()
    close = re.compile(rb"</" + re.escape(lead.group(1)) + rb"\s*>", re.IGNORECASE)
    end = close.search(html, lead.end())
    return end.end() if end else None


def compressed_prefix_size(data: bytes) -> int:
    """Bytes a gzip stream needs to deliver ``data`` completely (level 9, flushed)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return len(body) + _GZIP_OVERHEAD


def first_screen_within(html: bytes, budget: int = FIRST_SCREEN_BUDGET) -> bool:
    """True when the headline and lead lie within the first ``budget`` gzip bytes.

    A page without an ``<h1>`` (or with an unclosed lead) fails: there is no first
    screen to deliver.
    """
    end = first_screen_end(html)
    return end is not None and compressed_prefix_size(html[:end]) <= budget


def check_first_screen(
    output: str, html: bytes, mode: BudgetMode, budget: int = FIRST_SCREEN_BUDGET
) -> str | None:
    """Check one article page against the budget; None when it meets it.

    In ``"warn"`` mode returns the message for a page over budget (naming the page, where
    its first screen ends and how many gzip bytes that takes, and the budget).

    Raises:
        ContentError: in ``"fail"`` mode, a page over budget (the same message).
    """
    end = first_screen_end(html)
    if end is None:
        message = (
            f"{output}: no first screen to measure (no </h1> headline, or its lead is not "
            f"closed); the budget is {budget} gzip bytes"
        )
    else:
        size = compressed_prefix_size(html[:end])
        if size <= budget:
            return None
        message = (
            f"{output}: the headline and lead end {end} bytes into the page, {size} bytes "
            f"of gzip; the first-screen budget is {budget} bytes"
        )
    if mode == "warn":
        return message
    raise ContentError(
        message,
        where=output,
        hint="move what the theme puts before the headline (menus, inline images) after "
        'the lead, or set [build] budget = "warn" in tamizdat.toml to publish anyway',
    )
