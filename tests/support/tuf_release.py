"""Signed test releases in the tamizdat layout, made with python-tuf's metadata API.

Independent of tamizdat's own signer on purpose, so the verifier, the reader and the channels
are tested against TUF as specified rather than against our signer's habits.

Invariant: every release is signed correctly unless the caller asks otherwise. Each attack is
an explicit argument (``signed_by``, ``assign``, ``log``, a rotation's ``signers``, moving
``version`` back), never a default.

One factory, three presets:

- :meth:`ReleaseFactory.newsroom` (the default): root signed by 2 of 3 keys; targets delegates
  ``news/…`` and ``opinion/…`` to two desks; a publication log. Attacks, policy, ``verify``.
- :meth:`ReleaseFactory.articles`: root 1 of 1; one delegated role ``articles`` for
  ``articles/…``; no log. Reader and channel tests.
- :meth:`ReleaseFactory.bare`: root 1 of 1, no delegation, no log; :meth:`~ReleaseFactory.
  add_desk` adds delegations one by one. The conformance client tests.

Layout (:mod:`tamizdat.layout`): natural paths, by-hash copies under ``TARGETS_DIR``, consistent
snapshot metadata ``N.role.json`` under ``METADATA_DIR`` (TUF §5.7.3), every root version kept.
Writing release after release into one directory keeps earlier metadata and by-hash objects,
as a publisher's release directory does.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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
from tamizdat.transport.sources import MemorySource
from tamizdat.trust.log import PublicationLog
from tamizdat.trust.sign.log_writer import append_entry, log_files
from tamizdat.trust.verify.seen import SeenStore
from tamizdat.trust.verify.whole import VerifyReport, verify_release

__all__ = [
    "ARTICLE_DESKS",
    "NEWSROOM_DESKS",
    "Desk",
    "Release",
    "ReleaseFactory",
    "mirror_list",
    "new_key",
    "now",
    "rewritten_log",
    "sample_files",
    "sample_site",
    "verify_files",
    "write_file",
]

ROOT_LIFETIME = timedelta(days=365)
TARGETS_LIFETIME = timedelta(days=90)
SNAPSHOT_LIFETIME = timedelta(days=7)
TIMESTAMP_LIFETIME = timedelta(days=1)


@dataclass(frozen=True)
class Desk:
    """A delegated targets role. Each ``*`` in its patterns matches within one path segment."""

    name: str
    paths: tuple[str, ...]
    terminating: bool = True
    parent: str = "targets"  # the role that delegates to this one (a desk's month role: the desk)


NEWSROOM_DESKS = (
    Desk("news", ("news/*", "news/*/*", "news/*/*/*")),
    Desk("opinion", ("opinion/*", "opinion/*/*")),
)
ARTICLE_DESKS = (Desk("articles", ("articles/*", "articles/*/*")),)


def now() -> datetime:
    """The current time in whole seconds (what TUF metadata can hold)."""
    return datetime.now(UTC).replace(microsecond=0)


def new_key() -> CryptoSigner:
    """A fresh Ed25519 signer (cheap enough to make per test)."""
    return CryptoSigner.generate_ed25519()


@dataclass(frozen=True)
class Release:
    """One signed release: every layout file by path (tests may edit ``files`` to attack it)."""

    version: int
    files: dict[str, bytes]
    fingerprint: str
    snapshot_bytes: bytes

    def write(self, directory: Path) -> Path:
        """Write every file under ``directory`` (each atomically); return ``directory``."""
        for path, data in self.files.items():
            write_file(directory / path, data)
        return directory


@dataclass
class ReleaseFactory:
    """Keys, counters and the publication log of one fake publisher."""

    desks: list[Desk] = field(default_factory=lambda: list(NEWSROOM_DESKS))
    root_keys: list[CryptoSigner] = field(default_factory=lambda: [new_key() for _ in range(3)])
    root_threshold: int = 2
    with_log: bool = True
    keys: dict[str, CryptoSigner] = field(default_factory=dict)
    roots: list[bytes] = field(default_factory=list)
    version: int = 0
    timestamp_version: int = 0
    log: PublicationLog = field(default_factory=PublicationLog)
    previous: dict[str, bytes] = field(default_factory=dict)
    root: Root = field(init=False)

    def __post_init__(self) -> None:
        for role in ("targets", "snapshot", "timestamp", *(d.name for d in self.desks)):
            self.keys.setdefault(role, new_key())
        root = Root(expires=now() + ROOT_LIFETIME, consistent_snapshot=True)
        for signer in self.root_keys:
            root.add_key(signer.public_key, "root")
        root.roles["root"].threshold = self.root_threshold
        for role in ("targets", "snapshot", "timestamp"):
            root.add_key(self.keys[role].public_key, role)
        self.root = root
        self.roots.append(_sign(Metadata(root), self.root_keys))

    @classmethod
    def newsroom(cls) -> ReleaseFactory:
        """Root 2 of 3; desks ``news`` and ``opinion``; a publication log."""
        return cls()

    @classmethod
    def articles(cls) -> ReleaseFactory:
        """Root 1 of 1; one desk ``articles``; no publication log."""
        return cls(
            desks=list(ARTICLE_DESKS), root_keys=[new_key()], root_threshold=1, with_log=False
        )

    @classmethod
    def bare(cls) -> ReleaseFactory:
        """Root 1 of 1; no delegation (see :meth:`add_desk`); no publication log."""
        return cls(desks=[], root_keys=[new_key()], root_threshold=1, with_log=False)

    @property
    def fingerprint(self) -> str:
        """What a reader pins: the SHA-256 of root version 1 as signed."""
        return hashlib.sha256(self.roots[0]).hexdigest()

    def add_desk(
        self, name: str, paths: Sequence[str], *, terminating: bool = True, parent: str = "targets"
    ) -> Desk:
        """Delegate ``paths`` to a new role ``name`` with its own key, from the next release
        (by ``parent``: the top-level targets or another desk)."""
        desk = Desk(name, tuple(paths), terminating, parent)
        self.desks.append(desk)
        self.keys[name] = new_key()
        return desk

    def root_files(self) -> dict[str, bytes]:
        """Every root version signed so far, by layout path (what a reader starts from)."""
        return {f"{METADATA_DIR}/{n}.root.json": data for n, data in enumerate(self.roots, 1)}

    def rotate_root(
        self,
        *,
        role: str | None = None,
        new_root_keys: list[CryptoSigner] | None = None,
        signers: list[CryptoSigner] | None = None,
    ) -> bytes:
        """Root N+1: a new key for ``role`` and/or new root keys (TUF §5.3.4).

        Signed by ``signers`` if given (attacks), else by a threshold of the old root keys and
        every new one, as the specification requires.
        """
        old_keys = list(self.root_keys)
        self.root.version += 1
        if role is not None:
            for keyid in list(self.root.roles[role].keyids):
                self.root.revoke_key(keyid, role)
            self.keys[role] = new_key()
            self.root.add_key(self.keys[role].public_key, role)
        if new_root_keys is not None:
            for keyid in list(self.root.roles["root"].keyids):
                self.root.revoke_key(keyid, "root")
            for signer in new_root_keys:
                self.root.add_key(signer.public_key, "root")
            self.root_keys = new_root_keys
        by = signers if signers is not None else old_keys[: self.root_threshold] + self.root_keys
        data = _sign(Metadata(self.root), _unique(by))
        self.roots.append(data)
        return data

    def publish(
        self,
        files: Mapping[str, bytes],
        *,
        when: datetime | None = None,
        timestamp_expires: datetime | None = None,
        snapshot_expires: datetime | None = None,
        signed_by: Mapping[str, list[CryptoSigner]] | None = None,
        assign: Mapping[str, str] | None = None,
        log: PublicationLog | None = None,
    ) -> Release:
        """Sign release N+1 of ``files``, dated ``when`` (default: now).

        ``signed_by`` replaces a role's signers; ``assign`` puts a path in a named role instead
        of the desk its first segment names; ``log`` replaces the log this release carries
        (without it a new entry is appended). Expiry defaults count from ``when``.
        """
        self.version += 1
        self.timestamp_version += 1
        moment = when or now()
        signers = {role: [key] for role, key in self.keys.items()} | dict(signed_by or {})
        by_role = self._split(files, assign or {})
        layout: dict[str, bytes] = {}
        meta = {"targets.json": MetaFile(self.version)}
        for desk in self.desks:
            signed = Targets(version=self.version, expires=moment + TARGETS_LIFETIME)
            signed.targets = _target_files(by_role[desk.name])
            self._delegate(signed, desk.name)
            layout[f"{METADATA_DIR}/{self.version}.{desk.name}.json"] = _sign(
                Metadata(signed), signers[desk.name]
            )
            meta[f"{desk.name}.json"] = MetaFile(self.version)
        expires = snapshot_expires or moment + SNAPSHOT_LIFETIME
        snapshot = Snapshot(version=self.version, expires=expires, meta=meta)
        snapshot_bytes = _sign(Metadata(snapshot), signers["snapshot"])
        layout[f"{METADATA_DIR}/{self.version}.snapshot.json"] = snapshot_bytes
        log_targets = self._log_files(files, moment, snapshot_bytes, log)
        by_role["targets"].update(log_targets)
        layout[f"{METADATA_DIR}/{self.version}.targets.json"] = _sign(
            Metadata(self._targets(by_role["targets"], moment)), signers["targets"]
        )
        timestamp = Timestamp(
            version=self.timestamp_version,
            expires=timestamp_expires or moment + TIMESTAMP_LIFETIME,
            snapshot_meta=_meta_file(self.version, snapshot_bytes),
        )
        layout[f"{METADATA_DIR}/timestamp.json"] = _sign(Metadata(timestamp), signers["timestamp"])
        layout.update(self.root_files())
        for path, data in {**files, **log_targets}.items():
            layout[path] = data
            layout[by_hash_path(path, hashlib.sha256(data).hexdigest())] = data
        self.previous = dict(files)
        return Release(self.version, layout, self.fingerprint, snapshot_bytes)

    def _split(
        self, files: Mapping[str, bytes], assign: Mapping[str, str]
    ) -> dict[str, dict[str, bytes]]:
        """Files by signing role: ``assign``, else the desk named by the first segment."""
        by_role: dict[str, dict[str, bytes]] = {"targets": {}} | {d.name: {} for d in self.desks}
        for path, data in files.items():
            role = assign.get(path) or next(
                (d.name for d in self.desks if path.startswith(d.name + "/")), "targets"
            )
            by_role[role][path] = data
        return by_role

    def _log_files(
        self,
        files: Mapping[str, bytes],
        moment: datetime,
        snapshot_bytes: bytes,
        log: PublicationLog | None,
    ) -> dict[str, bytes]:
        """The log head and entries this release signs as top-level targets (none if off)."""
        if not self.with_log:
            return {}
        if log is None:
            self.log = append_entry(
                self.log,
                version=self.version,
                time=moment,
                snapshot_sha256=hashlib.sha256(snapshot_bytes).hexdigest(),
                added=[p for p in files if p not in self.previous],
                changed=[p for p in files if p in self.previous and self.previous[p] != files[p]],
                removed=[p for p in self.previous if p not in files],
            )
            log = self.log
        return log_files(log)

    def _targets(self, files: Mapping[str, bytes], moment: datetime) -> Targets:
        """Top-level targets: its own files and one delegation per desk, in desk order."""
        targets = Targets(version=self.version, expires=moment + TARGETS_LIFETIME)
        targets.targets = _target_files(files)
        self._delegate(targets, "targets")
        return targets

    def _delegate(self, signed: Targets, role: str) -> None:
        """Add ``role``'s delegations (every desk whose parent it is, in desk order)."""
        children = [d for d in self.desks if d.parent == role]
        if not children:
            return
        signed.delegations = Delegations(keys={}, roles={})
        assert signed.delegations.roles is not None
        for desk in children:
            key = self.keys[desk.name].public_key
            signed.delegations.keys[key.keyid] = key
            signed.delegations.roles[desk.name] = DelegatedRole(
                desk.name, [key.keyid], 1, desk.terminating, list(desk.paths)
            )


