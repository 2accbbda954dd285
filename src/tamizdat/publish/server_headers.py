"""The web server configuration a folder, SFTP or WebDAV mirror needs: ``mirrors headers``.

A mirror that is a folder behind someone's web server gets its headers from that server, not
from tamizdat. This module writes them for nginx, Apache and Caddy, from the same tables the
S3 store uses (:mod:`tamizdat.publish.headers`), so every kind of mirror answers alike:
``Access-Control-Allow-Origin: *`` (the browser worker on another mirror's origin must read
it), ``X-Content-Type-Options: nosniff``, Cache-Control by path class (immutable by-hash
targets and versioned metadata, never-cached timestamp and unversioned metadata, short for
pages), the Content-Types, and half-written temporary uploads never served.

Invariant: the only outside text placed in a configuration is the URL path prefix, and it
is refused unless made of letters, digits and ``. _ ~ -`` (no segment starting with a dot):
characters that mean nothing to any of the three configuration languages and need no URL
decoding (no quote, brace, semicolon, space, ``#``, ``$``, ``*``, ``%`` or newline).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, get_args

from tamizdat.errors import UserError
from tamizdat.layout import METADATA_DIR, TARGETS_DIR, WELL_KNOWN
from tamizdat.publish.headers import (
    IMMUTABLE,
    NATURAL_CACHE,
    POLLED_CACHE,
    TEMP_PREFIX,
    VERSIONED_CACHE,
    served_types,
)

__all__ = ["SERVERS", "Server", "render_server_headers"]

Server = Literal["nginx", "apache", "caddy"]
SERVERS: tuple[str, ...] = get_args(Server)


def _escape(text: str) -> str:
    """A literal for all three regex dialects: the prefix and layout paths hold no other
    metacharacter than the dot (see _SAFE_PREFIX)."""
    return text.replace(".", r"\.")


_SAFE_PREFIX = re.compile(r"^/(?:[A-Za-z0-9_~-][A-Za-z0-9._~-]*/)*$")


@dataclass(frozen=True, slots=True)
class _PathClass:
    """Paths (a regular expression after the prefix) that share one Cache-Control."""

    label: str
    pattern: str
    cache_control: str


# Mutually exclusive patterns, so no server's rule order can make one shadow another:
# versioned metadata names start with a digit ("7.root.json"), unversioned ones never do.
_CLASSES = (
    _PathClass("by-hash targets: never change", _escape(TARGETS_DIR) + "/", IMMUTABLE),
    _PathClass(
        "versioned metadata: never changes",
        _escape(METADATA_DIR) + r"/[0-9]+\.[^/]+\.json$",
        VERSIONED_CACHE,
    ),
    _PathClass(
        "timestamp and unversioned metadata: what readers poll, never cached",
        _escape(WELL_KNOWN) + r"/(metadata/[^0-9/][^/]*\.json|publish-state\.json)$",
        POLLED_CACHE,
    ),
)
_TEMP = _escape(TEMP_PREFIX)
# Always on, on every answer (errors included): without CORS on a 404 the worker cannot
# even tell a missing file from a blocked mirror.
_COMMON = (
    ("Access-Control-Allow-Origin", "*"),
    ("Vary", "Origin"),
    ("X-Content-Type-Options", "nosniff"),
)


def render_server_headers(server: Server, prefix: str = "/", mirror: str | None = None) -> str:
    """The configuration snippet for ``server`` serving a mirror under URL path ``prefix``.

    Raises:
        UserError: ``prefix`` holds characters a configuration could misread, or the server
            is not one of SERVERS.
    """
    if not prefix.endswith("/"):
        prefix += "/"
    if not _SAFE_PREFIX.match(prefix):
        raise UserError(
            f"expected a URL path of plain characters, found {prefix!r}",
            where=f"mirror {mirror}: public_url" if mirror else "public_url",
            hint="serve the mirror under a simpler path",
        )
    title = f"mirror {mirror!r}" if mirror else "a tamizdat mirror"
    head = f"tamizdat: headers for {title} served under {prefix}"
    if server == "nginx":
        return _nginx(prefix, head)
    if server == "apache":
        return _apache(prefix, head)
    if server == "caddy":
        return _caddy(prefix, head)
    raise UserError(f"expected one of {', '.join(SERVERS)}, found {server!r}", where="--server")


def _nginx(prefix: str, head: str) -> str:
    anchored = "^" + _escape(prefix)

    def headers(cache: str, indent: str) -> list[str]:
        # add_header in a nested location replaces the outer ones: repeat all of them.
        lines = [f'{indent}add_header {name} "{value}" always;' for name, value in _COMMON]
        return [*lines, f'{indent}add_header Cache-Control "{cache}" always;']

    out = [f"# {head}", "# Paste inside the server { } block that serves the mirror's folder."]
    out += [f"location ^~ {prefix} {{", "    default_type application/octet-stream;"]
    out += ["    types {"]
    out += [f"        {ctype.split(';')[0]} {ext[1:]};" for ext, ctype in served_types().items()]
    out += ["    }", "    charset utf-8;"]
    out += ["    charset_types text/html text/css text/plain text/javascript;"]
    out += headers(NATURAL_CACHE, "    ")
    out += [f'    location ~ "{anchored}(.*/)?{_TEMP}" {{', "        return 404;", "    }"]
    for cls in _CLASSES:
        out += [f"    # {cls.label}", f'    location ~ "{anchored}{cls.pattern}" {{']
        out += [*headers(cls.cache_control, "        "), "    }"]
    out += ["}", ""]
    return "\n".join(out)


def _apache(prefix: str, head: str) -> str:
    anchored = "^" + _escape(prefix)
    out = [
        f"# {head}",
        "# Needs mod_headers, mod_mime and mod_alias; put it in the <VirtualHost> block.",
    ]
    out += [f'<LocationMatch "{anchored}">']
    out += [f'    Header always set {name} "{value}"' for name, value in _COMMON]
    out += [f'    Header always set Cache-Control "{NATURAL_CACHE}"', "</LocationMatch>"]
    for cls in _CLASSES:
        out += [f"# {cls.label}", f'<LocationMatch "{anchored}{cls.pattern}">']
        out += [f'    Header always set Cache-Control "{cls.cache_control}"', "</LocationMatch>"]
    out += [f'RedirectMatch 404 "{anchored}(.*/)?{_TEMP}"', "AddDefaultCharset off"]
    for ext, ctype in served_types().items():
        mime, _, charset = ctype.partition(";")
        out.append(f"AddType {mime} {ext}")
        if charset:
            out.append(f"AddCharset utf-8 {ext}")
    out.append("")
    return "\n".join(out)


def _caddy(prefix: str, head: str) -> str:
    anchored = "^" + _escape(prefix)
    out = [f"# {head}", "# Paste inside the site block that serves the mirror's folder."]
    out += [f"@tamizdat_mirror path {prefix}*", "header @tamizdat_mirror {"]
    out += [f'    {name} "{value}"' for name, value in _COMMON]
    out += [f'    Cache-Control "{NATURAL_CACHE}"', "}"]
    for index, cls in enumerate(_CLASSES):
        name = f"@tamizdat_class{index}"
        out += [f"# {cls.label}", f'{name} path_regexp "{anchored}{cls.pattern}"']
        out += [f'header {name} Cache-Control "{cls.cache_control}"']
    out += [f'@tamizdat_temp path_regexp "{anchored}(.*/)?{_TEMP}"', "respond @tamizdat_temp 404"]
    for index, (ext, ctype) in enumerate(served_types().items()):
        out += [f'@tamizdat_type{index} path_regexp "{anchored}.*{_escape(ext)}$"']
        out += [f'header @tamizdat_type{index} Content-Type "{ctype}"']
    out.append("")
    return "\n".join(out)
