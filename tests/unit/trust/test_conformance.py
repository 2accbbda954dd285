"""The conformance client over TrustPolicy, driven through the tuf-conformance CLI protocol.

The public tuf-conformance suite is not installable here; these tests drive the same
``init``/``refresh``/``download`` protocol against repositories made with python-tuf's
metadata API and served on 127.0.0.1, checking the signals the suite checks: exit codes,
the metadata kept in METADATA_DIR, the files in TARGET_DIR and the HTTP requests made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tuf.api.metadata import Metadata

from support.loopback import QuietDirectoryHandler, serving
from support.tuf_release import ReleaseFactory, new_key, write_file
from tamizdat.layout import WELL_KNOWN
from tamizdat.trust.verify.conformance import main

pytestmark = pytest.mark.integration


class Repo:
    """A python-tuf repository on disk, as the conformance protocol sees it.

    The factory writes a release directory; its ``WELL_KNOWN`` folder (``self.dir``) is a plain
    TUF repository: ``metadata/`` and ``targets/`` with hash-prefixed names (consistent
    snapshots). Targets and delegations wait in memory until :meth:`publish`.
    """

    def __init__(self, release_dir: Path) -> None:
        self.factory = ReleaseFactory.bare()
        self.release_dir = release_dir
        self.dir = release_dir / WELL_KNOWN
        self.files: dict[str, bytes] = {}
        self.roles: dict[str, str] = {}
        for path, data in self.factory.root_files().items():
            write_file(release_dir / path, data)

    def add_target(self, path: str, data: bytes, role: str = "targets") -> None:
        self.files[path] = data
        self.roles[path] = role

    def delegate(self, name: str, paths: list[str], terminating: bool) -> None:
        self.factory.add_desk(name, paths, terminating=terminating)

    def publish(self, *, timestamp_expires: datetime | None = None) -> None:
        release = self.factory.publish(
            self.files, assign=self.roles, timestamp_expires=timestamp_expires
        )
        release.write(self.release_dir)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Repo, str, list[str]]]:
    repo = Repo(tmp_path / "repo")
    requests: list[str] = []

    class Recording(QuietDirectoryHandler):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(repo.dir), **kwargs)

        def do_GET(self) -> None:  # noqa: N802 (the name http.server calls)
            requests.append(self.path)
            super().do_GET()

    with serving(Recording) as url:
        yield repo, url.rstrip("/"), requests


class Client:
    def __init__(self, tmp: Path, url: str) -> None:
        self.meta = tmp / "client-metadata"
        self.targets = tmp / "client-targets"
        self.meta.mkdir()
        self.targets.mkdir()
        self.url = url

    def init(self, root: Path) -> int:
        return main(["--metadata-dir", str(self.meta), "init", str(root)])

    def refresh(self, days: int = 0) -> int:
        return main(
            [
                "--metadata-dir",
                str(self.meta),
                "--metadata-url",
                f"{self.url}/metadata",
                "--days-in-future",
                str(days),
                "refresh",
            ]
        )

    def download(self, name: str) -> int:
        return main(
            [
                "--metadata-dir",
                str(self.meta),
                "--metadata-url",
                f"{self.url}/metadata",
                "--target-name",
                name,
                "--target-base-url",
                f"{self.url}/targets",
                "--target-dir",
                str(self.targets),
                "download",
            ]
        )

    def version(self, role: str) -> int:
        return int(Metadata.from_file(str(self.meta / f"{role}.json")).signed.version)


@pytest.fixture
def client(served, tmp_path: Path) -> Client:  # type: ignore[no-untyped-def]
    repo, url, _ = served
    c = Client(tmp_path, url)
    assert c.init(repo.dir / "metadata" / "1.root.json") == 0
    return c


def test_refresh_stores_unversioned_metadata(served, client) -> None:  # type: ignore[no-untyped-def]
    repo, _, requests = served
    repo.publish()
    assert client.refresh() == 0
    assert sorted(p.name for p in client.meta.iterdir()) == [
        "root.json",
        "snapshot.json",
        "targets.json",
        "timestamp.json",
    ]
    assert requests == [
        "/metadata/2.root.json",
        "/metadata/timestamp.json",
        "/metadata/1.snapshot.json",
        "/metadata/1.targets.json",
    ]


def test_root_rotation_followed(served, client) -> None:  # type: ignore[no-untyped-def]
    repo, _, _ = served
    repo.factory.rotate_root(new_root_keys=[new_key()])
    repo.factory.rotate_root(new_root_keys=[new_key()])
    repo.publish()
    assert client.refresh() == 0
    assert client.version("root") == 3


def test_root_not_signed_by_previous_root_refused(served, client) -> None:  # type: ignore[no-untyped-def]
    repo, _, _ = served
    new = new_key()
    # Root v2 signed by the new key only: below the old root's threshold.
    repo.factory.rotate_root(new_root_keys=[new], signers=[new])
    repo.publish()
    assert client.refresh() == 1
    assert client.version("root") == 1


def test_expired_timestamp_refused_in_strict_mode(served, client) -> None:  # type: ignore[no-untyped-def]
    repo, _, _ = served
    repo.publish(timestamp_expires=datetime.now(UTC) - timedelta(minutes=1))
    assert client.refresh() == 1
    assert not (client.meta / "timestamp.json").exists()


def test_expiry_in_the_future_refused(served, client) -> None:  # type: ignore[no-untyped-def]
    repo, _, _ = served
    repo.publish()
    assert client.refresh(days=3) == 1


def test_timestamp_rollback_refused(served, client) -> None:  # type: ignore[no-untyped-def]
    repo, _, _ = served
    repo.publish()
    old = (repo.dir / "metadata" / "timestamp.json").read_bytes()
    repo.publish()
    assert client.refresh() == 0
    (repo.dir / "metadata" / "timestamp.json").write_bytes(old)
    assert client.refresh() == 1
    assert client.version("timestamp") == 2


def test_target_hash_mismatch_refused(served, client) -> None:  # type: ignore[no-untyped-def]
    repo, _, _ = served
    repo.add_target("files/a.txt", b"signed bytes")
    repo.publish()
    digest = hashlib.sha256(b"signed bytes").hexdigest()
    (repo.dir / "targets" / "files" / f"{digest}.a.txt").write_bytes(b"evil  bytes!")
    assert client.download("files/a.txt") == 1
    assert list(client.targets.iterdir()) == []


def test_download_uses_hash_prefix_and_cache(served, client) -> None:  # type: ignore[no-untyped-def]
    repo, _, requests = served
    repo.add_target("files/a.txt", b"signed bytes")
    repo.publish()
    assert client.download("files/a.txt") == 0
    digest = hashlib.sha256(b"signed bytes").hexdigest()
    assert f"/targets/files/{digest}.a.txt" in requests
    assert [p.read_bytes() for p in client.targets.iterdir()] == [b"signed bytes"]
    requests.clear()
    assert client.download("files/a.txt") == 0
    assert not any(r.startswith("/targets/") for r in requests)


def test_terminating_delegation_stops_search(served, client) -> None:  # type: ignore[no-untyped-def]
    repo, _, requests = served
    repo.delegate("first", ["a/*"], terminating=True)
    repo.delegate("second", ["a/*"], terminating=False)
    repo.add_target("a/x.txt", b"from second", role="second")
    repo.publish()
    assert client.download("a/x.txt") == 1
    assert "/metadata/1.first.json" in requests
    assert "/metadata/1.second.json" not in requests


def test_non_terminating_delegation_backtracks(served, client) -> None:  # type: ignore[no-untyped-def]
    repo, _, _ = served
    repo.delegate("first", ["a/*"], terminating=False)
    repo.delegate("second", ["a/*"], terminating=False)
    repo.add_target("a/x.txt", b"from second", role="second")
    repo.publish()
    assert client.download("a/x.txt") == 0


def test_path_pattern_does_not_cross_slash(served, client) -> None:  # type: ignore[no-untyped-def]
    repo, _, _ = served
    repo.delegate("desk", ["a/*"], terminating=True)
    repo.add_target("a/b/deep.txt", b"too deep", role="desk")
    repo.publish()
    assert client.download("a/b/deep.txt") == 1
