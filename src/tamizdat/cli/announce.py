"""``tamizdat announce``: tell each ``[[channels]]`` entry what the signed release added or
corrected (the library is :mod:`tamizdat.channels.announcer`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from tamizdat.cli._output import Output
from tamizdat.errors import ExitCode

__all__ = ["register"]

_EPILOG = """\
examples:
  tamizdat announce --dry-run            # what every channel would be told
  tamizdat announce --channel tg-ru      # post to one channel
  tamizdat --json announce

run it after 'tamizdat publish' and 'tamizdat mirrors check' (links go only to mirrors the
check saw working). Each channel keeps a journal in the cache folder: a run that was killed or
failed sends, when run again, only the rest. A message whose delivery cannot be confirmed
after a crash (Telegram cannot tell) is reported as pending and not sent again; check the
channel, then use --retry-pending to send it anyway.

secrets come from environment variables named in [channels.options] (token_env = "…").

exit codes: 0 done, 2 bad configuration or pending messages to check, 7 a channel failed
"""


def register(sub: Any) -> None:
    """Add ``announce`` to the top-level parser."""
    parser = sub.add_parser(
        "announce",
        help="announce new and corrected articles on the configured channels",
        description="Announce what the signed release added or corrected since each channel's "
        "last announcement (Telegram, e-mail, …: the [[channels]] of tamizdat.toml).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="NAME",
        help="only this channel (repeatable; default: every channel)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print what would be sent; send and record nothing"
    )
    parser.add_argument(
        "--retry-pending",
        action="store_true",
        help="send again the messages an interrupted run left unconfirmed (after checking "
        "the channel did not get them)",
    )
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="print one JSON document instead of text")  # fmt: skip
    parser.set_defaults(handler=run_announce, needs_site=True)


def run_announce(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.channels.announcer import announce_channels
    from tamizdat.channels.messages import clean_text
    from tamizdat.config import load_config
    from tamizdat.publish.history import read_latest_entries

    config = load_config(Path(args.site))
    history = config.build.cache_dir / "mirrors-history.jsonl"
    report = announce_channels(
        config,
        mirror_states={name: e.state for name, e in read_latest_entries(history).items()},
        names=args.channel,
        dry_run=args.dry_run,
        retry_pending=args.retry_pending,
        environ=os.environ,
        progress=out.progress,
    )

    def human() -> None:
        verb = "would send" if report.dry_run else "sent"
        for channel in report.channels:
            rows = channel.planned if report.dry_run else channel.sent
            for row in rows:
                for story in row["stories"]:
                    label = "correction" if story["correction"] else "new"
                    title = clean_text(story["title"], 100)  # an article's title: no escapes
                    out.say(f"{channel.channel}: {verb} [{row['lang']}] {label}: {title}")
            if channel.started_at:
                out.say(
                    f"{channel.channel}: first run: {channel.started_at} older stories recorded "
                    "as already known"
                )
            for key in channel.confirmed:
                out.say(f"{channel.channel}: confirmed sent before the interruption: {key}")
            if not rows and channel.error is None:
                out.say(f"{channel.channel}: nothing new since the last announcement")
        out.say(f"release {report.release}: {verb} {_count(report, report.dry_run)} message(s)")

    out.result(report.to_json(), human)
    code = int(ExitCode.OK)
    for channel in report.channels:
        for key in channel.unresolved:
            print(  # never silenced by --quiet: a human must look
                f"warning: channel {channel.channel}: pending, delivery unknown: {key} (check "
                "the channel, then run with --retry-pending to send it)",
                file=out.stderr,
            )
            code = max(code, int(ExitCode.USER))
    for error in report.errors:
        print(f"error: {error}", file=out.stderr)  # never silenced by --quiet
        if error.hint:
            print(f"hint: {error.hint}", file=out.stderr)
        code = max(code, int(error.exit_code))
    return code


def _count(report: Any, dry_run: bool) -> int:
    return sum(len(c.planned if dry_run else c.sent) for c in report.channels)
