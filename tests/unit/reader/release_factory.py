"""Signed test releases in the mirror layout, made with python-tuf's metadata API.

Used by the reader and channel tests (and the reader benchmark) so they do not depend on the
publisher's signer. Layout (tamizdat.layout): natural paths, by-hash copies under TARGETS_DIR,
consistent-snapshot metadata under METADATA_DIR. Files under ``articles/`` are signed by a
delegated role ``articles``; everything else by top-level ``targets``.

Each call to :meth:`ReleaseFactory.publish` writes release version N into a directory,
keeping earlier metadata versions and by-hash objects (as a publisher's release dir does).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

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

from tamizdat.layout import METADATA_DIR, MIRRORS_JSON, by_hash_path

DELEGATED_ROLE = "articles"
DELEGATED_PATHS = ["articles/*", "articles/*/*"]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass
class ReleaseFactory:
    """Keys and counters of one fake publisher."""

    signers: dict[str, CryptoSigner] = field(default_factory=dict)
    root_bytes: dict[int, bytes] = field(default_factory=dict)
    version: int = 0

    def __post_init__(self) -> None:
        for role in ("root", "targets", "snapshot", "timestamp", DELEGATED_ROLE):
            self.signers[role] = CryptoSigner.generate_ed25519()
        root = Root(expires=_now() + timedelta(days=365))
        for role in ("root", "targets", "snapshot", "timestamp"):
            root.add_key(self.signers[role].public_key, role)
        self.root_bytes[1] = self._sign(Metadata(root), "root")

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.root_bytes[1]).hexdigest()

    def _sign(self, md: Metadata, role: str) -> bytes:  # type: ignore[type-arg]
        md.sign(self.signers[role])
        return md.to_bytes(JSONSerializer(compact=False))

    def publish(
        self,
        out: Path,
        files: dict[str, bytes],
        *,
        timestamp_expires: timedelta = timedelta(days=1),
        mirrors: list[str] | None = None,
    ) -> int:
        """Write the next release version of ``files`` into ``out``; return its version."""
        self.version += 1
        version = self.version
        files = dict(files)
        if mirrors is not None:
            files[MIRRORS_JSON] = json.dumps(
                {
                    "mirrors": [
                        {"name": f"m{i}", "public_url": u, "tags": []}
                        for i, u in enumerate(mirrors)
                    ]
                },
                sort_keys=True,
            ).encode()
        top, delegated = {}, {}
        for path, data in sorted(files.items()):
            target = TargetFile.from_data(path, data, ["sha256"])
            (delegated if path.startswith("articles/") else top)[path] = target
            _write(out / by_hash_path(path, target.hashes["sha256"]), data)
            _write(out / path, data)
        expires = _now() + timedelta(days=90)
        deleg = Metadata(Targets(version=version, expires=expires, targets=delegated))
        deleg_bytes = self._sign(deleg, DELEGATED_ROLE)
        targets = Targets(version=version, expires=expires, targets=top)
        targets.delegations = Delegations(
            keys={
                self.signers[DELEGATED_ROLE].public_key.keyid: self.signers[
                    DELEGATED_ROLE
                ].public_key
            },
            roles={
                DELEGATED_ROLE: DelegatedRole(
                    DELEGATED_ROLE,
                    [self.signers[DELEGATED_ROLE].public_key.keyid],
                    1,
                    True,
                    DELEGATED_PATHS,
                )
            },
        )
        targets_bytes = self._sign(Metadata(targets), "targets")
        snapshot = Snapshot(version=version, expires=_now() + timedelta(days=7))
        snapshot.meta = {
            "targets.json": MetaFile(version),
            f"{DELEGATED_ROLE}.json": MetaFile(version),
        }
        snapshot_bytes = self._sign(Metadata(snapshot), "snapshot")
        stamp = Timestamp(version=version, expires=_now() + timestamp_expires)
        stamp.snapshot_meta = MetaFile(version)
        stamp_bytes = self._sign(Metadata(stamp), "timestamp")
        meta = out / METADATA_DIR
        for number, data in self.root_bytes.items():
            _write(meta / f"{number}.root.json", data)
        _write(meta / f"{version}.{DELEGATED_ROLE}.json", deleg_bytes)
        _write(meta / f"{version}.targets.json", targets_bytes)
        _write(meta / f"{version}.snapshot.json", snapshot_bytes)
        _write(meta / "timestamp.json", stamp_bytes)
        return version


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def sample_site(count: int = 5, *, edition: str = "one") -> dict[str, bytes]:
    """A small site: a home page, ``count`` articles, a stylesheet."""
    files = {
        "index.html": (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Home</title>'
            f"</head><body><h1>Home ({edition})</h1></body></html>"
        ).encode(),
        "style.css": b"body{font-family:serif}",
    }
    for i in range(count):
        files[f"articles/a{i}/index.html"] = (
            f'<!doctype html><html lang="en"><head><title>Article {i}</title></head>'
            f"<body><h1>Article {i}</h1><p>Report number {i}, edition {edition}.</p></body></html>"
        ).encode()
    return files


def copy_release(src: Path, dst: Path) -> Path:
    """A frozen copy of a release dir (a mirror that stops updating)."""
    shutil.copytree(src, dst)
    return dst
