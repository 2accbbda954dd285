"""The browser policy every page of a site lives under: one place, read by every stage.

Built pages carry :data:`CSP` in a ``<meta>`` (render), the local servers send it as a
header (reader, preview), and mirrors are told the same (publish). No third-party load, no
inline script or style: what a page may load is only what the site itself published.
"""

from __future__ import annotations

__all__ = ["CSP", "REFERRER"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; worker-src 'self'; base-uri 'none'; "
    "form-action 'self'"
)
REFERRER = "no-referrer"
