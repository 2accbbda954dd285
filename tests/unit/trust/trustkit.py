"""Test helpers: a throwaway site with demo keys, signed by tamizdat's own signer.

Importable by other test folders (``sys.path`` insert of this folder, or via the fixtures in
``conftest.py`` here). Everything lives under the given tmp path; keys are demo keys.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tuf.ngclient.fetcher import FetcherInterface

from tamizdat.config import Config, load_config
from tamizdat.trust.sign.keys import init_keys
from tamizdat.trust.sign.signing import SignReport, sign_release

# Real time (to the minute): python-tuf's ngclient checks expiry against the clock.
NOW = datetime.now(UTC).replace(second=0, microsecond=0)

SAMPLE_FILES: dict[str, bytes] = {
    "index.html": b"<h1>home</h1>",
    "404.html": b"not found",
    "robots.txt": b"User-agent: *\n",
    "assets/site.css": b"body{}",
    "en/index.html": b"<h1>en</h1>",
    "en/tags/press/index.html": b"tag press",
    "en/news/2026/02/first-story/index.html": b"<p>first</p>",
    "en/news/2026/03/second-story/index.html": b"<p>second</p>",
    "media/news/2026/03/photo-480.jpg": b"\xff\xd8jpeg",
    "en/news/index.html": b"news desk",
    "en/culture/2025/12/a-play/index.html": b"<p>play</p>",
    "ru/culture/2025/12/a-play/index.html": "<p>пьеса</p>".encode(),
    "media/culture/2025/12/stage-960.jpg": b"\xff\xd8stage",
}


@dataclass
class SignedSite:
    """A site folder with demo keys and a signed release."""

    config: Config
    public: Path
    release: Path
    fingerprint: str
    report: SignReport

    def resign(
        self,
        changes: Mapping[str, bytes | None] | None = None,
        *,
        now: datetime | None = None,
        **options: object,
    ) -> SignReport:
        """Apply ``changes`` to public/ (``None`` deletes) and sign again."""
        write_public(self.public, changes or {})
        self.report = sign_release(
            self.config,
            public_dir=self.public,
            release_dir=self.release,
            now=now or NOW,
            allow_demo=True,
            **options,  # type: ignore[arg-type]
        )
        return self.report


def write_config(root: Path, desks: Sequence[str] = ("news", "culture"), extra: str = "") -> Config:
    """A tamizdat.toml whose keys live in ``root/keys`` and release in ``root/release``."""
    root.mkdir(parents=True, exist_ok=True)
    desk_tables = "".join(f'[desks.{d}]\ntitle = "{d.title()}"\n' for d in desks)
    (root / "tamizdat.toml").write_text(
        '[site]\ntitle = "Test Exile News"\nbase_url = "https://example.org/"\n'
        f'[build]\ndefault_desk = "{desks[0]}"\n{desk_tables}'
        f'[signing]\nkeys_dir = "keys"\nrelease_dir = "release"\nroot_holders = 3\n'
        f"root_threshold = 2\n{extra}",
        encoding="utf-8",
    )
    return load_config(root)


def write_public(public: Path, files: Mapping[str, bytes | None]) -> None:
    """Write (or with ``None`` delete) files under ``public`` by replacing them."""
    for rel, data in files.items():
        path = public / rel
        if data is None:
            path.unlink(missing_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".tmp")
        temp.write_bytes(data)
        temp.replace(path)


def make_signed_site(
    root: Path,
    files: Mapping[str, bytes] | None = None,
    *,
    desks: Sequence[str] = ("news", "culture"),
    now: datetime = NOW,
) -> SignedSite:
    """Create demo keys and sign ``files`` (default: SAMPLE_FILES) as release 1."""
    config = write_config(root, desks)
    keys = init_keys(config, demo=True, now=now)
    public = config.build.output_dir
    write_public(public, SAMPLE_FILES if files is None else files)
    report = sign_release(
        config, public_dir=public, release_dir=config.signing.release_dir, now=now, allow_demo=True
    )
    assert keys.fingerprint is not None
    return SignedSite(config, public, config.signing.release_dir, keys.fingerprint, report)


BASE = "https://mirror.test/"


class DirectoryFetcher(FetcherInterface):
    """Serves ``https://mirror.test/…`` from a release directory (no network)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.fetched: list[str] = []

    def _fetch(self, url: str) -> Iterator[bytes]:
        from tuf.api.exceptions import DownloadHTTPError

        assert url.startswith(BASE), url
        self.fetched.append(url[len(BASE) :])
        path = self.root / url[len(BASE) :]
        if not path.is_file():
            raise DownloadHTTPError(f"not found: {url}", 404)
        return iter([path.read_bytes()])