def _sign(md: Metadata[Any], signers: list[CryptoSigner]) -> bytes:
    md.signatures.clear()
    for signer in signers:
        md.sign(signer, append=True)
    return md.to_bytes(JSONSerializer(compact=False))


def _unique(signers: list[CryptoSigner]) -> list[CryptoSigner]:
    seen: dict[str, CryptoSigner] = {}
    for signer in signers:
        seen.setdefault(signer.public_key.keyid, signer)
    return list(seen.values())


def _target_files(files: Mapping[str, bytes]) -> dict[str, TargetFile]:
    return {path: TargetFile.from_data(path, data) for path, data in files.items()}


def _meta_file(version: int, data: bytes) -> MetaFile:
    return MetaFile(version, length=len(data), hashes={"sha256": hashlib.sha256(data).hexdigest()})


def write_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (a temporary name, then ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def mirror_list(urls: Sequence[str]) -> dict[str, bytes]:
    """The signed mirror list naming ``urls`` as mirrors ``m0``, ``m1``…, by layout path."""
    mirrors = [{"name": f"m{i}", "public_url": url, "tags": []} for i, url in enumerate(urls)]
    return {MIRRORS_JSON: json.dumps({"mirrors": mirrors}, sort_keys=True).encode()}


def rewritten_log(entries: int) -> PublicationLog:
    """A log of ``entries`` entries that is not the publisher's (history rewritten: a fork).

    Entry 0 adds the election report, as a quietly edited article's first entry would.
    """
    log = PublicationLog()
    for version in range(1, entries + 1):
        log = append_entry(
            log,
            version=version,
            time=f"2026-01-{version:02d}T00:00:00Z",
            snapshot_sha256=f"{version}" * 64,
            added=["news/2026/election/index.html"] if version == 1 else [],
        )
    return log


def sample_files(edition: str = "one") -> dict[str, bytes]:
    """A tiny newsroom site: home, a feed, two news reports, a column."""
    return {
        "index.html": f"<h1>home {edition}</h1>".encode(),
        "feed.xml": f"<feed>{edition}</feed>".encode(),
        "news/2026/election/index.html": f"<p>election report {edition}</p>".encode(),
        "news/2026/flood/index.html": b"<p>flood report</p>",
        "opinion/column/index.html": b"<p>a column</p>",
    }


def sample_site(count: int = 5, *, edition: str = "one") -> dict[str, bytes]:
    """A small site for the articles preset: a home page, ``count`` articles, a stylesheet."""
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


def verify_files(
    files: dict[str, bytes], fingerprint: str, state: Path | None = None, **kwargs: Any
) -> VerifyReport:
    """Verify an in-memory copy (source ``mirror-A``) as ``tamizdat verify`` does.

    Raises:
        whatever :func:`tamizdat.trust.verify.whole.verify_release` raises.
    """
    seen = SeenStore(state) if state is not None else None
    return verify_release(
        MemorySource(files, "mirror-A"), fingerprint=fingerprint, seen=seen, **kwargs
    )
