"""Commands of the publisher's channels: bundle, zim, and the list of declared channels.

Each export command loads its channel by name from :data:`tamizdat.registry.BUILTINS` and
hands it the signed release; what it did comes back as a :class:`~tamizdat.channels.base.
ChannelReport` (``--json`` prints it).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tamizdat.cli._output import Output
from tamizdat.errors import ExitCode

__all__ = ["register"]


def _add(sub: Any, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help_text, description=help_text[:1].upper() + help_text[1:] + ".",
        epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    return parser


def register(sub: Any) -> None:
    """Add this group's commands to the top-level parser."""
    bundle = _add(sub, "bundle", "write the signed release as one file (for USB sticks, messengers)",
                  "tamizdat bundle -o news.zip --since 41")  # fmt: skip
    bundle.add_argument("-o", "--output", required=True, type=Path, metavar="FILE")
    bundle.add_argument("--since", type=int, metavar="VERSION",
                        help="only what changed since release VERSION (a small delta)")  # fmt: skip
    bundle.set_defaults(handler=cmd_export, channel="bundle", needs_site=True)

    zim = _add(sub, "zim", "export the site as a ZIM file for Kiwix (+ a detached signature)",
               "tamizdat zim -o news.zim")  # fmt: skip
    zim.add_argument("-o", "--output", required=True, type=Path, metavar="FILE")
    zim.set_defaults(handler=cmd_export, channel="zim", needs_site=True)

    listing = _add(sub, "channels", "list the channels a release can be carried by",
                   "tamizdat channels --json")  # fmt: skip
    listing.set_defaults(handler=cmd_channels)


def cmd_export(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.channels.base import ChannelRequest, load_channel
    from tamizdat.config import load_config

    config = load_config(args.site)
    channel = load_channel(args.channel)
    options = {"since": args.since} if getattr(args, "since", None) is not None else {}
    report = channel.deliver(
        ChannelRequest(config.signing.release_dir, config, output=args.output, options=options)
    )
    counts = ", ".join(f"{value} {key}" for key, value in report.counts.items())
    out.result(report.to_dict(), lambda: out.say(
        f"wrote {' and '.join(report.outputs)}: release {report.release}, {counts}"))  # fmt: skip
    return int(ExitCode.OK)


def cmd_channels(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.registry import BUILTINS

    rows = [
        {"name": e.name, "summary": e.summary, "example": e.example, "extra": e.extra}
        for e in BUILTINS.of_kind("channel")
    ]

    def human() -> None:
        for row in rows:
            extra = f"  (needs tamizdat[{row['extra']}])" if row["extra"] else ""
            out.say(f"{row['name']:8} {row['summary']}{extra}")
            out.say(f"{'':8} {row['example']}")

    out.result({"channels": rows}, human)
    return int(ExitCode.OK)
