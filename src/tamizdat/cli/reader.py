"""Commands of the reader stage: reader add/sync/serve/import/bundle/share/list/edit/remove."""

from __future__ import annotations

import argparse
import io
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tamizdat.cli._output import Output
from tamizdat.errors import ExitCode
from tamizdat.fingerprint import format_fingerprint

_RAW = argparse.RawDescriptionHelpFormatter
_EXIT = {
    "current": ExitCode.OK,
    "stale": ExitCode.STALE,
    "rollback": ExitCode.ROLLBACK,
    "tampered": ExitCode.TAMPERED,
    "not-this-publisher": ExitCode.NOT_THIS_PUBLISHER,
    "unreachable": ExitCode.UNREACHABLE,
}


def _store_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store-dir",
        metavar="DIR",
        help="where subscriptions live (default: $TAMIZDAT_READER_HOME or "
        "~/.local/share/tamizdat/reader)",
    )


def _allow_host(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME",
        help="also answer requests for NAME:PORT (e.g. a local DNS name; repeatable); "
        "other Host names are refused, which stops web pages rebinding their DNS to this server",
    )  # fmt: skip


def _add(sub: Any, name: str, help_text: str, example: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help_text, description=help_text, epilog=f"example:\n  {example}",
        formatter_class=_RAW,
    )  # fmt: skip
    return parser


def register(sub: Any) -> None:
    """Add this group's commands to the top-level parser."""
    reader = _add(sub, "reader", "read a publisher's site: subscribe, sync, serve, share",
                  "tamizdat reader sync mynews")  # fmt: skip
    rsub = reader.add_subparsers(dest="reader_command", metavar="COMMAND", required=True)

    add = _add(rsub, "add", "subscribe to a publisher (pin its root fingerprint)",
               "tamizdat reader add mynews --mirror https://m1.example/ --fingerprint 'ab12 …'")  # fmt: skip
    add.add_argument("name", metavar="NAME")
    add.add_argument(
        "--mirror", action="append", default=[], metavar="URL", help="a mirror URL (repeatable)"
    )
    add.add_argument("--fingerprint", metavar="FP", help="the publisher's root fingerprint")
    add.add_argument(
        "--from-bundle", metavar="FILE", type=Path, help="subscribe from a bundle file"
    )
    add.add_argument("--trust-on-first-use", action="store_true",
                     help="pin whatever root arrives first (risky; see the warning)")  # fmt: skip
    _store_dir(add)
    add.set_defaults(handler=cmd_add)

    sync = _add(rsub, "sync", "fetch the newest authentic release from the mirrors",
                "tamizdat --json reader sync mynews --deadline 60")  # fmt: skip
    sync.add_argument("name", metavar="NAME")
    sync.add_argument("--ca-file", metavar="FILE", help="CA bundle for HTTPS mirrors")
    sync.add_argument(
        "--timeout", type=float, default=10.0, metavar="S", help="per request (default 10)"
    )
    sync.add_argument(
        "--deadline", type=float, default=120.0, metavar="S", help="whole sync (default 120)"
    )
    _store_dir(sync)
    sync.set_defaults(handler=cmd_sync)

    serve = _add(rsub, "serve", "read the verified site offline on 127.0.0.1",
                 "tamizdat reader serve mynews --port 8088")  # fmt: skip
    serve.add_argument("name", metavar="NAME")
    serve.add_argument("--port", type=int, default=8088, metavar="P")
    _allow_host(serve)
    _store_dir(serve)
    serve.set_defaults(handler=cmd_serve)

    imp = _add(rsub, "import", "verify a bundle, then merge it into the store",
               "tamizdat reader import mynews news-2026-11-29.zip")  # fmt: skip
    imp.add_argument("name", metavar="NAME")
    imp.add_argument("file", metavar="FILE", type=Path)
    _store_dir(imp)
    imp.set_defaults(handler=cmd_import)

    rbundle = _add(rsub, "bundle", "re-export what the store holds, for the next person",
                   "tamizdat reader bundle mynews -o for-a-friend.zip")  # fmt: skip
    rbundle.add_argument("name", metavar="NAME")
    rbundle.add_argument("-o", "--output", required=True, type=Path, metavar="FILE")
    _store_dir(rbundle)
    rbundle.set_defaults(handler=cmd_reader_bundle)

    share = _add(rsub, "share", "serve the store as a mirror other readers can sync from",
                 "tamizdat reader share mynews --lan --port 8089")  # fmt: skip
    share.description = (
        "Serve the store as a mirror other tamizdat readers can sync from. By default only "
        "this device can reach it (127.0.0.1). With --lan, every device on the local network "
        "can: anyone there can copy this publisher's release and learn that this device "
        "holds it, i.e. that you read this publisher."
    )
    share.add_argument("name", metavar="NAME")
    share.add_argument("--lan", action="store_true",
                       help="share on the local network (all IPv4 interfaces, or --bind ADDR): "
                       "anyone on the network can copy the release and learn whom you read")  # fmt: skip
    share.add_argument("--bind", metavar="ADDR",
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 with --lan; "
                       "a non-loopback address needs --lan)")  # fmt: skip
    share.add_argument("--port", type=int, default=8089, metavar="P")
    _allow_host(share)
    _store_dir(share)
    share.set_defaults(handler=cmd_share)

    lst = _add(
        rsub, "list", "list subscriptions and the release each holds", "tamizdat reader list"
    )
    _store_dir(lst)
    lst.set_defaults(handler=cmd_list)

    edit = _add(rsub, "edit", "change a subscription's mirrors or pinned fingerprint",
                "tamizdat reader edit mynews --add-mirror https://m3.example/ "
                "--fingerprint 'ab12 …'")  # fmt: skip
    edit.add_argument("name", metavar="NAME")
    edit.add_argument("--mirror", action="append", metavar="URL",
                      help="the mirrors, replacing the list (repeatable)")  # fmt: skip
    edit.add_argument("--add-mirror", action="append", default=[], metavar="URL",
                      help="add a mirror (repeatable)")  # fmt: skip
    edit.add_argument("--remove-mirror", action="append", default=[], metavar="URL",
                      help="remove a mirror (repeatable)")  # fmt: skip
    edit.add_argument("--fingerprint", metavar="FP",
                      help="the publisher's fingerprint (to fix a mistyped one)")  # fmt: skip
    _store_dir(edit)
    edit.set_defaults(handler=cmd_edit)

    remove = _add(rsub, "remove", "unsubscribe and delete what the store holds",
                  "tamizdat reader remove mynews")  # fmt: skip
    remove.add_argument("name", metavar="NAME")
    _store_dir(remove)
    remove.set_defaults(handler=cmd_remove)


