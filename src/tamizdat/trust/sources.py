"""Where release bytes come from: a directory, an HTTP(S) mirror, or memory (tests).

Invariant: a source only ever raises tamizdat errors — :class:`MissingFileError` (a
:class:`~tamizdat.errors.MirrorResponseError`) for a file that is not there, other
``TransportError`` subclasses for failures, and :class:`~tamizdat.errors.OversizeError` as soon
as more than ``max_length`` bytes arrive (streamed, never buffered past the cap). Sources are
untrusted: they move bytes, and the policy decides what those bytes are worth.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Protocol, cast, runtime_checkable
from urllib.parse import quote

from tamizdat.errors import (
    MirrorResponseError,
    OversizeError,
    TamperedError,
    UnsafeFileError,
    UserError,
)
from tamizdat.files import read_below, walk_regular
from tamizdat.layout import METADATA_DIR
from tamizdat.trust.http_client import HttpClient
from tamizdat.trust.network import Deadline, NetworkLimits

__all__ = [
    "DirectorySource",
    "HttpSource",
    "ListableSource",
    "MemorySource",
    "MissingFileError",
    "SharingSource",
    "Source",
    "check_metadata_shape",
    "check_relative",
    "open_source",
    "read_page",
]

logger = logging.getLogger(__name__)
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


class MissingFileError(MirrorResponseError):
    """The source has no file at this path (HTTP 403/404, no such file or member)."""


@runtime_checkable
class Source(Protocol):
    """A place that serves the release layout (``tamizdat.layout``) by relative path.

    Behaviour flags, read instead of asking for a concrete class: ``remote`` — the bytes
    come over a network from a host that may stall (callers race such sources against each
    other under a deadline, and an HTTP status other than "not found" is a failure, not a
    missing file); ``wire_bytes`` — bytes as transferred so far, or None when the source does
    not count them (then the bytes delivered are what was transferred).
    """

    name: str

    @property
    def remote(self) -> bool: ...

    @property
    def wire_bytes(self) -> int | None: ...

    def fetch(self, path: str, max_length: int) -> bytes:
        """The bytes at ``path`` (relative to the layout root), at most ``max_length``.

        Raises:
            MissingFileError: no such file. TransportError: any other failure.
            OversizeError: more than ``max_length`` bytes.
        """
        ...


@runtime_checkable
class ListableSource(Source, Protocol):
    """A source that can also list every file it holds (optional capability)."""

    def list_files(self) -> Iterable[str]:
        """Every file's layout path: relative, POSIX, no leading slash, in any order.

        A symbolic link, FIFO, socket or device file is never listed or followed: it is an
        error naming it.

        Raises:
            TransportError: the listing failed.
        """
        ...


@runtime_checkable
class SharingSource(Source, Protocol):
    """A source that may serve two layout paths from one stored file (optional capability).

    A bundle stores each file once, at its natural path, and serves the by-hash path from
    it: checking both paths would read and hash the same bytes twice.
    """

    def stored_as(self, path: str) -> str | None:
        """The stored file that serves ``path`` (None: not held). Two paths with the same
        answer always yield the same bytes."""
        ...


def check_relative(path: str, where: str) -> str:
    """Refuse absolute paths and ``..`` so no source reads outside its root.

    Raises:
        MissingFileError: the path cannot name a file inside the layout.
    """
    norm = posixpath.normpath(path)
    if path.startswith("/") or norm.startswith("..") or "\\" in path or "\x00" in path:
        raise MissingFileError(f"refusing path {path!r} outside the release", where=where)
    return norm


def _oversize(path: str, max_length: int, where: str) -> OversizeError:
    return OversizeError(f"expected at most {max_length} bytes for {path}, found more", where=where)


class MemorySource:
    """Files in a dict: the in-memory fake behind the same interface, for unit tests."""

    remote = False
    wire_bytes = None

    def __init__(self, files: Mapping[str, bytes], name: str = "memory") -> None:
        self.files = dict(files)
        self.name = name

    def fetch(self, path: str, max_length: int) -> bytes:
        data = self.files.get(check_relative(path, self.name))
        if data is None:
            raise MissingFileError(f"no file {path}", where=self.name)
        if len(data) > max_length:
            raise _oversize(path, max_length, self.name)
        return data

    def list_files(self) -> Iterable[str]:
        """Every key of the dict."""
        return list(self.files)


class DirectorySource:
    """A release directory, a mounted USB stick, a reader's local store.

    Only regular files are read or listed (:mod:`tamizdat.files`): whoever wrote the folder
    may have left a link to the reader's own files or a FIFO that would block forever, so a
    link (at any depth), FIFO, socket or device file is a :class:`TamperedError` naming it.
    """

    remote = False
    wire_bytes = None

    def __init__(self, root: Path, name: str | None = None) -> None:
        self.root = Path(root)
        self.name = name or str(root)

    def _tampered(self, exc: UnsafeFileError, path: str) -> TamperedError:
        return TamperedError(
            f"{path}: {exc.message}",
            where=self.name,
            hint="this copy holds something other than the files the publisher signed; "
            "get another copy",
        )

    def fetch(self, path: str, max_length: int) -> bytes:
        """See :meth:`Source.fetch`; also raises TamperedError for anything not a regular file."""
        relative = check_relative(path, self.name)
        try:
            data = read_below(self.root, relative, where=path, max_length=max_length + 1)
        except UnsafeFileError as exc:
            raise self._tampered(exc, path) from None
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise MissingFileError(f"no file {path}", where=self.name) from None
        except OSError as exc:
            raise MirrorResponseError(
                f"cannot read {path}: {exc.strerror}", where=self.name
            ) from None
        if len(data) > max_length:
            raise _oversize(path, max_length, self.name)
        return data

    def list_files(self) -> Iterator[str]:
        """Every regular file under the root.

        Raises:
            TamperedError: a link, FIFO, socket or device file (named; never followed).
            MirrorResponseError: a folder cannot be read.
        """
        try:
            for found in walk_regular(self.root, where=""):
                yield found.relative
        except UnsafeFileError as exc:
            raise self._tampered(exc, exc.where or "") from None
        except OSError as exc:
            raise MirrorResponseError(
                f"cannot list {exc.filename}: {exc.strerror}", where=self.name
            ) from None


class HttpSource:
    """An HTTP(S) mirror: every wait bounded by ``limits`` and the operation's ``deadline``.

    Each file gets ``limits.file_seconds(max_length)`` at most, never past ``deadline`` (a
    :class:`~tamizdat.trust.network.Deadline` shared with the mirror pool, or one started
    now from ``limits.deadline``); redirects are followed only within the mirror's origin.
    A metadata path whose bytes are not TUF metadata is missing, not forged (see
    :func:`check_metadata_shape`). Asks for gzip; ``wire_bytes`` counts the response bodies
    as they arrived. ``timeout`` (seconds per read) overrides ``limits.read_timeout``.
    """

    remote = True

    def __init__(
        self,
        base_url: str,
        *,
        ca_file: str | None = None,
        limits: NetworkLimits | None = None,
        deadline: Deadline | None = None,
        timeout: float | None = None,
        name: str | None = None,
        connections: int = 1,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.name = name or base_url
        limits = limits or NetworkLimits()
        if timeout is not None:
            limits = replace(limits, read_timeout=timeout)
        self.limits = limits
        self.deadline = deadline or Deadline(limits.deadline)
        self._client = HttpClient(
            self.base_url, limits=limits, ca_file=ca_file, connections=connections
        )

    @property
    def wire_bytes(self) -> int:
        """Response bodies as received (compressed or not), over every request so far."""
        return self._client.wire_bytes

    def close(self) -> None:
        """Close every connection; a request still running fails at once (a lost race)."""
        self._client.close()

    def _url(self, path: str) -> str:
        return self.base_url + quote(check_relative(path, self.name))

    def fetch(self, path: str, max_length: int) -> bytes:
        data, url = self.fetch_located(self._url(path), max_length, path)
        check_metadata_shape(path, data, url)
        return data

    def fetch_url(self, url: str, max_length: int, path: str | None = None) -> bytes:
        """GET an absolute, already-encoded ``url`` with the same caps and errors as fetch."""
        return self.fetch_located(url, max_length, path)[0]

    def fetch_located(
        self, url: str, max_length: int, path: str | None = None
    ) -> tuple[bytes, str]:
        """The bytes at ``url`` and the URL they came from (after same-origin redirects).

        Raises:
            MissingFileError: HTTP 403, 404 or 410. MirrorResponseError: another status, a
                redirect off the mirror's origin. MirrorUnreachableError: no complete answer
                in this file's budget. DeadlineError: the operation's deadline passed.
            OversizeError: more than ``max_length`` bytes.
        """
        path = path or url
        clock = self.deadline.within(self.limits.file_seconds(max_length))
        answer = self._client.get(url, max_length, clock)
        if answer.url != url:
            logger.info("%s: %s redirected to %s", self.name, url, answer.url)
        if answer.status in (403, 404, 410):
            raise MissingFileError(f"no file {path} (HTTP {answer.status})", where=answer.url)
        if answer.status != 200:
            raise MirrorResponseError(
                f"expected HTTP 200 for {path}, found {answer.status}", where=answer.url
            )
        return answer.body, answer.url


def _expected_metadata_type(path: str) -> str | None:
    """The TUF ``_type`` a layout path's file must have, or None if it is no metadata file."""
    folder, _, file = path.rpartition("/")
    if folder != METADATA_DIR or not file.endswith(".json"):
        return None
    stem = file[: -len(".json")]
    version, dot, rest = stem.partition(".")
    role = rest if dot and version.isdigit() else stem
    return role if role in ("root", "timestamp", "snapshot") else "targets"


