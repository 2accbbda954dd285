"""``tamizdat verify``: is this copy (or this one page) exactly what the publisher signed?"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tamizdat.cli._output import Output
from tamizdat.errors import ConfigError, ExitCode, UserError

_EPILOG = """\
examples:
  tamizdat verify ./release --fingerprint "3f2a 9c01 …"
  tamizdat verify https://mirror.example.org/ --fingerprint 3f2a9c01… --sample 100
  tamizdat verify news-2026-11.tamizdat --fingerprint 3f2a9c01… --json
  tamizdat verify --page suspicious.html --against https://mirror.example.org/ --fingerprint 3f2a…

outcomes and exit codes: 0 authentic and current, 3 authentic but stale, 4 rollback refused,
5 tampered, 6 not signed by this publisher, 7 source unreachable
"""

_EXIT = {
    "current": ExitCode.OK,
    "stale": ExitCode.STALE,
    "rollback": ExitCode.ROLLBACK,
    "tampered": ExitCode.TAMPERED,
    "not-this-publisher": ExitCode.NOT_THIS_PUBLISHER,
}


def register(sub: Any) -> None:
    """Add ``verify`` to the top-level parser."""
    parser = sub.add_parser(
        "verify",
        help="check a release directory, mirror URL or bundle against the pinned fingerprint",
        description="Verify every signature, version, length and hash of a copy of the site, "
        "or (with --page) whether one page is byte-for-byte a page the publisher signed.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "source", nargs="?", help="release directory, bundle file or http(s):// URL"
    )
    parser.add_argument(
        "--fingerprint", required=True, metavar="FP", help="the publisher's root fingerprint"
    )
    parser.add_argument("--page", metavar="FILE_OR_URL", help="check one page instead")
    parser.add_argument(
        "--against", metavar="SOURCE", help="with --page: where to look (default: release_dir)"
    )
    parser.add_argument("--state-dir", metavar="DIR", help="where versions seen before are kept")
    parser.add_argument(
        "--sample", type=int, metavar="N", help="check N random files instead of all of them"
    )
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--ca-file", metavar="FILE", help="CA certificates for https sources")
    parser.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="one network read (default 10)"
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=300.0,
        metavar="S",
        help="the whole check of an http(s) source, page included (default 300)",
    )
    parser.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.trust.sources import open_source
    from tamizdat.trust.state import SeenStore
    from tamizdat.trust.verify import verify_release_report

    if args.page:
        return _run_page(args, out)
    if not args.source:
        raise UserError("expected a SOURCE to verify (or --page FILE)", where="tamizdat verify")
    limits, deadline = _network(args)
    source = open_source(args.source, ca_file=args.ca_file, limits=limits, deadline=deadline)
    try:
        report = verify_release_report(
            source,
            fingerprint=args.fingerprint,
            seen=SeenStore(args.state_dir),
            check="sample" if args.sample else "all",
            sample_size=args.sample or 0,
            seed=args.seed,
            progress=out.progress,
        )
    finally:
        _close(source)
    out.result(report.to_dict(), lambda: out.say(describe(report)))
    return int(_EXIT[report.outcome])


def _network(args: argparse.Namespace) -> tuple[Any, Any]:
    """The network limits of this run and its one deadline (started now)."""
    from tamizdat.trust.network import Deadline, NetworkLimits

    if args.deadline <= 0 or args.timeout <= 0:
        raise UserError(
            f"expected positive seconds, found --timeout {args.timeout:g} and --deadline "
            f"{args.deadline:g}",
            where="--deadline" if args.deadline <= 0 else "--timeout",
        )
    limits = NetworkLimits(read_timeout=args.timeout, deadline=args.deadline)
    return limits, Deadline(limits.deadline)


def _close(source: Any) -> None:
    """Close a source that holds connections or files (an HTTP mirror, a bundle)."""
    close = getattr(source, "close", None)
    if callable(close):
        close()


def describe(report: Any) -> str:
    """The one-line human verdict for a :class:`~tamizdat.trust.verify.VerifyReport`."""
    when = f"{report.published:%Y-%m-%d %H:%M} UTC" if report.published else "at an unknown time"
    if report.outcome == "current":
        return f"authentic and current: release {report.version}, published {when}"
    if report.outcome == "stale":
        roles = ", ".join(report.stale_roles)
        return (
            f"authentic but STALE: release {report.version}, published {when}, possibly "
            f"outdated ({roles} expired {report.expires:%Y-%m-%d %H:%M} UTC)"
        )
    label = {
        "rollback": "ROLLBACK refused",
        "tampered": "TAMPERED",
        "not-this-publisher": "NOT SIGNED BY THIS PUBLISHER",
    }[report.outcome]
    return f"{label}: {report.problem} (source {report.where or report.source})"


def _release_dir(args: argparse.Namespace) -> str:
    from tamizdat.config import load_config

    try:
        return str(load_config(Path(args.site)).signing.release_dir)
    except ConfigError as error:
        raise UserError(
            "expected --against SOURCE, or a site with tamizdat.toml for its release_dir",
            where="--against",
            hint=str(error),
        ) from None


def _run_page(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.trust.sources import open_source, read_page
    from tamizdat.trust.state import SeenStore
    from tamizdat.trust.verify import find_page

    against = args.against or args.source or _release_dir(args)
    limits, deadline = _network(args)
    page, name = read_page(args.page, ca_file=args.ca_file, limits=limits, deadline=deadline)
    source = open_source(against, ca_file=args.ca_file, limits=limits, deadline=deadline)
    try:
        found = find_page(
            source, page, fingerprint=args.fingerprint, seen=SeenStore(args.state_dir)
        )
    finally:
        _close(source)

    def human() -> None:
        if not found.signed:
            out.say(f"{name}: not a page this publisher signed (checked release {found.release})")
            return
        for path in found.paths:
            first = found.first_seen.get(path)
            since = f", first in release {first[0]} ({first[1]})" if first else ""
            out.say(f"{name}: signed by this publisher as {path} in release {found.release}{since}")
        if found.stale:
            out.warn("the release searched is stale: newer pages may exist")

    out.result(found.to_dict(), human)
    return int(ExitCode.OK if found.signed else ExitCode.TAMPERED)