def _report_dict(report: Any) -> dict[str, Any]:
    data = asdict(report)
    data["notes"] = [asdict(n) for n in report.notes]
    return data


# What a skipped mirror did, in words a reader understands (the raw problem under -v).
_SKIPPED = {
    "tampered": "served a file that is not the publisher's",
    "lagging": "serves an older release than the others",
    "missing": "lacks files of this release",
    "error": "answered with an error",
}


def mirror_lines(notes: Any, verbose: bool) -> list[str]:
    """One line per mirror that was skipped: what it did, in plain words."""
    lines: list[str] = []
    seen: set[str] = set()
    for note in notes:
        if note.mirror in seen and not verbose:
            continue
        seen.add(note.mirror)
        words = note.problem if note.kind == "unreachable" else _SKIPPED.get(note.kind, note.kind)
        raw = f" [{note.kind}: {note.path}: {note.problem}]" if verbose else ""
        lines.append(f"  mirror {note.mirror} {words}{raw}")
    return lines


def _show_report(out: Output, report: Any, verbose: bool = False) -> int:
    def human() -> None:
        if report.outcome in ("current", "stale"):
            label = (
                "current"
                if report.outcome == "current"
                else (
                    f"authentic, published {report.published or 'on an unknown date'}, possibly outdated"
                )
            )
            out.say(f"{report.name}: release {report.version} — {label}")
            out.say(f"  fingerprint {format_fingerprint(report.fingerprint or '')}")
            out.say(f"  fetched {report.fetched_files} files, {report.fetched_bytes} bytes "
                    f"({report.new_objects} new objects)")  # fmt: skip
        elif report.outcome == "not-this-publisher":
            out.say(_not_this_publisher(report))
        else:
            held = f"; still holding release {report.version}" if report.version else ""
            out.say(f"{report.name}: {report.outcome}: {report.problem} ({report.where}){held}")
        for line in mirror_lines(report.notes, verbose):
            out.note(line)

    out.result(_report_dict(report), human)
    return int(_EXIT[report.outcome])