def check_metadata_shape(path: str, data: bytes, where: str) -> None:
    """Tell a soft-404 from a forgery: refuse, as missing, a metadata file that is no metadata.

    Static hosts often answer an unknown path with HTTP 200 and a page (a single-page app's
    fallback, a custom 404 page). The rule, the same for every metadata file (paths under
    ``METADATA_DIR`` ending in ``.json``): bytes that are not a JSON object with a
    ``signatures`` list and a ``signed`` object whose ``_type`` is the one the file name
    calls for (root, timestamp, snapshot, else targets) are *missing*. Anything that is
    shaped like that metadata goes on to verification, where every failure is a forgery.

    Raises:
        MissingFileError: the bytes are not metadata of the expected type.
    """
    expected = _expected_metadata_type(check_relative(path, where))
    if expected is None:
        return
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        document = None
    signed = document.get("signed") if isinstance(document, dict) else None
    found = signed.get("_type") if isinstance(signed, dict) else None
    if (
        found == expected
        and isinstance(document, dict)
        and isinstance(document.get("signatures"), list)
    ):
        return
    start = data[:16].decode("utf-8", "replace").strip()
    what = f"{found} metadata" if isinstance(found, str) else f"no metadata (it starts {start!r})"
    raise MissingFileError(
        f"expected {expected} metadata for {path}, found {what}; taken as missing "
        "(a page served in place of a file the mirror does not have)",
        where=where,
    )


