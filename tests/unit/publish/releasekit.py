"""Hand-built signed releases in the tamizdat layout, for the publish tests.

Real python-tuf metadata (one Ed25519 key for every role, consistent snapshots), natural
files, by-hash copies, versioned metadata and ``timestamp.json`` — what the signer writes,
without depending on it. ``check_consistent`` is the tests' own verifying client: it follows
timestamp → snapshot → targets → by-hash objects and says which release a mirror serves.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from tamizdat.layout import by_hash_path, metadata_path

_SIGNER = CryptoSigner.generate_ed25519()
_SER = JSONSerializer(compact=False)
# A fixed root expiry keeps 1.root.json byte-identical across releases (stable fingerprint).
_ROOT_EXPIRES = datetime(2099, 1, 1, tzinfo=UTC)


def _dump(md: Metadata) -> bytes:  # type: ignore[type-arg]
    md.sign(_SIGNER)
    return md.to_bytes(_SER)


def write_release(
    release_dir: Path,
    version: int,
    files: Mapping[str, bytes],
    *,
    expires: datetime | None = None,
) -> dict[str, bytes]:
    """Write release ``version`` of ``files`` into a fresh ``release_dir``; return its files."""
    expires = expires or datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    out: dict[str, bytes] = {}
    root = Root(expires=_ROOT_EXPIRES, consistent_snapshot=True)
    for role in ("root", "targets", "snapshot", "timestamp"):
        root.add_key(_SIGNER.public_key, role)
    out[metadata_path("root", 1)] = _dump(Metadata(root))
    targets = Targets(version=version, expires=expires)
    for path, data in files.items():
        target = TargetFile.from_data(path, data, ["sha256"])
        targets.targets[path] = target
        out[path] = data
        out[by_hash_path(path, target.hashes["sha256"])] = data
    out[metadata_path("targets", version)] = _dump(Metadata(targets))
    snapshot = Snapshot(version=version, expires=expires)
    snapshot.meta["targets.json"] = MetaFile(version=version)
    out[metadata_path("snapshot", version)] = _dump(Metadata(snapshot))
    stamp = Timestamp(version=version, expires=expires)
    stamp.snapshot_meta = MetaFile(version=version)
    out[metadata_path("timestamp", None)] = _dump(Metadata(stamp))
    out[metadata_path("root", None)] = out[metadata_path("root", 1)]
    if release_dir.exists():
        shutil.rmtree(release_dir)
    for path, data in out.items():
        target_file = release_dir / path
        target_file.parent.mkdir(parents=True, exist_ok=True)
        target_file.write_bytes(data)
    return out


def article_files(version: int, count: int = 6, changed: int = 1) -> dict[str, bytes]:
    """A small site: ``count`` articles, of which the first ``changed`` differ by version."""
    files: dict[str, bytes] = {
        "index.html": f"<h1>Home, release {version}</h1>".encode(),
        ".well-known/tamizdat/mirrors.json": b'{"mirrors": []}\n',
    }
    for n in range(count):
        stamp = version if n < changed else 0
        files[f"articles/{n:03d}/index.html"] = f"<p>article {n} v{stamp}</p>".encode() * 20
    return files


class InconsistentMirrorError(AssertionError):
    """The mirror serves a mix of releases, or a chain link is missing."""


def check_consistent(read: Callable[[str], bytes | None]) -> int:
    """Follow timestamp → snapshot → targets → by-hash objects; return the release version.

    Raises:
        InconsistentMirrorError: a link is missing or a hash/length differs.
    """

    def must(path: str) -> bytes:
        data = read(path)
        if data is None:
            raise InconsistentMirrorError(f"missing {path}")
        return data

    stamp = Metadata[Timestamp].from_bytes(must(metadata_path("timestamp", None)))
    snap_version = stamp.signed.snapshot_meta.version
    snapshot = Metadata[Snapshot].from_bytes(must(metadata_path("snapshot", snap_version)))
    for name, meta in snapshot.signed.meta.items():
        role = name.removesuffix(".json")
        targets = Metadata[Targets].from_bytes(must(metadata_path(role, meta.version)))
        if targets.signed.version != meta.version:
            raise InconsistentMirrorError(
                f"{role} version {targets.signed.version} != {meta.version}"
            )
        for path, target in targets.signed.targets.items():
            data = must(by_hash_path(path, target.hashes["sha256"]))
            if hashlib.sha256(data).hexdigest() != target.hashes["sha256"]:
                raise InconsistentMirrorError(f"hash of {path} differs")
    return stamp.signed.version


def directory_reader(root: Path) -> Callable[[str], bytes | None]:
    def read(path: str) -> bytes | None:
        file = root / path
        return file.read_bytes() if file.is_file() else None

    return read


def fingerprint_of(release_dir: Path) -> str:
    return hashlib.sha256((release_dir / metadata_path("root", 1)).read_bytes()).hexdigest()


def dumps(doc: object) -> bytes:
    return json.dumps(doc, sort_keys=True).encode()
