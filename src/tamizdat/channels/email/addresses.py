"""Strict e-mail address checking: what a subscriber list, a robot request or a CLI flag
may put in a header.

Invariant: :func:`check_address` returns an ``addr_spec`` that is safe to place in a
``To:`` header and an SMTP ``RCPT TO`` (no CR, LF, NUL or other control character, no
whitespace, no comment, no display name, no quoted local part, no route, RFC 5321 lengths),
or raises. A non-ASCII local part is refused unless the caller's server offers SMTPUTF8;
a non-ASCII domain is turned into its IDNA (``xn--``) form, so the stored and the sent
spelling are the same ASCII bytes.
"""

from __future__ import annotations

import re
import unicodedata
from email.errors import HeaderParseError
from email.headerregistry import Address

from tamizdat.errors import UserError, quoted

__all__ = ["MAX_ADDRESS", "check_address", "same_mailbox"]

MAX_ADDRESS = 254  # RFC 5321 §4.5.3.1.3 path limit (256) less the angle brackets
_MAX_LOCAL = 64
_MAX_LABEL = 63
# RFC 5322 atext, and dots between atoms (dot-atom): no quoted strings, no comments.
_LOCAL_ASCII = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_TLD = re.compile(r"^([a-z]{2,63}|xn--[a-z0-9-]{1,59})$")


def _refuse(text: str, why: str, where: str | None) -> UserError:
    return UserError(f"expected an e-mail address, found {quoted(text)}: {why}", where=where)


def _check_local(local: str, text: str, smtputf8: bool, where: str | None) -> None:
    if not local or len(local.encode()) > _MAX_LOCAL:
        raise _refuse(text, f"the part before '@' must be 1–{_MAX_LOCAL} bytes", where)
    if local.isascii():
        if not _LOCAL_ASCII.match(local):
            raise _refuse(text, "characters outside RFC 5322 dot-atom before '@'", where)
        return
    if not smtputf8:
        raise _refuse(
            text, "non-ASCII before '@' needs a server offering SMTPUTF8 (not enabled)", where
        )
    if unicodedata.normalize("NFC", local) != local:
        raise _refuse(text, "the part before '@' is not in Unicode NFC form", where)
    ascii_part = "".join(c if c.isascii() else "a" for c in local)
    if not _LOCAL_ASCII.match(ascii_part) or any(unicodedata.category(c)[0] in "CZ" for c in local):
        raise _refuse(text, "characters outside RFC 6531 dot-atom before '@'", where)


def _check_domain(domain: str, text: str, where: str | None) -> str:
    try:
        ascii_domain = domain.encode("idna").decode("ascii").lower() if domain else ""
    except UnicodeError:
        raise _refuse(text, "the domain is not a valid internationalised name", where) from None
    labels = ascii_domain.split(".")
    if len(labels) < 2 or len(ascii_domain) > 253:
        raise _refuse(text, "expected a domain with a dot, at most 253 characters", where)
    for label in labels:
        if len(label) > _MAX_LABEL or not _LABEL.match(label):
            raise _refuse(text, f"bad domain label {quoted(label, 40)}", where)
    if not _TLD.match(labels[-1]):
        raise _refuse(text, "the top-level domain is not a name", where)
    return ascii_domain


def check_address(text: str, *, smtputf8: bool = False, where: str | None = None) -> str:
    """The address ``text`` as a bare, header-safe ``local@domain`` (domain lower-cased,
    IDNA-encoded). Surrounding spaces are trimmed; nothing else is repaired.

    Raises:
        UserError: not a single plain address (names ``where``, quotes the text bounded).
    """
    if not isinstance(text, str):
        raise UserError(f"expected an e-mail address, found {quoted(text)}", where=where)
    if len(text) > 4 * MAX_ADDRESS:  # before any work on a stranger's text
        raise _refuse(text, f"longer than {MAX_ADDRESS} characters", where)
    text = text.strip(" \t")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") or c.isspace() for c in text):
        raise _refuse(text, "control characters or spaces (a header injection?)", where)
    local, at, domain = text.rpartition("@")
    if not at or "@" in local:
        raise _refuse(text, "expected exactly one '@'", where)
    _check_local(local, text, smtputf8, where)
    ascii_domain = _check_domain(domain, text, where)
    address = f"{local}@{ascii_domain}"
    if len(address.encode()) > MAX_ADDRESS:
        raise _refuse(text, f"longer than {MAX_ADDRESS} bytes", where)
    # The standard library's parser must read it back as exactly this one address (its
    # parser is ASCII-only: an SMTPUTF8 local part is checked in its ASCII shape).
    shape = "".join(c if c.isascii() else "a" for c in address)
    try:
        parsed = Address(addr_spec=shape)
    except (HeaderParseError, ValueError, IndexError) as exc:
        raise _refuse(text, f"not an RFC 5322 address ({exc})", where) from None
    if parsed.addr_spec != shape:
        raise _refuse(text, "not an RFC 5322 address", where)
    return address


def same_mailbox(address: str) -> str:
    """The key two spellings of one mailbox share in the subscriber store: the domain is
    already lower-case; the local part is compared case-insensitively (RFC 5321 lets a
    server tell cases apart, but no provider a reader uses does)."""
    local, _, domain = address.rpartition("@")
    return f"{local.casefold()}@{domain}"
