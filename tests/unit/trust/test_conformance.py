"""The conformance client over TrustPolicy, driven through the tuf-conformance CLI protocol.

The public tuf-conformance suite is not installable here; these tests drive the same
``init``/``refresh``/``download`` protocol against repositories made with python-tuf's
metadata API and served on 127.0.0.1, checking the signals the suite checks: exit codes,
the metadata kept in METADATA_DIR, the files in TARGET_DIR and the HTTP requests made.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from tamizdat.trust.conformance import main

pytestmark = pytest.mark.integration


class Repo:
    """A python-tuf repository on disk: metadata/ and targets/ (consistent snapshots)."""

    def __init__(self, root_dir: Path) -> None:
        self.dir = root_dir
        (root_dir / "metadata").mkdir(parents=True)
        (root_dir / "targets").mkdir()
        self.keys = {
            r: CryptoSigner.generate_ed25519() for r in ("root", "targets", "snapshot", "timestamp")
        }
        self.root = Root(expires=datetime.now(UTC) + timedelta(days=30), consistent_snapshot=True)
        for role, key in self.keys.items():
            self.root.add_key(key.public_key, role)
        self.targets = Targets(expires=datetime.now(UTC) + timedelta(days=30))
        self.delegated: dict[str, tuple[Targets, CryptoSigner]] = {}
        self.snapshot_version = 0
        self.timestamp_version = 0
        self.write_root([self.keys["root"]])

    def _bytes(self, signed: object, signers: list[CryptoSigner]) -> bytes:
        md = Metadata(signed)  # type: ignore[arg-type]
        for signer in signers:
            md.sign(signer, append=True)
        return md.to_bytes(JSONSerializer())

    def write_root(self, signers: list[CryptoSigner]) -> bytes:
        data = self._bytes(self.root, signers)
        (self.dir / "metadata" / f"{self.root.version}.root.json").write_bytes(data)
        return data

    def rotate_root(self) -> None:
        old = self.keys["root"]
        new = CryptoSigner.generate_ed25519()
        self.root.revoke_key(old.public_key.keyid, "root")
        self.root.add_key(new.public_key, "root")
        self.root.version += 1
        self.keys["root"] = new
        self.write_root([old, new])

    def add_target(self, path: str, data: bytes, role: str = "targets") -> None:
        info = TargetFile.from_data(path, data)
        signed = self.targets if role == "targets" else self.delegated[role][0]
        signed.targets[path] = info
        directory, slash, name = path.rpartition("/")
        file = self.dir / "targets" / f"{directory}{slash}{info.hashes['sha256']}.{name}"
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(data)

    def delegate(self, name: str, paths: list[str], terminating: bool) -> None:
        key = CryptoSigner.generate_ed25519()
        if self.targets.delegations is None:
            self.targets.delegations = Delegations(keys={}, roles={})
        assert self.targets.delegations.roles is not None
        self.targets.delegations.keys[key.public_key.keyid] = key.public_key
        self.targets.delegations.roles[name] = DelegatedRole(
            name, [key.public_key.keyid], 1, terminating, paths
        )
        self.delegated[name] = (Targets(expires=datetime.now(UTC) + timedelta(days=30)), key)

    def publish(self, *, timestamp_expires: datetime | None = None) -> None:
        self.snapshot_version += 1
        self.timestamp_version += 1
        meta = {}
        self.targets.version = self.snapshot_version
        for role, signed, key in [("targets", self.targets, self.keys["targets"])] + [
            (n, t, k) for n, (t, k) in self.delegated.items()
        ]:
            signed.version = self.snapshot_version
            data = self._bytes(signed, [key])
            (self.dir / "metadata" / f"{signed.version}.{role}.json").write_bytes(data)
            meta[f"{role}.json"] = MetaFile(signed.version)
        snap = Snapshot(
            version=self.snapshot_version, expires=datetime.now(UTC) + timedelta(days=7), meta=meta
        )
        snap_bytes = self._bytes(snap, [self.keys["snapshot"]])
        (self.dir / "metadata" / f"{self.snapshot_version}.snapshot.json").write_bytes(snap_bytes)
        ts = Timestamp(
            version=self.timestamp_version,
            expires=timestamp_expires or datetime.now(UTC) + timedelta(days=1),
            snapshot_meta=MetaFile(
                self.snapshot_version,
                len(snap_bytes),
                {"sha256": hashlib.sha256(snap_bytes).hexdigest()},
            ),
        )
        (self.dir / "metadata" / "timestamp.json").write_bytes(
            self._bytes(ts, [self.keys["timestamp"]])
        )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Repo, str, list[str]]]:
    repo = Repo(tmp_path / "repo")
    requests: list[str] = []

    class Handler(SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
            super().__init__(*args, directory=str(repo.dir), **kwargs)

        def do_GET(self) -> None:
            requests.append(self.path)
            super().do_GET()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield repo, f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


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
    repo.rotate_root()
    repo.rotate_root()
    repo.publish()
    assert client.refresh() == 0
    assert client.version("root") == 3


def test_root_not_signed_by_previous_root_refused(served, client) -> None:  # type: ignore[no-untyped-def]
    repo, _, _ = served
    new = CryptoSigner.generate_ed25519()
    repo.root.revoke_key(repo.keys["root"].public_key.keyid, "root")
    repo.root.add_key(new.public_key, "root")
    repo.root.version += 1
    repo.keys["root"] = new
    repo.write_root([new])  # only the new key: below the old root's threshold
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
