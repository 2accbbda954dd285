"""Whether ``[site] base_url`` may be published.

Invariant: no release is signed or published while ``base_url`` names this machine (a
loopback or unspecified address, or ``localhost``), because every page prints it — the
canonical link, the feeds, the sitemap, the verify page — and a reader who follows it
reaches nothing, or worse, whatever listens on their own machine. The check parses the
host the way browsers do, so every spelling of the same address is caught: ``127.1``,
``2130706433`` and ``0x7f.0.0.1`` are 127.0.0.1 to ``inet_aton`` and to a browser alike.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tamizdat.errors import ConfigError

if TYPE_CHECKING:
    from tamizdat.config import Config

__all__ = ["is_preview_url", "preview_base_url_warning", "require_public_base_url"]

_KEY = "site.base_url"


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # the legacy IPv4 spellings browsers accept: 127.1, 2130706433, 0x7f.1
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def is_preview_url(url: str) -> bool:
    """True when ``url``'s host is this machine: loopback, unspecified, or ``localhost``."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".")
    except ValueError:
        return False  # not a URL at all: load_config already refused it
    if host in ("", "localhost") or host.endswith(".localhost"):  # RFC 6761 §6.3
        return True
    address = _address(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address is not None and (address.is_loopback or address.is_unspecified)


def require_public_base_url(config: Config) -> None:
    """Refuse to sign or publish pages that print a preview address as their home.

    Raises:
        ConfigError: ``[site] base_url`` (or its default, when the key is missing) is a
            loopback, unspecified or ``localhost`` address; names the file and key.
    """
    url = config.site.base_url
    if is_preview_url(url):
        raise ConfigError(
            f"{url!r} is a preview address on this machine: every published page would "
            "print it as the site's address",
            where=f"{config.file}: {_KEY}",
            hint='set [site] base_url to the address readers use, e.g. "https://example.org/"',
        )


def preview_base_url_warning(config: Config) -> tuple[str, ...]:
    """The build's warning when ``base_url`` is a preview address (fine for previews only)."""
    url = config.site.base_url
    if not is_preview_url(url):
        return ()
    return (
        f"{config.file}: {_KEY} = {url!r} is a preview address: 'sign' and 'publish' will "
        "refuse it; set the address readers use before publishing",
    )
