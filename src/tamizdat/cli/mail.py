"""Commands of the e-mail channel: ``subscribers`` (double opt-in list) and ``robot``.

The e-mail channel is the ``[[channels]]`` entry of kind ``email`` (``--channel NAME`` when
there are several); its SMTP and IMAP secrets come from the environment variables it names.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from tamizdat.cli._output import Output
from tamizdat.errors import ExitCode, TamizdatError, UserError

__all__ = ["register"]

_MAX_IMPORT = 50 * 1024 * 1024


def _action(ssub: Any, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = ssub.add_parser(
        name, help=help_text, description=help_text[:1].upper() + help_text[1:] + ".",
        epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    return parser


def register(sub: Any) -> None:
    """Add this group's commands to the top-level parser."""
    parser = sub.add_parser(
        "subscribers",
        help="the newsletter's subscribers (double opt-in, per language)",
        description="Manage newsletter subscribers, kept in SQLite beside the site "
        "(private/subscribers.sqlite by default, never published). 'add' and 'import' send "
        "each new address a confirmation code; only a confirmed address receives mail.",
        epilog="examples:\n  tamizdat subscribers add reader@example.org --lang ru\n"
        "  tamizdat subscribers confirm CODE\n  tamizdat subscribers import list.csv --lang en\n"
        "  tamizdat --json subscribers list --state confirmed",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--channel", metavar="NAME", help="the e-mail channel (if several)")
    ssub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = _action(ssub, "add", "start the double opt-in of an address",
                  "tamizdat subscribers add reader@example.org --lang ru")  # fmt: skip
    add.add_argument("address")
    add.add_argument("--lang", required=True)
    add.add_argument("--no-mail", action="store_true",
                     help="send nothing; print the code (to pass on another way)")  # fmt: skip
    confirm = _action(ssub, "confirm", "confirm with the code the reader received",
                      "tamizdat subscribers confirm CODE")  # fmt: skip
    confirm.add_argument("code")
    remove = _action(ssub, "remove", "forget an address (every language, or --lang)",
                     "tamizdat subscribers remove reader@example.org")  # fmt: skip
    remove.add_argument("address")
    remove.add_argument("--lang")
    listing = _action(ssub, "list", "list subscribers",
                      "tamizdat --json subscribers list --state confirmed")  # fmt: skip
    listing.add_argument("--lang")
    listing.add_argument("--state", choices=("pending", "confirmed", "bounced"))
    imp = _action(ssub, "import", "add many: CSV (address[,lang]), JSON or one per line",
                  "tamizdat subscribers import list.csv --lang en")  # fmt: skip
    imp.add_argument("file", type=Path)
    imp.add_argument("--lang", help="language of rows that name none")
    imp.add_argument("--confirmed", action="store_true",
                     help="they already opted in elsewhere: send no confirmation")  # fmt: skip
    imp.add_argument("--no-mail", action="store_true", help="send no confirmation now")
    exp = _action(ssub, "export", "write every subscriber as CSV or JSON",
                  "tamizdat subscribers export --format json -o subscribers.json")  # fmt: skip
    exp.add_argument("-o", "--output", type=Path, help="file (default: standard output)")
    exp.add_argument("--format", choices=("csv", "json"), default="csv")
    parser.set_defaults(handler=run_subscribers, needs_site=True)

    robot = sub.add_parser(
        "robot",
        help="answer readers' requests (mirrors, subscribe, …) by e-mail and Telegram",
        description="Serve every request inbox of the site: the e-mail channel's IMAP inbox "
        "(its imap_* options) and the private chat of each telegram channel with "
        "'answer_requests = true' in its [channels.options]. Each new request is answered "
        "once, in the reader's language: mirrors (through the distributor, rate-limited per "
        "reader, one limit for every inbox), verify, subscribe, confirm, unsubscribe. "
        "Auto-replies, bounces and bots are never answered. An inbox that fails (its server "
        "down) is reported on one line naming its channel and the others are still served; "
        "with --once the exit code is then non-zero. --loop stops after the current poll on "
        "SIGINT or SIGTERM.",
        epilog="examples:\n  tamizdat robot --once\n  tamizdat robot --loop --interval 120\n"
        "  tamizdat --json robot --once --channel tg-ru   # only that telegram bot\n\n"
        '[[channels]]\nname = "tg-ru"\nkind = "telegram"\n[channels.options]\n'
        'chat_id = "@example_news"\nanswer_requests = true   # the bot answers /mirrors …',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    robot.add_argument("--channel", metavar="NAME", action="append", default=[],
                       help="serve only this channel's inbox (e-mail or telegram; repeatable)")  # fmt: skip
    mode = robot.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="poll each inbox once (the default)")
    mode.add_argument("--loop", action="store_true", help="poll until SIGINT or SIGTERM")
    robot.add_argument("--interval", type=_interval, default=60.0, metavar="SECONDS",
                       help="pause between polls with --loop (default 60)")  # fmt: skip
    robot.set_defaults(handler=run_robot, needs_site=True)


_MAX_INTERVAL = 86_400.0


def _interval(text: str) -> float:
    """``--interval``: seconds, more than 0 and at most a day (0, a negative number or NaN
    would poll the servers without pause; infinity cannot be waited for)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, found {text!r:.40}") from None
    if not 0 < value <= _MAX_INTERVAL:  # NaN fails both comparisons
        raise argparse.ArgumentTypeError(
            f"expected more than 0 and at most {_MAX_INTERVAL:.0f} seconds, found {text!r:.40}"
        )
    return value


def _setup(args: argparse.Namespace, need_smtp: bool) -> tuple[Any, Any, Any]:
    """(config, mail settings or None, store). Without mail to send, no secret is needed,
    and a site without an e-mail channel still has its default store."""
    from tamizdat.channels.email.site import email_channel, email_channel_options, site_store
    from tamizdat.config import load_config
    from tamizdat.errors import ConfigError

    config = load_config(Path(args.site))
    if need_smtp:
        settings = email_channel(config, args.channel)
        return config, settings, site_store(config, email_channel_options(config, args.channel)[1])
    try:
        options: dict[str, Any] | None = email_channel_options(config, args.channel)[1]
    except ConfigError:
        if args.channel:
            raise
        options = None
    return config, None, site_store(config, options)


def run_subscribers(args: argparse.Namespace, out: Output) -> int:
    mails = (
        args.action in ("add", "import")
        and not args.no_mail
        and not getattr(args, "confirmed", False)
    )
    config, settings, store = _setup(args, need_smtp=mails)
    with store:
        if args.action == "add":
            invitation = store.add(args.address, args.lang, time.time(),
                                   smtputf8=bool(settings and settings.smtputf8))  # fmt: skip
            sent = _invite(config, settings, [invitation]) if mails else 0
            data = {**invitation.subscriber.to_json(), "confirmation_sent": bool(sent)}
            if args.no_mail and invitation.token:
                data["code"] = invitation.token
            out.result(data, lambda: out.say(_added(data)))
        elif args.action == "confirm":
            row = store.confirm(args.code, time.time())
            out.result(row.to_json(), lambda: out.say(f"confirmed {row.address} ({row.lang})"))
        elif args.action == "remove":
            count = store.remove(args.address, args.lang)
            if not count:
                raise UserError("not subscribed", where=args.address)
            out.result({"removed": count}, lambda: out.say(f"removed {args.address} ({count})"))
        elif args.action == "list":
            rows = [s.to_json() for s in store.subscribers(args.lang, args.state)]
            lines = "\n".join(f"{r['address']}  {r['lang']}  {r['state']}" for r in rows)
            out.result({"subscribers": rows}, lambda: out.say(lines or "no subscribers"))
        elif args.action == "import":
            invitations = store.import_rows(_read_rows(args.file, args.lang), time.time(),
                                            confirmed=args.confirmed)  # fmt: skip
            new = [i for i in invitations if i.token]
            sent = _invite(config, settings, new) if mails else 0
            data = {"rows": len(invitations), "new": len(new), "confirmations_sent": sent}
            out.result(data, lambda: out.say(
                f"imported {len(invitations)} rows, {len(new)} new, {sent} confirmations sent"))  # fmt: skip
        else:
            _export(store, args.output, args.format, out)
    return int(ExitCode.OK)


def _added(data: dict[str, Any]) -> str:
    text = f"{data['address']} ({data['lang']}): {data['state']}"
    if data.get("code"):
        return text + f"; code {data['code']}"
    return text + ("; confirmation sent" if data["confirmation_sent"] else "")


def _invite(config: Any, settings: Any, invitations: list[Any]) -> int:
    """Mail each invitation's code over one SMTP session; the number sent."""
    from datetime import UTC, datetime

    from tamizdat.channels.email.compose import compose_note, sign_message
    from tamizdat.channels.email.smtp import RecipientRefusedError, SmtpTransport
    from tamizdat.channels.email.words import words_for

    transport = SmtpTransport(settings.channel, settings.smtp)
    sent = 0
    try:
        for invitation in invitations:
            if invitation.token is None:
                continue
            row, t = invitation.subscriber, words_for(invitation.subscriber.lang)
            site = config.site.title
            message = compose_note(
                settings, row.address, t["confirm_subject"].format(site=site) + f" [{invitation.token}]",
                t["confirm_body"].format(site=site, token=invitation.token, robot=settings.robot),
                when=datetime.now(UTC),
            )  # fmt: skip
            try:
                transport.send(settings.robot, row.address, sign_message(message, settings.dkim))
            except RecipientRefusedError:
                continue
            sent += 1
    finally:
        transport.close()
    return sent


def _read_rows(file: Path, lang: str | None) -> list[tuple[str, str, str]]:
    """``(address, lang, FILE:LINE)`` rows of an import file.

    Raises:
        UserError: unreadable, too big, not UTF-8, malformed, or a row without a language.
    """
    try:
        if file.stat().st_size > _MAX_IMPORT:
            raise UserError(f"larger than {_MAX_IMPORT} bytes", where=str(file))
        text = file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror}", where=str(file)) from None
    except UnicodeDecodeError as exc:
        raise UserError(f"not UTF-8 (byte {exc.start})", where=str(file)) from None
    rows: list[tuple[str, str | None, str]] = []
    if file.suffix.lower() == ".json":
        try:
            items = json.loads(text)
        except ValueError as exc:
            raise UserError(f"not JSON: {exc}", where=str(file)) from None
        if not isinstance(items, list):
            raise UserError("expected a JSON list of addresses or objects", where=str(file))
        for n, item in enumerate(items):
            where = f"{file}: [{n}]"
            if isinstance(item, str):
                rows.append((item, None, where))
            elif isinstance(item, dict) and isinstance(item.get("address"), str):
                rows.append((item["address"], item.get("lang"), where))
            else:
                raise UserError('expected an address or {"address": …, "lang": …}', where=where)
    elif file.suffix.lower() == ".csv":
        for n, cells in enumerate(csv.reader(io.StringIO(text)), 1):
            if (
                not cells
                or not "".join(cells).strip()
                or (n == 1 and cells[0].strip().lower() == "address")
            ):
                continue
            if len(cells) > 2:
                raise UserError(
                    f"expected 'address[,lang]', found {len(cells)} columns", where=f"{file}:{n}"
                )
            rows.append((cells[0], cells[1].strip() if len(cells) == 2 else None, f"{file}:{n}"))
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip() and not line.lstrip().startswith("#"):
                rows.append((line, None, f"{file}:{n}"))
    checked = []
    for address, row_lang, where in rows:
        chosen = row_lang or lang
        if not isinstance(chosen, str) or not chosen:
            raise UserError("no language for this row: give --lang", where=where)
        checked.append((address, chosen, where))
    return checked