def _not_this_publisher(report: Any) -> str:
    """A copy signed by another root: with no release held yet, most likely a mistyped
    fingerprint; with one held, a mirror serving someone else's site. Never "tampered"."""
    detail = f"({report.problem})"
    if report.version is None:
        return (
            f"{report.name}: not this publisher — the mirrors serve a site signed by other keys "
            f"than the fingerprint you pinned. Check the fingerprint you typed against the "
            f"publisher's, then: tamizdat reader edit {report.name} --fingerprint FP {detail}"
        )
    return (
        f"{report.name}: not this publisher — a mirror serves a copy signed by someone else "
        f"(a clone or a hijacked mirror); refused, still holding release {report.version} "
        f"{detail}"
    )


def cmd_edit(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.errors import UserError
    from tamizdat.reader.client import edit_subscription
    from tamizdat.reader.store import Store

    if args.mirror is None and not (args.add_mirror or args.remove_mirror or args.fingerprint):
        raise UserError(
            "nothing to change",
            where="reader edit",
            hint="give --mirror, --add-mirror, --remove-mirror or --fingerprint",
        )
    store = Store.open(args.name, args.store_dir)
    sub = edit_subscription(
        store,
        mirrors=tuple(args.mirror) if args.mirror is not None else None,
        add_mirrors=tuple(args.add_mirror),
        remove_mirrors=tuple(args.remove_mirror),
        fingerprint=args.fingerprint,
    )

    def human() -> None:
        out.say(f"{sub.name}: {len(sub.mirrors)} mirror(s): {', '.join(sub.mirrors) or 'none'}")
        if sub.fingerprint:
            out.say(f"  fingerprint {format_fingerprint(sub.fingerprint)}")

    out.result(
        {"name": sub.name, "mirrors": list(sub.mirrors), "fingerprint": sub.fingerprint}, human
    )
    return int(ExitCode.OK)


def cmd_remove(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.reader.client import remove_subscription
    from tamizdat.reader.store import Store

    store = Store.open(args.name, args.store_dir)
    remove_subscription(store)
    out.result({"removed": args.name}, lambda: out.say(f"removed {args.name} and its store"))
    return int(ExitCode.OK)


def cmd_add(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.reader.client import TOFU_WARNING, add_from_bundle, add_subscription

    if args.trust_on_first_use and not args.fingerprint:
        out.warn(TOFU_WARNING)
    if args.from_bundle:
        _, report = add_from_bundle(
            args.name, args.from_bundle, fingerprint=args.fingerprint,
            trust_on_first_use=args.trust_on_first_use, store_dir=args.store_dir,
        )  # fmt: skip
        return _show_report(out, report)
    store = add_subscription(
        args.name, mirrors=tuple(args.mirror), fingerprint=args.fingerprint,
        trust_on_first_use=args.trust_on_first_use, store_dir=args.store_dir,
    )  # fmt: skip
    sub = store.subscription
    out.result(
        {"name": sub.name, "fingerprint": sub.fingerprint, "mirrors": list(sub.mirrors),
         "trust_on_first_use": sub.trust_on_first_use, "store": str(store.root)},
        lambda: out.say(f"subscribed to {sub.name}; now run: tamizdat reader sync {sub.name}"),
    )  # fmt: skip
    return int(ExitCode.OK)


def cmd_sync(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.reader.client import SyncOptions, sync_subscription
    from tamizdat.reader.store import Store

    options = SyncOptions(ca_file=args.ca_file, timeout=args.timeout, deadline=args.deadline)
    store = Store.open(args.name, args.store_dir)
    report = sync_subscription(store, options, progress=out.progress)
    return _show_report(out, report, verbose=getattr(args, "verbose", 0) > 0)


def cmd_import(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.reader.client import import_bundle
    from tamizdat.reader.store import Store

    return _show_report(out, import_bundle(Store.open(args.name, args.store_dir), args.file))


def cmd_reader_bundle(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.reader.client import export_bundle
    from tamizdat.reader.store import Store

    counts = export_bundle(Store.open(args.name, args.store_dir), args.output)
    out.result({**counts, "file": str(args.output)},
               lambda: out.say(f"wrote {args.output} ({counts['bytes']} bytes, release {counts['release']})"))  # fmt: skip
    return int(ExitCode.OK)


def _serve_forever(out: Output, server: Any, lines: list[str]) -> int:
    for line in lines:
        out.note(line)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        out.note("stopped")
    finally:
        server.server_close()
    return int(ExitCode.OK)


def cmd_serve(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.reader.serve import make_reading_server, server_url
    from tamizdat.reader.store import Store

    store = Store.open(args.name, args.store_dir)
    server = make_reading_server(store, args.port, names=args.allow_host)
    url = server_url(server)
    out.result({"url": url, "name": args.name}, lambda: out.say(f"reading {args.name} at {url}"))
    return _serve_forever(out, server, ["press Ctrl-C to stop"])


def lan_warning(name: str, fingerprint: str, url: str, version: int | None) -> str:
    """What ``reader share --lan`` exposes, said before it starts listening."""
    held = f"release {version}" if version else "no release yet"
    return (
        f"sharing {name} (publisher {format_fingerprint(fingerprint)}, {held}) with the local "
        f"network at {url}: every device that can reach this address (others on this Wi-Fi or "
        "LAN, its operator) can copy the whole release and learn that this device holds it, "
        "that is, that you read this publisher. Share only on a network you trust with that; "
        "Ctrl-C stops."
    )


def cmd_share(args: argparse.Namespace, out: Output) -> int:
    import segno

    from tamizdat.local_http import lan_addresses
    from tamizdat.reader.serve import make_share_server, server_url, share_address
    from tamizdat.reader.store import Store

    store = Store.open(args.name, args.store_dir)
    info = store.release
    host = share_address(lan=args.lan, bind=args.bind)
    server = make_share_server(store, host, args.port, names=args.allow_host)
    wildcard = host in ("0.0.0.0", "::")  # noqa: S104 - comparing, not binding
    public = (lan_addresses() or ("127.0.0.1",))[0] if wildcard else None
    url = server_url(server, public)
    fingerprint = info.fingerprint if info else store.subscription.fingerprint or ""
    exposure = lan_warning(args.name, fingerprint, url, info.version if info else None)
    if args.lan:
        out.warn(exposure)

    def human() -> None:
        if args.lan:
            qr = io.StringIO()
            segno.make(url, error="m").terminal(out=qr, compact=True)
            out.say(qr.getvalue())
            out.say(f"sharing {args.name} at {url}")
        else:
            out.say(f"sharing {args.name} at {url} (only this device can reach it; "
                    "--lan shares with the local network)")  # fmt: skip
        out.say(f"fingerprint {format_fingerprint(fingerprint)}")
        out.say(f"another reader runs: tamizdat reader add {args.name} --mirror {url} "
                f"--fingerprint {fingerprint}")  # fmt: skip

    out.result(
        {"url": url, "fingerprint": fingerprint, "name": args.name, "bind": host,
         "lan": args.lan, "exposure": exposure if args.lan else None},
        human,
    )  # fmt: skip
    return _serve_forever(out, server, ["press Ctrl-C to stop sharing"])


def cmd_list(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.reader.client import list_subscriptions

    rows: list[dict[str, Any]] = []
    for store in list_subscriptions(args.store_dir):
        info, sub = store.release, store.subscription
        rows.append({"name": sub.name, "fingerprint": sub.fingerprint, "mirrors": list(sub.all_mirrors),
                     "release": asdict(info) if info else None})  # fmt: skip

    def human() -> None:
        for row in rows:
            release = row["release"]
            held = f"release {release['version']}" if release else "no release yet"
            out.say(f"{row['name']}: {held}, {len(row['mirrors'])} mirrors")

    out.result({"subscriptions": rows}, human)
    return int(ExitCode.OK)
