"""Every error tamizdat raises, grouped by who is at fault.

::

    TamizdatError                       base of everything below; ``where`` + ``hint``
    ├── UserError                       fix your files, flags or keys, then run again
    │   ├── ConfigError                 tamizdat.toml: names the key ("did you mean …")
    │   ├── ContentError                an article, data file or image: names file and line
    │   ├── PrivacyError                a page would load a third-party resource: file and URL
    │   ├── KeyStoreError               a key is missing, locked, or the passphrase is wrong
    │   ├── BundleError                 a bundle file is malformed or hostile
    │   ├── UnsafeFileError             a link, FIFO, device or socket where a file was expected
    │   └── RateLimitedError            a requester asked for mirrors too often in the window
    ├── UntrustedContentError           what a mirror, bundle or channel delivered is not authentic
    │   ├── BadSignatureError           signatures below threshold, or by a key not authorised
    │   ├── RollbackError               older than a version this machine saw before
    │   ├── TamperedError               a file's length or hash differs from the signed one
    │   ├── MixAndMatchError            metadata of different releases combined
    │   ├── OversizeError               more bytes than the signed length or a hard limit
    │   ├── UnauthorizedPathError       a role signed a path outside its delegation
    │   ├── LogForkError                the publication log rewrites history
    │   ├── ExpiredMetadataError        expired metadata, raised only in strict (spec) mode
    │   └── NotThisPublisherError       the root does not match the pinned fingerprint
    ├── TransportError                  a mirror did not answer properly: try the next one
    │   ├── MirrorUnreachableError      connection refused, DNS, TLS, too slow for one file
    │   ├── MirrorResponseError         an HTTP error status, a refused redirect, a store error
    │   ├── DeadlineError               the whole operation's deadline passed: ask no other mirror
    │   └── ChannelError                an SMTP server or messenger API failed to deliver an announcement
    └── InternalError                   a bug in tamizdat: please report it

An *expired* signature is deliberately not an error: an old but authentic copy is shown as
"authentic, published DATE, possibly outdated" (see ``tamizdat.trust``). Messages say what
was expected, what was found, and where; ``hint`` says what to do about it.
"""

from __future__ import annotations

import enum
import reprlib

__all__ = [
    "BadSignatureError",
    "BundleError",
    "ChannelError",
    "ConfigError",
    "ContentError",
    "DeadlineError",
    "ExitCode",
    "ExpiredMetadataError",
    "InternalError",
    "KeyStoreError",
    "LogForkError",
    "MirrorResponseError",
    "MirrorUnreachableError",
    "MixAndMatchError",
    "NotThisPublisherError",
    "OversizeError",
    "PrivacyError",
    "RateLimitedError",
    "RollbackError",
    "TamizdatError",
    "TamperedError",
    "TransportError",
    "UnauthorizedPathError",
    "UnsafeFileError",
    "UntrustedContentError",
    "UserError",
    "quoted",
]

# Bounded at every level: quoting a YAML alias bomb (a list nested a billion items deep
# through shared references) must cost a few hundred characters, not gigabytes.
_QUOTER = reprlib.Repr()
_QUOTER.maxlevel = 2
_QUOTER.maxstring = _QUOTER.maxother = _QUOTER.maxlong = 80
_QUOTER.maxlist = _QUOTER.maxtuple = _QUOTER.maxdict = _QUOTER.maxset = 4
_QUOTER.maxfrozenset = _QUOTER.maxdeque = _QUOTER.maxarray = 4
QUOTE_LIMIT = 80


def quoted(value: object, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)`` for an error message, at most about ``limit`` characters.

    Every error that quotes user input goes through here: the repr is built with bounded
    depth and width (never the whole value), control characters come out escaped (a quoted
    value cannot drive the terminal), and a long result is cut with "…" and its length.
    """
    text = _QUOTER.repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str) else ""
    return f"{text[: max(limit - 1, 8)]}…{size}"


class ExitCode(enum.IntEnum):
    """Process exit codes, shared by every command (documented in README.md)."""

    OK = 0
    INTERNAL = 1
    USER = 2
    STALE = 3
    ROLLBACK = 4
    TAMPERED = 5
    NOT_THIS_PUBLISHER = 6
    UNREACHABLE = 7


class TamizdatError(Exception):
    """Base of every tamizdat error.

    ``where`` names the file (with ``:line``), config key, mirror or URL at fault;
    ``hint`` is one optional sentence on what to do next.
    """

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None):
        self.message = message
        self.where = where
        self.hint = hint
        super().__init__(f"{where}: {message}" if where else message)


class UserError(TamizdatError):
    """The user's files, flags or keys need fixing."""

    exit_code = ExitCode.USER


