"""The publisher fingerprint readers pin.

The fingerprint is the SHA-256 of the exact bytes of the first root metadata file
(``METADATA_DIR/1.root.json``). Every later root is reached from it through the TUF root
chain (§5.3.4: each new root is signed by a threshold of the previous root's keys and of
its own), so the fingerprint never changes when keys rotate.
"""

from __future__ import annotations

import hashlib
import io
import re
from typing import TYPE_CHECKING

from tamizdat.errors import UserError

if TYPE_CHECKING:
    import segno

__all__ = [
    "fingerprint_qr_svg",
    "fingerprint_qr_terminal",
    "format_fingerprint",
    "normalize_fingerprint",
    "root_fingerprint",
]

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def root_fingerprint(first_root: bytes) -> str:
    """Lowercase hex SHA-256 of the bytes of ``1.root.json``."""
    return hashlib.sha256(first_root).hexdigest()


def normalize_fingerprint(text: str) -> str:
    """Accept a fingerprint as printed (groups, spaces, dashes, colons, any case).

    Raises:
        UserError: not 64 hexadecimal digits once separators are removed.
    """
    cleaned = re.sub(r"[\s:\-_]", "", text).lower()
    if not _HEX64.match(cleaned):
        raise UserError(
            f"expected a fingerprint of 64 hexadecimal digits, found {text!r}",
            where="--fingerprint",
            hint="copy it from the publisher's verify page, channel description or printout",
        )
    return cleaned


def format_fingerprint(fingerprint: str, group: int = 4) -> str:
    """``abcd ef01 …``: groups of four for reading aloud and comparing on paper."""
    return " ".join(fingerprint[i : i + group] for i in range(0, len(fingerprint), group))


def _qr(fingerprint: str) -> segno.QRCode:
    import segno  # here: only the verify page and the CLI draw QR codes

    # The QR code holds the bare 64 hex digits, which every scanner shows as text and which
    # ``normalize_fingerprint`` (and ``tamizdat verify --fingerprint``) accepts as is.
    return segno.make(normalize_fingerprint(fingerprint), error="m")


def fingerprint_qr_terminal(fingerprint: str) -> str:
    """The fingerprint as a QR code drawn with block characters, for a terminal.

    Raises:
        UserError: not a fingerprint.
    """
    out = io.StringIO()
    _qr(fingerprint).terminal(out=out, compact=True, border=2)
    return out.getvalue()


def fingerprint_qr_svg(fingerprint: str, title: str = "") -> bytes:
    """The fingerprint as a standalone SVG QR code (for printing, profiles, the verify page).

    Raises:
        UserError: not a fingerprint.
    """
    out = io.BytesIO()
    _qr(fingerprint).save(out, kind="svg", scale=4, border=2, title=title or None, xmldecl=False)
    return out.getvalue()
