"""The TUF client workflow, written once: every way of reading a release goes through here.

Invariant: :class:`ClientWorkflow` is the only code that decides which metadata file to ask
for next, from where, and with which cap (TUF §5.2–5.7, docs/verification-policy.md steps
1–10); :class:`~tamizdat.trust.verify.policy.TrustPolicy` alone decides what the bytes are worth.
``tamizdat verify`` (a directory, a bundle, one HTTP mirror), ``verify --page``, ``mirrors
check``, ZIM export, ``reader sync`` and ``reader import`` (a fail-over pool of mirrors or a
bundle, over the reader's store) and the tuf-conformance client differ only in what they
hand in:

- a :class:`Fetcher` — where bytes come from: one source (:class:`SourceFetcher`), or a pool
  of mirrors that asks the next one when an answer is missing, unreachable or refused by the
  check it is given (``reader.mirrors.MirrorPool``);
- a :class:`TrustedCopy` — metadata and objects verified on an earlier run (the reader's
  store, the conformance client's metadata directory), tried before the network and
  re-verified like any other bytes;
- the pinned root (a fingerprint, a trusted ``root.json``, or trust on first use), what this
  machine saw before (rollback floors) and the freshness mode (label or refuse expiry).

Delegations are trusted per edge (:mod:`tamizdat.trust.verify.delegations`): a whole-release load
verifies every reachable role against *every* delegator that lists it; a per-target lookup
(:meth:`ClientWorkflow.resolve`) loads and verifies only the edges its depth-first search
crosses, as the conformance suite expects.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from tuf.api.exceptions import LengthOrHashMismatchError
from tuf.api.metadata import Root, Snapshot, TargetFile, Targets, Timestamp

from tamizdat.errors import (
    MirrorUnreachableError,
    NotThisPublisherError,
    OversizeError,
    TamperedError,
    UntrustedContentError,
)
from tamizdat.fingerprint import root_fingerprint
from tamizdat.layout import by_hash_path, metadata_path
from tamizdat.transport.fetch import Check, Fetcher
from tamizdat.transport.sources import MissingFileError
from tamizdat.trust.log import LogLimits, PublicationLog
from tamizdat.trust.verify.checks import sha256_hex
from tamizdat.trust.verify.kept import NoCopy, TrustedCopy
from tamizdat.trust.verify.policy import Limits, SeenVersions, TrustPolicy
from tamizdat.trust.verify.publication import check_log, release_entry

__all__ = [
    "ClientWorkflow",
    "LoadedRelease",
    "NoCopy",
    "TrustedCopy",
    "release_entry",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LoadedRelease:
    """A release whose metadata verified: the policy holds every reachable targets role."""

    policy: TrustPolicy
    fingerprint: str
    snapshot_bytes: bytes


def _accepted(check: Callable[[bytes, str], object]) -> Check[bytes]:
    def run(data: bytes, where: str) -> bytes:
        check(data, where)
        return data

    return run


class ClientWorkflow:
    """One run of the TUF client workflow over a fetcher (module docstring).

    ``fingerprint`` pins ``1.root.json`` (None: trust on first use); ``trusted_root``
    instead starts from a root verified before (the conformance client's ``root.json``).
    ``metadata`` collects every verified metadata file by its versioned name, as a store
    keeps it.
    """

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        now: datetime,
        fingerprint: str | None = None,
        trusted_root: bytes | None = None,
        seen: SeenVersions | None = None,
        limits: Limits | None = None,
        allow_stale: bool = True,
        copy: TrustedCopy | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.now = now
        self.fingerprint = fingerprint
        self.seen = seen or SeenVersions()
        self.limits = limits or Limits()
        self.allow_stale = allow_stale
        self.copy: TrustedCopy = copy or NoCopy()
        self.metadata: dict[str, bytes] = {}
        self.timestamp_source: str | None = None
        self.fetched: dict[str, bytes] = {}  # by-hash files verified during the log check
        self.origins: dict[str, str] = {}  # where each verified target file came from
        self._trusted_root = trusted_root
        self._policy: TrustPolicy | None = None
        self._snapshot_bytes = b""

    @property
    def policy(self) -> TrustPolicy:
        if self._policy is None:
            raise MirrorUnreachableError("the workflow has not loaded a root yet")
        return self._policy

    # --- steps 1–3: the pinned root and the root chain (§5.2–5.3) -------------------------

    def _new_policy(self, data: bytes) -> TrustPolicy:
        return TrustPolicy(
            data,
            now=self.now,
            allow_stale=self.allow_stale,
            seen=self.seen,
            limits=self.limits,
        )

    def _pinned(self, data: bytes, where: str) -> bytes:
        found = root_fingerprint(data)
        if self.fingerprint is not None and found != self.fingerprint:
            raise NotThisPublisherError(
                f"expected the root with fingerprint {self.fingerprint}, found {found}",
                where=where,
                hint="this copy was signed by someone else (or the fingerprint was mistyped)",
            )
        self._new_policy(data)  # self-signed to its own threshold
        return data

    def load_root(self) -> TrustPolicy:
        """Steps 1–2: the pinned root, then N+1, N+2 … (kept copies first, then fetched).

        Raises:
            NotThisPublisherError: the first root is not the pinned one.
            OversizeError: more fetched rotations than the limit. BadSignatureError,
            RollbackError, TamperedError: a next root that does not chain. TransportError.
        """
        if self._trusted_root is not None:
            policy = self._new_policy(self._trusted_root)
        else:
            path = metadata_path(Root.type, 1)
            kept = self.copy.metadata(Root.type, 1)
            first = None
            if kept is not None:
                try:
                    first = self._pinned(kept, f"{self.copy.name}: {path}")
                except UntrustedContentError as exc:
                    logger.warning("ignoring the kept first root: %s", exc)
            if first is None:
                first = self.fetcher.fetch_checked(path, self.limits.root_max_bytes, self._pinned)
            self.metadata["1.root.json"] = first
            if self.fingerprint is None:
                self.fingerprint = root_fingerprint(first)
            policy = self._new_policy(first)
        self._policy = policy
        self._update_roots(policy)
        return policy

    def _update_roots(self, policy: TrustPolicy) -> None:
        fetched = 0
        while True:
            version = policy.root.version + 1
            name = f"{version}.root.json"
            kept = self.copy.metadata(Root.type, version)
            if kept is not None:
                try:
                    policy.update_root(kept, where=f"{self.copy.name}: {name}")
                    self.metadata[name] = kept
                    continue
                except UntrustedContentError as exc:
                    logger.warning("ignoring kept %s: %s", name, exc)
            path = metadata_path(Root.type, version)
            try:
                data = self.fetcher.fetch_checked(
                    path,
                    self.limits.root_max_bytes,
                    _accepted(partial(self._next_root, policy, fetched)),
                    probe=True,
                )
            except MissingFileError:
                return
            fetched += 1
            self.metadata[name] = data
            self.copy.keep(Root.type, version, data)

    def _next_root(self, policy: TrustPolicy, fetched: int, data: bytes, where: str) -> None:
        if fetched >= self.limits.max_root_rotations:
            raise OversizeError(
                f"expected at most {self.limits.max_root_rotations} root rotations in one "
                "update, found more",
                where=where,
                hint="a verified copy of a newer root (a store or bundle) shortens the chain",
            )
        policy.update_root(data, where=where)

    # --- step 4: the timestamp (§5.4) -----------------------------------------------------

    def update_timestamp(self, quorum: int = 1) -> None:
        """Step 4: ask up to ``quorum`` sources, keep the newest authentic timestamp.

        A kept timestamp is loaded first as a rollback floor.

        Raises:
            RollbackError, BadSignatureError, TamperedError, ExpiredMetadataError (strict):
            every answer was refused (the last refusal). TransportError: no answer.
        """
        policy = self.policy
        path = metadata_path(Timestamp.type, None)
        kept = self.copy.latest(Timestamp.type)
        if kept is not None:
            try:
                policy.update_timestamp(kept, where=f"{self.copy.name}: {path}")
                self.metadata["timestamp.json"] = kept
            except UntrustedContentError as exc:
                logger.debug("kept timestamp is no floor: %s", exc)
        answers = self.fetcher.gather(path, self.limits.timestamp_max_bytes, quorum)
        errors: list[UntrustedContentError] = []
        newer = False
        for source, data in answers:
            try:
                if policy.update_timestamp(data, where=f"{source}: {path}"):
                    self.metadata["timestamp.json"] = data
                    self.timestamp_source, newer = source, True
                self.timestamp_source = self.timestamp_source or source
            except UntrustedContentError as exc:
                self.fetcher.refused(source, path, exc)
                errors.append(exc)
        if self.timestamp_source is None:
            if errors:
                raise errors[-1]
            raise MirrorUnreachableError(
                f"expected {path} from at least one source, got none",
                where=self.fetcher.name,
                hint="add more mirrors, import a bundle, or try again later",
            )
        self.fetcher.prefer(self.timestamp_source)
        if newer:  # an answer of the version kept already changes nothing (§5.4.3)
            self.copy.keep(Timestamp.type, None, self.metadata["timestamp.json"])

    # --- step 5: the snapshot (§5.5) ------------------------------------------------------

    def update_snapshot(self) -> None:
        """Step 5: the snapshot the timestamp names (a kept copy first, as a floor).

        Raises:
            TamperedError, MixAndMatchError, BadSignatureError, RollbackError,
            ExpiredMetadataError (strict); TransportError.
        """
        policy = self.policy
        meta = policy.timestamp.snapshot_meta
        version = meta.version if policy.root.consistent_snapshot else None
        name = f"{meta.version}.snapshot.json"
        kept = self.copy.latest(Snapshot.type)
        if kept is not None:
            try:
                policy.update_snapshot(kept, where=f"{self.copy.name}: {name}", trusted=True)
                self._snapshot_bytes = kept
                self.metadata[name] = kept
                return
            except UntrustedContentError as exc:
                logger.debug("kept snapshot is not this release's: %s", exc)
        cap = min(meta.length or self.limits.snapshot_max_bytes, self.limits.snapshot_max_bytes)
        data = self.fetcher.fetch_checked(
            metadata_path(Snapshot.type, version),
            cap,
            _accepted(lambda d, w: policy.update_snapshot(d, where=w)),
        )
        self._snapshot_bytes = data
        self.metadata[name] = data
        self.copy.keep(Snapshot.type, version, data)

    def refresh(self, quorum: int = 1) -> TrustPolicy:
        """Steps 1–5 and the top-level targets: what every later question starts from."""
        policy = self.load_root()
        self.update_timestamp(quorum)
        self.update_snapshot()
        self.load_delegation(Targets.type, Root.type)
        return policy

    # --- step 6: targets roles (§5.6), trusted per delegation edge ------------------------

    def load_delegation(self, role: str, delegator: str) -> None:
        """Trust ``delegator`` → ``role``: fetch and verify the role the first time it is
        reached, check it against ``delegator``'s keys every further time.

        Raises:
            MixAndMatchError (not in the snapshot, other version), TamperedError,
            BadSignatureError, RollbackError, ExpiredMetadataError (strict); TransportError.
        """
        policy = self.policy
        if policy.has_role(role):
            policy.trust_delegation(role, delegator)
            return
        meta = policy.role_meta(role, delegator)
        version = meta.version if policy.root.consistent_snapshot else None
        name = f"{meta.version}.{role}.json"

        def accept(data: bytes, where: str) -> None:
            policy.update_delegated_targets(data, role, delegator, where=where)

        kept = self.copy.metadata(role, version)
        if kept is not None:
            try:
                accept(kept, f"{self.copy.name}: {name}")
                self.metadata[name] = kept
                return
            except UntrustedContentError as exc:
                logger.debug("kept %s not usable: %s", name, exc)
        cap = min(meta.length or self.limits.targets_max_bytes, self.limits.targets_max_bytes)
        data = self.fetcher.fetch_checked(metadata_path(role, version), cap, _accepted(accept))
        self.metadata[name] = data
        self.copy.keep(role, version, data)

    def load_all_roles(self) -> LoadedRelease:
        """Steps 6–7 for a whole release: every delegation edge reachable from ``targets``
        (breadth first), then every listed path must be authorised.

        Raises:
            OversizeError: more roles than the limit; UnauthorizedPathError; as
            :meth:`load_delegation`.
        """
        policy = self.policy
        queue = deque((child, Targets.type) for child, _ in policy.children(Targets.type))
        roles = 1
        while queue:
            role, delegator = queue.popleft()
            first = not policy.has_role(role)
            if first:
                roles += 1
                if roles > self.limits.max_delegations:
                    raise OversizeError(
                        f"expected at most {self.limits.max_delegations} targets roles, found more",
                        where=self.fetcher.name,
                    )
            self.load_delegation(role, delegator)
            if first:
                queue.extend((child, role) for child, _ in policy.children(role))
        policy.delegations.check_all_authorized()
        return self.release()

    def resolve(self, path: str) -> tuple[str, TargetFile] | None:
        """Step 8 for one path: the depth-first search, loading only the edges it crosses.

        Raises:
            As :meth:`load_delegation`.
        """
        return self.policy.resolve_target(path, self.load_delegation)

    def release(self) -> LoadedRelease:
        """The verified release so far (for the publication-log checks)."""
        return LoadedRelease(self.policy, self.fingerprint or "", self._snapshot_bytes)

    # --- step 9: files (§5.7) -------------------------------------------------------------

    def fetch_target(
        self, path: str, info: TargetFile, *, natural: bool = False, location: str | None = None
    ) -> bytes:
        """The by-hash object of ``path`` (and, with ``natural``, its natural-path copy),
        each exactly the signed length and every signed hash. ``location`` overrides where
        the object is (a repository laid out otherwise, e.g. the conformance suite's).

        Raises:
            TamperedError: missing everywhere, or length/hash differ (names the source).
            OversizeError: more than the signed length. TransportError.
        """
        if location is None:
            sha = info.hashes.get("sha256")
            if sha is None:
                raise TamperedError(
                    f"{path} is signed without a sha256 hash", where=self.fetcher.name
                )
            location = by_hash_path(path, sha)
        kept = self.fetched.get(location)
        if kept is None:
            kept = self.copy.object(location)
            self.origins.setdefault(location, f"{self.copy.name}: {location}")
        if kept is not None and _matches(info, kept):
            return kept
        data = self._fetch_signed(path, location, info)
        if natural and not self.fetcher.stored_once(location, path):
            self._fetch_signed(path, path, info)
        return data

    def _fetch_signed(self, path: str, location: str, info: TargetFile) -> bytes:
        def check(data: bytes, where: str) -> bytes:
            if not _matches(info, data):
                raise TamperedError(
                    f"{path} differs from the signed copy: expected {info.length} bytes with "
                    f"sha256 {info.hashes.get('sha256', '?')}, found {len(data)} bytes with "
                    f"sha256 {sha256_hex(data)}",
                    where=where,
                )
            self.origins[location] = where
            return data

        try:
            return self.fetcher.fetch_checked(location, info.length, check)
        except MissingFileError as exc:
            raise TamperedError(
                f"{path}: the signed file is missing from the source",
                where=_at(exc.where or self.fetcher.name, location),
            ) from None
        except OversizeError as exc:
            raise OversizeError(
                f"{path}: expected the signed {info.length} bytes, found more (endless data)",
                where=_at(exc.where or self.fetcher.name, location),
            ) from None

    # --- step 10: the publication log -----------------------------------------------------

    def check_log(
        self,
        head_bytes: bytes,
        *,
        history: bool = False,
        limits: LogLimits | None = None,
    ) -> PublicationLog:
        """Step 10: the publication log (see :func:`~tamizdat.trust.verify.publication.
        check_log`, which raises)."""
        return check_log(self, head_bytes, history=history, limits=limits)


def _at(where: str, location: str) -> str:
    """``where`` naming ``location`` too (an HTTP source's ``where`` is the URL already)."""
    return where if location in where else f"{where}: {location}"


def _matches(info: TargetFile, data: bytes) -> bool:
    try:
        info.verify_length_and_hashes(data)
    except LengthOrHashMismatchError:
        return False
    return True
