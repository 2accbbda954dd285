"""Where release bytes come from: a directory, an HTTP(S) mirror, or memory (tests).

Invariant: a source only ever raises tamizdat errors — :class:`MissingFileError` (a
:class:`~tamizdat.errors.MirrorResponseError`) for a file that is not there, other
``TransportError`` subclasses for failures, and :class:`~tamizdat.errors.OversizeError` as soon
as more than ``max_length`` bytes arrive (streamed, never buffered past the cap). Sources are
untrusted: they move bytes, and the policy decides what those bytes are worth.
"""

from __future__ import annotations

import os
import posixpath
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Protocol, cast, runtime_checkable
from urllib.parse import quote

import urllib3

from tamizdat.errors import (
    MirrorResponseError,
    MirrorUnreachableError,
    OversizeError,
    TamperedError,
    UnsafeFileError,
    UserError,
)
from tamizdat.files import read_below, walk_regular

__all__ = [
    "DirectorySource",
    "HttpSource",
    "ListableSource",
    "MemorySource",
    "MissingFileError",
    "SharingSource",
    "Source",
    "check_relative",
    "open_source",
    "read_page",
]

_CHUNK = 64 * 1024
# Mirrors and CDNs that compress JSON and HTML send less; urllib3 decodes it, and every cap
# applies to the decoded bytes (urllib3 >= 2.6 decompresses a stream in bounded steps).
_ACCEPT_GZIP = {"Accept-Encoding": "gzip"}


class MissingFileError(MirrorResponseError):
    """The source has no file at this path (HTTP 403/404, no such file or member)."""


@runtime_checkable
class Source(Protocol):
    """A place that serves the release layout (``tamizdat.layout``) by relative path."""

    name: str

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
    """An HTTP(S) mirror, via urllib3: CA file, per-request timeout, overall deadline.

    Asks for gzip; ``wire_bytes`` counts the response bodies as they arrived.
    """

    def __init__(
        self,
        base_url: str,
        *,
        ca_file: str | None = None,
        timeout: float = 10.0,
        deadline: float | None = None,
        name: str | None = None,
        connections: int = 1,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.name = name or base_url
        self.timeout = timeout
        self._deadline = time.monotonic() + deadline if deadline is not None else None
        self.wire_bytes = 0  # response bodies as received (compressed or not)
        self._lock = threading.Lock()
        self._pool = urllib3.PoolManager(
            ca_certs=ca_file,
            retries=urllib3.Retry(total=2, connect=2, read=0, redirect=3, status=0),
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
            maxsize=connections,  # concurrent fetches (the reader downloads in parallel)
        )

    def close(self) -> None:
        """Close pooled connections (a source is done with; avoids leaked sockets)."""
        self._pool.clear()

    def _url(self, path: str) -> str:
        return self.base_url + quote(check_relative(path, self.name))

    def _remaining(self, url: str) -> float:
        if self._deadline is None:
            return self.timeout
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise MirrorUnreachableError("deadline passed", where=url)
        return min(self.timeout, left)

    def fetch(self, path: str, max_length: int) -> bytes:
        return self.fetch_url(self._url(path), max_length, path)

    def _count(self, response: urllib3.BaseHTTPResponse) -> None:
        with self._lock:
            self.wire_bytes += response.tell()

    def fetch_url(self, url: str, max_length: int, path: str | None = None) -> bytes:
        """GET an absolute, already-encoded ``url`` with the same caps and errors as fetch."""
        path = path or url
        timeout = self._remaining(url)
        try:
            response = self._pool.request(
                "GET",
                url,
                headers=_ACCEPT_GZIP,
                preload_content=False,
                timeout=urllib3.Timeout(timeout, timeout),
            )
        except urllib3.exceptions.HTTPError as exc:
            raise MirrorUnreachableError(f"cannot fetch {path}: {exc}", where=url) from None
        try:
            return self._read(response, path, url, max_length)
        except BaseException:
            # An unread body (404, oversize) must not go back to the pool: its socket would
            # leak (ResourceWarning) or the next request would read stale bytes.
            response.close()
            raise
        finally:
            self._count(response)
            response.release_conn()

    def _read(
        self, response: urllib3.BaseHTTPResponse, path: str, url: str, max_length: int
    ) -> bytes:
        if response.status in (403, 404, 410):
            raise MissingFileError(f"no file {path} (HTTP {response.status})", where=url)
        if response.status != 200:
            raise MirrorResponseError(f"expected HTTP 200, found {response.status}", where=url)
        declared = response.headers.get("Content-Length")
        identity = response.headers.get("Content-Encoding", "identity") == "identity"
        # A compressed body's length says nothing about the decoded size (gzip can even
        # grow incompressible data): then only the streamed, decoded count is capped.
        if identity and declared is not None and declared.isdigit() and int(declared) > max_length:
            raise _oversize(path, max_length, url)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.stream(_CHUNK, decode_content=True):
                size += len(chunk)
                if size > max_length:
                    raise _oversize(path, max_length, url)
                chunks.append(chunk)
                self._remaining(url)
        except urllib3.exceptions.HTTPError as exc:
            raise MirrorUnreachableError(f"transfer of {path} failed: {exc}", where=url) from None
        return b"".join(chunks)


def open_source(
    spec: str, *, ca_file: str | None = None, timeout: float = 10.0, deadline: float | None = None
) -> Source:
    """A source for what the user typed: an ``http(s)://`` URL, a directory or a bundle file.

    Raises:
        UserError: nothing exists at ``spec``, or it is a file but bundles are unavailable.
        BundleError: the bundle file is malformed or hostile.
    """
    if spec.startswith(("http://", "https://")):
        return HttpSource(spec, ca_file=ca_file, timeout=timeout, deadline=deadline)
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
    timeout: float = 10.0,
    max_length: int = 64 * 1024 * 1024,
) -> tuple[bytes, str]:
    """The bytes of one page (a file or an ``http(s)://`` URL) and a name for messages.

    Raises:
        UserError: no such file. TransportError: the URL did not answer.
        OversizeError: larger than ``max_length``.
    """
    if spec.startswith(("http://", "https://")):
        base, _, name = spec.rpartition("/")
        source = HttpSource(base + "/", ca_file=ca_file, timeout=timeout, name=spec)
        return source.fetch(name or "index.html", max_length), spec
    try:
        file = Path(os.path.realpath(spec))  # the user named it: a link they typed is theirs
        return DirectorySource(file.parent).fetch(file.name, max_length), spec
    except MissingFileError:
        raise UserError("no such page file", where=spec) from None
