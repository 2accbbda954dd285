"""Sites with mirrors on the real servers of ../conftest.py, and a verifying reader.

A mirror is checked the way a reader reads it: an S3 bucket through the S3 API, a WebDAV
share through HTTP GETs, a folder (local or behind SFTP, which a web server would serve) on
the disk.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import urllib3
from releasekit import check_consistent, directory_reader, fingerprint_of

from tamizdat.errors import OversizeError
from tamizdat.transport.sources import DirectorySource, MissingFileError
from tamizdat.trust.verify.whole import verify_release_report

Reader = Callable[[str], bytes | None]


def write_site(site: Path, mirrors: list[dict[str, object]]) -> Path:
    """A tamizdat.toml with these mirrors; the release goes to ``site/release``."""
    site.mkdir(parents=True, exist_ok=True)
    lines = [
        "[site]",
        'title = "Exile News"',
        'base_url = "https://exile-news.example/"',
        "",
        "[signing]",
        'release_dir = "release"',
        f'keys_dir = "{site / "keys"}"',
        "",
    ]
    for mirror in mirrors:
        options = mirror.pop("options", None)
        lines.append("[[mirrors]]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in mirror.items())
        if options:
            lines.append("[mirrors.options]")
            lines.extend(f"{k} = {json.dumps(v)}" for k, v in dict(options).items())  # type: ignore[call-overload]
        lines.append("")
    (site / "tamizdat.toml").write_text("\n".join(lines))
    return site


def served_version(mirror: Path | Reader, release_dir: Path, *, complete: bool = True) -> int:
    """The release a verifying client sees on the mirror: old or new, never a mix.

    ``mirror`` is a folder, or a reader of the mirror (``s3_reader``, ``http_reader``).
    Two independent clients must agree: the tests' own chain walk and tamizdat's verifier.
    Mid-publish (``complete=False``) only the by-hash copies are held to the metadata, as a
    verifying client reads them; natural paths serve plain browsers and are updated before
    the metadata, so they can be ahead until the timestamp lands.
    """
    if isinstance(mirror, Path):
        read, source = directory_reader(mirror), DirectorySource(mirror)
    else:
        read, source = mirror, ReaderSource(mirror)
    ours = check_consistent(read)
    report = verify_release_report(
        source,
        fingerprint=fingerprint_of(release_dir),
        check="all",
        natural=complete,
    )
    assert report.outcome == "current", (report.problem, report.where)
    assert report.version == ours
    return ours


class ReaderSource:
    """A verifier's source over a reader of a mirror (what the reader sees, nothing else)."""

    def __init__(self, read: Reader, name: str = "mirror") -> None:
        self.read = read
        self.name = name

    def fetch(self, path: str, max_length: int) -> bytes:
        data = self.read(path)
        if data is None:
            raise MissingFileError(f"no file {path}", where=self.name)
        if len(data) > max_length:
            raise OversizeError(f"{path}: more than {max_length} bytes", where=self.name)
        return data


def s3_reader(server: Any, prefix: str) -> Reader:  # server: conftest.S3Server
    """GETs through rclone's S3 API (signed, as any client of a private bucket reads it)."""
    import s3fs

    fs = s3fs.S3FileSystem(
        key=server.access_key,
        secret=server.secret_key,
        client_kwargs={"endpoint_url": server.endpoint},
        skip_instance_cache=True,
        use_listings_cache=False,
    )

    def read(path: str) -> bytes | None:
        try:
            return bytes(fs.cat_file(f"{prefix}/{path}"))
        except FileNotFoundError:
            return None

    return read


def http_reader(base_url: str, *, user: str | None = None, password: str | None = None) -> Reader:
    """Plain HTTP GETs under ``base_url``: 404 is "no such file", anything but 200 fails."""
    headers = urllib3.make_headers(basic_auth=f"{user}:{password}") if user else {}

    def read(path: str) -> bytes | None:
        url = base_url + quote(path)
        response = urllib3.request("GET", url, headers=headers, retries=False, timeout=10.0)
        if response.status == 404:
            return None
        assert response.status == 200, (url, response.status)
        return bytes(response.data)

    return read