def _export(store: Any, output: Path | None, form: str, out: Output) -> None:
    from tamizdat.files import write_atomic

    rows = [s.to_json() for s in store.subscribers()]
    if form == "json":
        text = json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(
            buffer,
            ["address", "lang", "state", "created", "confirmed", "failure"],
            lineterminator="\n",
        )
        writer.writeheader()
        # A local part may begin with = + - @ (RFC 5322 atext): quoted so that a
        # spreadsheet opening the export never runs it as a formula.
        writer.writerows({k: _cell(v) for k, v in row.items()} for row in rows)
        text = buffer.getvalue()
    if output is None:
        out.say(text.rstrip("\n"))
        return
    write_atomic(output, text.encode(), mode=0o600)  # readers' addresses
    out.note(f"wrote {len(rows)} subscribers to {output}")


def _cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def run_robot(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.channels.inboxes import InboxReport, open_inboxes
    from tamizdat.config import load_config
    from tamizdat.publish.history import read_latest_entries

    config = load_config(Path(args.site))
    history = config.build.cache_dir / "mirrors-history.jsonl"

    def mirror_states() -> dict[str, str]:
        # Re-read on every request: a robot that loops follows the latest 'mirrors check'.
        return {name: entry.state for name, entry in read_latest_entries(history).items()}

    inboxes = open_inboxes(config, os.environ, mirror_states, args.channel)
    totals = {inbox.channel: InboxReport() for inbox in inboxes}
    errors: dict[str, TamizdatError] = {}
    polls = 0
    with _StopSignals(enabled=args.loop) as stop:
        try:
            while True:
                polls += 1
                for inbox in inboxes:
                    if stop.is_set():  # a signal: end after the poll under way
                        break
                    try:
                        report = inbox.poll()
                    except TamizdatError as exc:
                        errors[inbox.channel] = exc
                        line = _naming(inbox.channel, exc)
                        # --loop keeps serving the others: a warning; --once: an error.
                        print(f"{'warning' if args.loop else 'error'}: {line}", file=out.stderr)
                        continue
                    errors.pop(inbox.channel, None)  # each inbox's last poll decides
                    totals[inbox.channel].add(report)
                    if args.loop and (report.answered or report.refused or report.ignored):
                        out.note(f"{inbox.channel}: {_summary(report)}")
                if not args.loop or stop.wait(args.interval):
                    break
        finally:
            for inbox in inboxes:
                inbox.close()
    sources = [
        {
            "channel": inbox.channel,
            "kind": inbox.kind,
            **totals[inbox.channel].to_json(),
            "error": str(errors[inbox.channel]) if inbox.channel in errors else None,
        }
        for inbox in inboxes
    ]

    def human() -> None:
        for inbox in inboxes:
            done = totals[inbox.channel]
            # With --loop: its last poll failed; the earlier polls' answers are counted.
            text = "failed (see the error above)" if inbox.channel in errors else _summary(done)
            if inbox.channel in errors and (done.answered or done.refused or done.ignored):
                text = f"{_summary(done)}; last poll failed (see the warning above)"
            out.say(f"{inbox.channel} ({inbox.kind}): {text}")

    out.result({"sources": sources, "polls": polls}, human)
    if errors and not args.loop:
        return max(int(e.exit_code) for e in errors.values())
    return int(ExitCode.OK)


def _naming(channel: str, error: TamizdatError) -> str:
    """The error's line, naming the channel if its ``where`` does not already."""
    text = str(error)
    return text if f"channel {channel}" in text else f"channel {channel}: {text}"


def _summary(report: Any) -> str:
    if not (report.answered or report.refused or report.ignored):
        return "no new requests"
    commands = ", ".join(f"{n} {c.lstrip('/')}" for c, n in sorted(report.replies.items()))
    parts = [f"{report.answered} answered" + (f" ({commands})" if commands else "")]
    parts += [f"{n} {what}" for what, n in (("refused", report.refused),
                                            ("ignored", report.ignored)) if n]  # fmt: skip
    return ", ".join(parts)


class _StopSignals:
    """With ``enabled``: SIGINT and SIGTERM set the event (the loop ends after the current
    poll, answers and offsets saved); a second signal interrupts at once. The previous
    handlers come back on exit."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.event = threading.Event()
        self.previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.event.set()

    def __enter__(self) -> threading.Event:
        if self.enabled:
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.previous[signum] = signal.signal(signum, self._handle)
        return self.event

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
