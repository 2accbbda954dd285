"""A tuf-conformance client over the one client workflow, in strict mode.

Speaks the protocol of theupdateframework/tuf-conformance ``CLIENT-CLI.md``::

    python -m tamizdat.trust.conformance --metadata-dir D init TRUSTED_ROOT
    python -m tamizdat.trust.conformance --metadata-dir D --metadata-url U refresh
    python -m tamizdat.trust.conformance --metadata-dir D --metadata-url U \\
        --target-name P --target-base-url B --target-dir T download

``--target-name`` may repeat: targets are processed in order by one client, which stops at
the first failure. Exit code 0 on success, 1 on any failure. Invariant: ``METADATA_DIR``
holds only metadata that passed :class:`~tamizdat.trust.workflow.ClientWorkflow` (the same
workflow every reader runs; §5.3–5.7, expiry enforced: ``allow_stale=False``),
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

from tamizdat.errors import TamizdatError, TamperedError, UserError
from tamizdat.files import write_atomic
from tamizdat.layout import METADATA_DIR
from tamizdat.trust.policy import Limits, TrustPolicy
from tamizdat.trust.sources import HttpSource
from tamizdat.trust.workflow import ClientWorkflow, SourceFetcher

__all__ = ["ConformanceClient", "main"]

logger = logging.getLogger(__name__)


class _Repository:
    """The suite's repository as a source: metadata files directly under METADATA_URL."""

    remote = True

    def __init__(self, metadata: HttpSource) -> None:
        self.http = metadata
        self.name = metadata.name

    @property
    def wire_bytes(self) -> int | None:
        return self.http.wire_bytes

    def fetch(self, path: str, max_length: int) -> bytes:
        name = path.removeprefix(METADATA_DIR + "/")
        if name == path:
            return self.http.fetch_url(path, max_length)  # an absolute target URL
        version, _, rest = name.partition(".")
        if version.isdigit():  # N.role.json: the role name is one URL path segment
            name = f"{version}.{quote(rest.removesuffix('.json'), '')}.json"
        else:
            name = f"{quote(name.removesuffix('.json'), '')}.json"
        return self.http.fetch_url(self.http.base_url + name, max_length, name)


class _MetadataDir:
    """``METADATA_DIR``: the last trusted ``<role>.json`` of each role (non-versioned)."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.name = str(directory)

    def _file(self, role: str) -> Path:
        return self.dir / f"{quote(role, '')}.json"

    def metadata(self, role: str, version: int | None) -> bytes | None:
        if role == "root":  # root.json is the start of the chain, not one of its links
            return None
        return self.latest(role)

    def latest(self, role: str) -> bytes | None:
        try:
            return self._file(role).read_bytes()
        except OSError:
            return None

    def object(self, by_hash: str) -> bytes | None:
        return None

    def keep(self, role: str, version: int | None, data: bytes) -> None:
        write_atomic(self._file(role), data)


class ConformanceClient:
    """The one TUF client workflow, strict about expiry, over the suite's repository."""

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
        self.now = now or datetime.now(UTC)
        self.limits = limits or Limits()
        self.workflow: ClientWorkflow | None = None

    def refresh(self) -> TrustPolicy:
        """root → timestamp → snapshot → targets (§5.3–5.6); raises on any failure."""
        copy = _MetadataDir(self.dir)
        trusted = copy.latest("root")
        if trusted is None:
            raise UserError("no trusted root.json: run init first", where=str(self.dir))
        self.workflow = ClientWorkflow(
            SourceFetcher(_Repository(self.remote)),
            now=self.now,
            trusted_root=trusted,
            limits=self.limits,
            allow_stale=False,
            copy=copy,
        )
        return self.workflow.refresh()

    def download(self, target: str, base_url: str, target_dir: Path) -> Path:
        """Resolve ``target`` through the delegations (loading only the roles the search
        crosses), then fetch and verify it (§5.7). Refreshes first, once per client.

        Raises:
            TamperedError: not a signed target, or the file differs; as :meth:`refresh`.
        """
        workflow = self.workflow
        if workflow is None:
            self.refresh()
            workflow = self.workflow
            assert workflow is not None
        found = workflow.resolve(target)
        if found is None:
            raise TamperedError(f"{target} is not a signed target", where=self.remote.name)
        info = found[1]
        file = target_dir / quote(target, "")
        try:
            info.verify_length_and_hashes(file.read_bytes())
            return file  # cached and still the signed file
        except (OSError, LengthOrHashMismatchError) as error:
            logger.debug("no valid cached copy of %s: %s", target, error)
        directory, slash, name = target.rpartition("/")
        if workflow.policy.root.consistent_snapshot:
            name = f"{next(iter(info.hashes.values()))}.{name}"
        base = base_url if base_url.endswith("/") else base_url + "/"
        location = base + quote(f"{directory}{slash}{name}")
        write_atomic(file, workflow.fetch_target(target, info, location=location))
        return file


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tamizdat-conformance", description="tuf-conformance client over tamizdat's policy"
    )
    parser.add_argument("--metadata-dir", required=True, type=Path)
    parser.add_argument("--metadata-url")
    parser.add_argument("--target-name", action="append", default=[])
    parser.add_argument("--target-base-url")
    parser.add_argument("--target-dir", type=Path)
    parser.add_argument("--days-in-future", type=int, default=0)
    parser.add_argument("--max-root-rotations", type=int, default=Limits().max_root_rotations)
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
            for target in args.target_name:  # in order, one client: stop at the first failure
                client.download(target, args.target_base_url, args.target_dir)
    except (TamizdatError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