def open_source(
    spec: str,
    *,
    ca_file: str | None = None,
    limits: NetworkLimits | None = None,
    deadline: Deadline | None = None,
) -> Source:
    """A source for what the user typed: an ``http(s)://`` URL, a directory or a bundle file.

    An HTTP source keeps to ``limits`` and ``deadline`` (see :class:`HttpSource`); close it
    when done.

    Raises:
        UserError: nothing exists at ``spec``, or it is a file but bundles are unavailable.
        BundleError: the bundle file is malformed or hostile.
    """
    if spec.startswith(("http://", "https://")):
        return HttpSource(spec, ca_file=ca_file, limits=limits, deadline=deadline)
    path = Path(spec).expanduser()
    if path.is_dir():
        return DirectorySource(path)
    if path.is_file():
        try:
            from tamizdat.channels.bundle import open_bundle
        except ImportError:  # pragma: no cover - depends on the installed channels
            raise UserError(
                "bundle files are not supported by this installation", where=spec
            ) from None
        return cast(Source, open_bundle(path))
    raise UserError(
        "expected a release directory, a bundle file or an http(s):// URL, found nothing",
        where=spec,
    )


def read_page(
    spec: str,
    *,
    ca_file: str | None = None,
    limits: NetworkLimits | None = None,
    deadline: Deadline | None = None,
    max_length: int = 64 * 1024 * 1024,
) -> tuple[bytes, str]:
    """The bytes of one page (a file or an ``http(s)://`` URL) and a name for messages: for
    a URL, the one the bytes came from (after same-origin redirects).

    Raises:
        UserError: no such file. TransportError: the URL did not answer in time (limits and
            deadline as for :class:`HttpSource`). OversizeError: larger than ``max_length``.
    """
    if spec.startswith(("http://", "https://")):
        source = HttpSource(spec, ca_file=ca_file, limits=limits, deadline=deadline, name=spec)
        try:
            # What the user typed may hold spaces or non-ASCII: encode it, keep the rest.
            return source.fetch_located(quote(spec, safe=_URL_SAFE), max_length)
        finally:
            source.close()
    try:
        file = Path(os.path.realpath(spec))  # the user named it: a link they typed is theirs
        return DirectorySource(file.parent).fetch(file.name, max_length), spec
    except MissingFileError:
        raise UserError("no such page file", where=spec) from None
