"""A small fake publisher: signed releases in the tamizdat layout, via python-tuf's metadata API.

Independent of tamizdat's own signer on purpose, so the verifier is tested against TUF as
specified rather than against our signer's habits. Roles: root (2 of 3 keys), targets,
snapshot, timestamp; targets delegates ``news/…`` to desk ``news`` and ``opinion/…`` to desk
``opinion`` (terminating, path patterns per segment). Each release keeps every root version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
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

from tamizdat.layout import METADATA_DIR, by_hash_path
from tamizdat.trust.log import PublicationLog, append_entry, log_files

DESKS = {"news": ["news/*", "news/*/*", "news/*/*/*"], "opinion": ["opinion/*", "opinion/*/*"]}
TOP = ("root", "targets", "snapshot", "timestamp")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def sample_files(edition: str = "one") -> dict[str, bytes]:
    """A tiny site: home, two desk pages, a feed."""
    return {
        "index.html": f"<h1>home {edition}</h1>".encode(),
        "feed.xml": f"<feed>{edition}</feed>".encode(),
        "news/2026/election/index.html": f"<p>election report {edition}</p>".encode(),
        "news/2026/flood/index.html": b"<p>flood report</p>",
        "opinion/column/index.html": b"<p>a column</p>",
    }


def _new_key() -> CryptoSigner:
    return CryptoSigner.generate_ed25519()


@dataclass
class Release:
    """One signed release: every layout file by path."""

    version: int
    files: dict[str, bytes]
    fingerprint: str
    snapshot_bytes: bytes

    def write(self, directory: Path) -> Path:
        for path, data in self.files.items():
            target = directory / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return directory


@dataclass
class Publisher:
    """Keys, versions and the publication log of one fake publisher."""

    root_keys: list[CryptoSigner] = field(default_factory=lambda: [_new_key() for _ in range(3)])
    root_threshold: int = 2
    keys: dict[str, CryptoSigner] = field(default_factory=dict)
    roots: list[bytes] = field(default_factory=list)
    version: int = 0
    timestamp_version: int = 0
    log: PublicationLog = field(default_factory=PublicationLog)
    previous: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for role in ("targets", "snapshot", "timestamp", *DESKS):
            self.keys.setdefault(role, _new_key())
        root = Root(expires=now() + timedelta(days=365), consistent_snapshot=True)
        for signer in self.root_keys:
            root.add_key(signer.public_key, "root")
        root.roles["root"].threshold = self.root_threshold
        for role in ("targets", "snapshot", "timestamp"):
            root.add_key(self.keys[role].public_key, role)
        self.root = root
        self.roots.append(self._sign(Metadata(root), self.root_keys))

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.roots[0]).hexdigest()

    @staticmethod
    def _sign(md: Metadata, signers: list[CryptoSigner]) -> bytes:  # type: ignore[type-arg]
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)
        return md.to_bytes(JSONSerializer(compact=False))

    def rotate_root(
        self,
        *,
        role: str | None = None,
        new_root_keys: list[CryptoSigner] | None = None,
        signers: list[CryptoSigner] | None = None,
    ) -> bytes:
        """Root N+1: a new key for ``role`` and/or new root keys, signed by old and new root keys."""
        old_keys = list(self.root_keys)
        root = self.root
        root.version += 1
        if role is not None:
            for keyid in list(root.roles[role].keyids):
                root.revoke_key(keyid, role)
            self.keys[role] = _new_key()
            root.add_key(self.keys[role].public_key, role)
        if new_root_keys is not None:
            for keyid in list(root.roles["root"].keyids):
                root.revoke_key(keyid, "root")
            for signer in new_root_keys:
                root.add_key(signer.public_key, "root")
            self.root_keys = new_root_keys
        by = (
            signers
            if signers is not None
            else _unique(old_keys[: self.root_threshold] + self.root_keys)
        )
        data = self._sign(Metadata(root), by)
        self.roots.append(data)
        return data

    def publish(
        self,
        files: Mapping[str, bytes],
        *,
        timestamp_expires: datetime | None = None,
        snapshot_expires: datetime | None = None,
        signed_by: Mapping[str, list[CryptoSigner]] | None = None,
        assign: Mapping[str, str] | None = None,
        log: PublicationLog | None = None,
        when: datetime | None = None,
    ) -> Release:
        """Sign release N+1 of ``files``; ``assign`` forces a path into a role (attacks)."""
        self.version += 1
        self.timestamp_version += 1
        version, moment = self.version, when or now()
        signed_by = signed_by or {}
        layout: dict[str, bytes] = {}
        by_role: dict[str, dict[str, bytes]] = {"targets": {}, **{d: {} for d in DESKS}}
        for path, data in files.items():
            role = (assign or {}).get(path) or next(
                (d for d in DESKS if path.startswith(d + "/")), "targets"
            )
            by_role[role][path] = data
        meta: dict[str, MetaFile] = {"targets.json": MetaFile(version)}
        for desk in DESKS:
            md = Metadata(Targets(version=version, expires=moment + timedelta(days=90)))
            md.signed.targets = {p: TargetFile.from_data(p, d) for p, d in by_role[desk].items()}
            layout[f"{METADATA_DIR}/{version}.{desk}.json"] = self._sign(
                md, signed_by.get(desk, [self.keys[desk]])
            )
            meta[f"{desk}.json"] = MetaFile(version)
        snapshot = Metadata(
            Snapshot(
                version=version, expires=snapshot_expires or moment + timedelta(days=7), meta=meta
            )
        )
        snapshot_bytes = self._sign(snapshot, signed_by.get("snapshot", [self.keys["snapshot"]]))
        layout[f"{METADATA_DIR}/{version}.snapshot.json"] = snapshot_bytes
        if log is None:
            self.log = append_entry(
                self.log,
                version=version,
                time=moment,
                snapshot_sha256=hashlib.sha256(snapshot_bytes).hexdigest(),
                added=[p for p in files if p not in self.previous],
                changed=[p for p in files if p in self.previous and self.previous[p] != files[p]],
                removed=[p for p in self.previous if p not in files],
            )
            log = self.log
        by_role["targets"].update(log_files(log))
        targets = Targets(version=version, expires=moment + timedelta(days=90))
        targets.targets = {p: TargetFile.from_data(p, d) for p, d in by_role["targets"].items()}
        targets.delegations = Delegations(keys={}, roles={})
        assert targets.delegations.roles is not None
        for desk, paths in DESKS.items():
            key = self.keys[desk].public_key
            targets.delegations.keys[key.keyid] = key
            targets.delegations.roles[desk] = DelegatedRole(
                desk, [self.keys[desk].public_key.keyid], 1, True, paths
            )
        layout[f"{METADATA_DIR}/{version}.targets.json"] = self._sign(
            Metadata(targets), signed_by.get("targets", [self.keys["targets"]])
        )
        timestamp = Timestamp(
            version=self.timestamp_version,
            expires=timestamp_expires or moment + timedelta(days=3),
            snapshot_meta=MetaFile(
                version,
                length=len(snapshot_bytes),
                hashes={"sha256": hashlib.sha256(snapshot_bytes).hexdigest()},
            ),
        )
        layout[f"{METADATA_DIR}/timestamp.json"] = self._sign(
            Metadata(timestamp), signed_by.get("timestamp", [self.keys["timestamp"]])
        )
        for number, root_bytes in enumerate(self.roots, 1):
            layout[f"{METADATA_DIR}/{number}.root.json"] = root_bytes
        for path, data in {**files, **log_files(log)}.items():
            layout[path] = data
            layout[by_hash_path(path, hashlib.sha256(data).hexdigest())] = data
        self.previous = dict(files)
        return Release(version, layout, self.fingerprint, snapshot_bytes)


def _unique(signers: list[CryptoSigner]) -> list[CryptoSigner]:
    seen: dict[str, CryptoSigner] = {}
    for signer in signers:
        seen.setdefault(signer.public_key.keyid, signer)
    return list(seen.values())


def edit_json(data: bytes, change: str, replacement: str) -> bytes:
    """Change text inside signed metadata without re-signing (an attacker's edit)."""
    assert change.encode() in data, change
    return data.replace(change.encode(), replacement.encode(), 1)


def verify(files: dict[str, bytes], fingerprint: str, state: Path | None = None, **kwargs: object):  # type: ignore[no-untyped-def]
    """Verify an in-memory release the way `tamizdat verify` does (errors raise)."""
    from tamizdat.trust.sources import MemorySource
    from tamizdat.trust.state import SeenStore
    from tamizdat.trust.verify import verify_release

    store = SeenStore(state) if state is not None else None
    return verify_release(
        MemorySource(files, "mirror-A"), fingerprint=fingerprint, seen=store, **kwargs
    )  # type: ignore[arg-type]
