"""A tuf-conformance client over :class:`~tamizdat.trust.policy.TrustPolicy` in strict mode.

Speaks the protocol of theupdateframework/tuf-conformance ``CLIENT-CLI.md``::

    python -m tamizdat.trust.conformance --metadata-dir D init TRUSTED_ROOT
    python -m tamizdat.trust.conformance --metadata-dir D --metadata-url U refresh
    python -m tamizdat.trust.conformance --metadata-dir D --metadata-url U \\
        --target-name P --target-base-url B --target-dir T download

Exit code 0 on success, 1 on any failure. Invariant: ``METADATA_DIR`` holds only metadata
that passed the TUF client workflow (§5.3–5.7, expiry enforced: ``allow_stale=False``),
under non-versioned names (``root.json``, ``timestamp.json``, ``<role>.json``), written
atomically; local copies are loaded first, as trusted-but-possibly-outdated state, so
rollback is refused across runs exactly as the spec's client does.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from tuf.api.exceptions import LengthOrHashMismatchError

from tamizdat.errors import TamizdatError, TamperedError, UntrustedContentError, UserError
from tamizdat.files import write_atomic
from tamizdat.trust.policy import Limits, TrustPolicy
from tamizdat.trust.sources import HttpSource, MissingFileError

__all__ = ["ConformanceClient", "main"]

logger = logging.getLogger(__name__)


class ConformanceClient:
    """The TUF client workflow with a local metadata cache (what the suite inspects)."""

    def __init__(
        self,
        metadata_dir: Path,
        metadata_url: str,
        *,
        now: datetime | None = None,
        limits: Limits | None = None,
    ) -> None:
        self.dir = metadata_dir
        self.remote = HttpSource(metadata_url, name=metadata_url)
        self.base = self.remote.base_url
        self.now = now or datetime.now(UTC)
        self.limits = limits or Limits()
        self.policy: TrustPolicy | None = None

    def _local(self, role: str) -> bytes | None:
        try:
            return (self.dir / f"{quote(role, '')}.json").read_bytes()
        except OSError:
            return None

    def _persist(self, role: str, data: bytes) -> None:
        write_atomic(self.dir / f"{quote(role, '')}.json", data)

    def _download(self, role: str, version: int | None, cap: int) -> bytes:
        name = quote(role, "")
        file = f"{version}.{name}.json" if version is not None else f"{name}.json"
        return self.remote.fetch_url(self.base + file, cap, file)

    def refresh(self) -> TrustPolicy:
        """root → timestamp → snapshot → targets (§5.3–5.6); raises on any failure."""
        trusted = self._local("root")
        if trusted is None:
            raise UserError("no trusted root.json: run init first", where=str(self.dir))
        policy = TrustPolicy(trusted, now=self.now, allow_stale=False, limits=self.limits)
        self.policy = policy
        self._load_roots(policy)
        self._load_timestamp(policy)
        self._load_snapshot(policy)
        self.load_targets("targets", "root")
        return policy

    def _load_roots(self, policy: TrustPolicy) -> None:
        for _ in range(self.limits.max_root_rotations):
            version = policy.root.version + 1
            try:
                data = self._download("root", version, self.limits.root_max_bytes)
            except MissingFileError:
                return
            policy.update_root(data)
            self._persist("root", data)

    def _load_timestamp(self, policy: TrustPolicy) -> None:
        local = self._local("timestamp")
        if local is not None:
            try:
                policy.update_timestamp(local)
            except UntrustedContentError as error:
                # An expired or re-keyed local copy is still the floor for rollback
                # checks when it verified; otherwise it is simply ignored (§5.3.11).
                logger.debug("local timestamp not usable as final: %s", error)
        data = self._download("timestamp", None, self.limits.timestamp_max_bytes)
        if policy.update_timestamp(data):
            self._persist("timestamp", data)

    def _load_snapshot(self, policy: TrustPolicy) -> None:
        local = self._local("snapshot")
        if local is not None:
            try:
                policy.update_snapshot(local, trusted=True)
                return
            except UntrustedContentError as error:
                logger.debug("local snapshot not usable as final: %s", error)
        meta = policy.timestamp.snapshot_meta
        version = meta.version if policy.root.consistent_snapshot else None
        cap = min(meta.length or self.limits.snapshot_max_bytes, self.limits.snapshot_max_bytes)
        data = self._download("snapshot", version, cap)
        policy.update_snapshot(data)
        self._persist("snapshot", data)

    def load_targets(self, role: str, delegator: str) -> None:
        """Load ``role`` from the local cache if still valid, else from the repository."""
        policy = self._require()
        if role in policy.loaded_roles:
            return
        local = self._local(role)
        if local is not None:
            try:
                policy.update_delegated_targets(local, role, delegator)
                return
            except UntrustedContentError as error:
                logger.debug("local %s not usable: %s", role, error)
        meta = policy.snapshot.meta.get(f"{role}.json")
        version = meta.version if meta and policy.root.consistent_snapshot else None
        cap = meta.length if meta and meta.length else self.limits.targets_max_bytes
        data = self._download(role, version, min(cap, self.limits.targets_max_bytes))
        policy.update_delegated_targets(data, role, delegator)
        self._persist(role, data)

    def _require(self) -> TrustPolicy:
        if self.policy is None:
            raise UserError("refresh first", where=str(self.dir))
        return self.policy

    def download(self, target: str, base_url: str, target_dir: Path) -> Path:
        """Resolve ``target`` through the delegations, then fetch and verify it (§5.7)."""
        policy = self.refresh()
        found = policy.resolve_target(target, self.load_targets)
        if found is None:
            raise TamperedError(f"{target} is not a signed target", where=self.base)
        info = found[1]
        file = target_dir / quote(target, "")
        try:
            info.verify_length_and_hashes(file.read_bytes())
            return file  # cached and still the signed file
        except (OSError, LengthOrHashMismatchError) as error:
            logger.debug("no valid cached copy of %s: %s", target, error)
        directory, slash, name = target.rpartition("/")
        if policy.root.consistent_snapshot:
            name = f"{next(iter(info.hashes.values()))}.{name}"
        base = base_url if base_url.endswith("/") else base_url + "/"
        data = self.remote.fetch_url(base + quote(f"{directory}{slash}{name}"), info.length)
        policy.verify_target(target, data)
        write_atomic(file, data)
        return file


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tamizdat-conformance", description="tuf-conformance client over tamizdat's policy"
    )
    parser.add_argument("--metadata-dir", required=True, type=Path)
    parser.add_argument("--metadata-url")
    parser.add_argument("--target-name")
    parser.add_argument("--target-base-url")
    parser.add_argument("--target-dir", type=Path)
    parser.add_argument("--days-in-future", type=int, default=0)
    parser.add_argument("--max-root-rotations", type=int, default=32)
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init")
    init.add_argument("trusted_root", type=Path)
    sub.add_parser("refresh")
    sub.add_parser("download")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one protocol command; 0 on success, 1 on any failure."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "init":
            write_atomic(args.metadata_dir / "root.json", args.trusted_root.read_bytes())
            return 0
        if not args.metadata_url:
            raise UserError("--metadata-url is required", where=args.command)
        client = ConformanceClient(
            args.metadata_dir,
            args.metadata_url,
            now=datetime.now(UTC) + timedelta(days=args.days_in_future),
            limits=Limits(max_root_rotations=args.max_root_rotations),
        )
        if args.command == "refresh":
            client.refresh()
        else:
            if not (args.target_name and args.target_base_url and args.target_dir):
                raise UserError("download needs --target-name, --target-base-url, --target-dir")
            client.download(args.target_name, args.target_base_url, args.target_dir)
    except (TamizdatError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
