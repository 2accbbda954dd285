"""The command line: parse, call one library function, print. No logic lives here.

Each command group is a module with ``register(subparsers)``; a command's handler takes
``(args, out)`` and returns an exit code. Errors are turned into one ``error: …`` line in
exactly one place, :func:`main`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from tamizdat import __version__
from tamizdat.cli import announce, build, channels, mail, publish, reader, trust, verify
from tamizdat.cli._output import Output, internal_error, report_error
from tamizdat.config import find_site
from tamizdat.errors import ExitCode, TamizdatError

__all__ = ["main", "run"]

_GROUPS = (build, trust, verify, publish, channels, announce, mail, reader)

_EPILOG = """\
typical session:
  tamizdat init mysite && cd mysite
  tamizdat build                 # content/ -> public/
  tamizdat keys init --demo      # demo keys (unencrypted!) for trying things out
  tamizdat sign                  # public/ -> release/ (TUF-signed)
  tamizdat publish               # release/ -> every mirror in tamizdat.toml
  tamizdat mirrors check         # which mirrors serve the current, authentic release

exit codes: 0 ok, 1 internal error, 2 bad input or configuration, 3 authentic but stale,
4 rollback, 5 tampered, 6 not signed by this publisher, 7 mirror unreachable
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tamizdat",
        description="Publish once from exile; reach readers through every channel, verifiably.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tamizdat {__version__}")
    parser.add_argument(
        "-C",
        "--site",
        metavar="DIR",
        help="site folder holding tamizdat.toml, used as given (default: the nearest "
        "folder up from here that holds one)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document instead of text"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or notes on stderr")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-vv for debug)"
    )
    parser.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for group in _GROUPS:
        group.register(sub)
    return parser


def _locate_site(args: argparse.Namespace, out: Output) -> None:
    """Set ``args.site`` for the command; the one place the site folder is chosen.

    ``-C DIR`` is used as given. Otherwise a command that works on a site (its parser sets
    ``needs_site``) walks up from the current folder as git does (``config.find_site``)
    and says so when the site is above; other commands (``init``, ``reader``, ``verify``,
    ``channels``) never walk and keep the current folder.

    Raises:
        ConfigError: no site found up from here, or the one found belongs to another user.
    """
    if args.site is not None:
        return
    if not getattr(args, "needs_site", False):
        args.site = "."
        return
    here = Path.cwd()
    root = find_site(here)
    if root != here:
        out.note(f"using the site in {root}")
    args.site = str(root)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code. Tests call this directly."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return int(ExitCode.USER)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    out = Output(json_mode=args.json, quiet=args.quiet)
    try:
        _locate_site(args, out)
        return int(args.handler(args, out))
    except TamizdatError as error:
        return report_error(out, error)
    except KeyboardInterrupt:
        out.note("interrupted")
        return 130
    except BrokenPipeError:
        raise  # the reader of our output went away: run() ends quietly
    except Exception as exc:
        if args.debug:
            raise
        return internal_error(out, exc)


def run() -> None:
    """Console-script entry point."""
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader of our output went away (``tamizdat … | head``): not an error of ours.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 0
    sys.exit(code)