class ConfigError(UserError):
    """tamizdat.toml is invalid; ``where`` is ``FILE: key``."""


class ContentError(UserError):
    """An article, data file or image is invalid; ``where`` is ``FILE:LINE``."""


class PrivacyError(UserError):
    """A built page would make readers' browsers contact another origin."""


class KeyStoreError(UserError):
    """A signing key is missing, unreadable, or its passphrase is wrong."""


class BundleError(UserError):
    """A bundle file is malformed or hostile (traversal, bomb, duplicates, truncation)."""


class UnsafeFileError(UserError):
    """A symbolic link, FIFO, socket or device file stands where a regular file was expected,
    or a link resolves outside the folder being read; ``where`` names the path.

    Refused so that nothing outside a tree (a signing key, ``/dev/zero``) is read through it,
    and no read blocks on a FIFO. See :mod:`tamizdat.files`.
    """


class RateLimitedError(UserError):
    """A requester (an e-mail address, a Telegram user) asked for mirrors too often; the
    refusal names the channel and the window, never the requester."""


class UntrustedContentError(TamizdatError):
    """Delivered bytes are not what the publisher signed. Never display them."""

    exit_code = ExitCode.TAMPERED


class BadSignatureError(UntrustedContentError):
    """Fewer valid signatures than the threshold, or a key the role does not authorise."""


class RollbackError(UntrustedContentError):
    """A version older than one this machine has already seen (TUF §5.3–5.6)."""

    exit_code = ExitCode.ROLLBACK


class TamperedError(UntrustedContentError):
    """A file's length or hash differs from the signed one; ``where`` names file and source."""


class MixAndMatchError(UntrustedContentError):
    """Metadata files of different releases were combined (snapshot/timestamp mismatch)."""


class OversizeError(UntrustedContentError):
    """More bytes than the signed length or a configured hard limit (endless data)."""


class UnauthorizedPathError(UntrustedContentError):
    """A role signed a path outside the paths delegated to it."""


class LogForkError(UntrustedContentError):
    """The publication log does not extend the one seen before: history was rewritten."""

    exit_code = ExitCode.ROLLBACK


class ExpiredMetadataError(UntrustedContentError):
    """Expired metadata in strict mode (``allow_stale=False``, the conformance client only).

    Readers never see it: for them expiry is the "stale" label, not an error.
    """

    exit_code = ExitCode.STALE


class NotThisPublisherError(UntrustedContentError):
    """The root metadata does not match the pinned fingerprint."""

    exit_code = ExitCode.NOT_THIS_PUBLISHER


class TransportError(TamizdatError):
    """A mirror or channel failed to deliver; another mirror may work."""

    exit_code = ExitCode.UNREACHABLE


class MirrorUnreachableError(TransportError):
    """Connection refused, name not resolved, TLS failure, or too slow for one file."""


class MirrorResponseError(TransportError):
    """The mirror answered with an error status or a refused redirect, or a store failed."""


class ChannelError(TransportError):
    """An announcing channel (an SMTP server, the Telegram API) failed to deliver; ``where``
    names the channel. The announcement stays pending in the journal and a re-run retries it.
    ``permanent`` marks a refusal that retrying will not fix (a rejected address)."""

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        hint: str | None = None,
        permanent: bool = False,
    ):
        super().__init__(message, where=where, hint=hint)
        self.permanent = permanent


class DeadlineError(TransportError):
    """The whole operation's deadline passed: stop, no other mirror is asked.

    Distinct from :class:`MirrorUnreachableError` (one mirror too slow for one file, the next
    one is asked) so that fail-over code never has to read a message to tell them apart.
    """


class InternalError(TamizdatError):
    """A bug in tamizdat."""
