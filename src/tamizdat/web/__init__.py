"""The browser side of a site: the service worker and the scripts pages load, as published.

The JavaScript is built from ``web/src`` into this package (``npm run build``; a test checks
the packaged files equal a fresh build), so a newsroom needs no Node.js. Invariant: the
worker a build publishes carries exactly one configuration line before the packaged bundle:
the publisher's root fingerprint (its trust anchor), the site's address and the site's CSP,
validated here, so equal inputs give equal bytes and no other value reaches the script.
"""

from __future__ import annotations

import json
import re
from importlib import resources
from urllib.parse import urlsplit

from tamizdat.errors import ConfigError
from tamizdat.site_policy import CSP

__all__ = ["PAGE_SCRIPTS", "WORKER_PATH", "page_script", "worker_script"]

WORKER_PATH = "sw.js"
# Published under assets/ by the build (name there → packaged file).
PAGE_SCRIPTS = {
    "tz-register.js": "tz-register.js",
    "tz-verify.js": "tz-verify.js",
    "tz-ed25519.js": "tz-ed25519.js",
}
_FINGERPRINT = re.compile(r"^[0-9a-f]{64}$")


def _packaged(name: str) -> bytes:
    return (resources.files("tamizdat") / "web" / name).read_bytes()


def page_script(name: str) -> bytes:
    """The packaged script published as ``assets/NAME`` (a key of :data:`PAGE_SCRIPTS`)."""
    return _packaged(PAGE_SCRIPTS[name])


def worker_script(fingerprint: str, site_url: str) -> bytes:
    """``/sw.js`` for a site signed by the root with ``fingerprint`` and published at
    ``site_url``.

    Raises:
        ConfigError: a fingerprint that is not 64 lowercase hex digits, or a site address
            that is not an absolute http(s) URL (the worker would trust or fetch nonsense).
    """
    if not _FINGERPRINT.match(fingerprint):
        raise ConfigError(
            f"expected a root fingerprint of 64 lowercase hex digits, found {fingerprint!r}",
            where="sw.js",
        )
    parts = urlsplit(site_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"expected the site's address as an absolute http(s) URL, found {site_url!r}",
            where="[site] base_url",
        )
    site = site_url if site_url.endswith("/") else site_url + "/"
    config = json.dumps({"anchor": fingerprint, "site": site, "csp": CSP}, sort_keys=True)
    return f"var TAMIZDAT = {config};\n".encode() + _packaged(WORKER_PATH)
