"""``tamizdat publish`` and ``tamizdat mirrors add|retire|list|check|give``."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tamizdat.cli._output import Output
from tamizdat.errors import ExitCode, UserError
from tamizdat.files import write_atomic

if TYPE_CHECKING:
    from tamizdat.channels.distributor import BlockingSummary
    from tamizdat.config import Config
    from tamizdat.publish.check import CheckReport

_PUBLISH_EPILOG = """\
examples:
  tamizdat publish                       # every enabled mirror in tamizdat.toml
  tamizdat publish --mirror s3-eu --mirror vps2 --dry-run
  tamizdat publish --json > publish-report.json

Objects go up in a safe order (by-hash copies, pages, metadata, timestamp.json last), so a
reader never sees half a release. Credentials come from the environment (AWS_* variables or
profiles, the SSH agent or TAMIZDAT_SSH_KEY_FILE), never from tamizdat.toml.
exit codes: 0 every mirror done, 2 a mirror refused us (credentials, permissions), 7 a
mirror could not be reached (the report names each)
"""

_MIRRORS_EPILOG = """\
examples:
  tamizdat mirrors add s3-eu s3://news-bucket/site --public-url https://news.example-cdn.net/ \\
      --tag telegram --option endpoint_url=https://s3.eu.example.net
  tamizdat mirrors retire s3-eu
  tamizdat mirrors list --json
  tamizdat mirrors check --html status.html
  tamizdat mirrors give --channel email --requester alice@example.org
  tamizdat mirrors headers --server nginx vps2 > /etc/nginx/snippets/tamizdat.conf
"""


def register(sub: Any) -> None:
    """Add ``publish`` and ``mirrors …`` to the top-level parser."""
    _register_publish(sub)
    mirrors = sub.add_parser(
        "mirrors",
        help="add, retire, list and health-check mirrors",
        epilog=_MIRRORS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    msub = mirrors.add_subparsers(dest="mirrors_command", metavar="ACTION")
    _register_add(msub)
    _register_retire(msub)
    _register_list(msub)
    _register_check(msub)
    _register_give(msub)
    _register_headers(msub)


def _register_publish(sub: Any) -> None:
    parser = sub.add_parser(
        "publish",
        help="push the signed release to every mirror, concurrently and atomically",
        description="Push release/ to the selected mirrors: only what changed moves, "
        "timestamp.json goes last, unreferenced objects are pruned after a grace period.",
        epilog=_PUBLISH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--mirror", action="append", default=[], metavar="NAME", help="only this mirror (repeat)"
    )
    parser.add_argument("--dry-run", action="store_true", help="list what would move; move nothing")
    parser.add_argument(
        "--keep-releases", type=int, default=3, metavar="K", help="keep objects of the last K"
    )
    parser.add_argument(
        "--grace-days", type=float, default=7.0, metavar="D", help="and for at least D days"
    )
    parser.add_argument(
        "--workers", type=int, default=4, metavar="N", help="parallel uploads per mirror"
    )
    parser.add_argument("--release", metavar="DIR", help="release folder (default: release_dir)")
    parser.add_argument(
        "--one-process",
        action="store_true",
        help="push every mirror from threads of this process (default: a process per mirror)",
    )
    parser.set_defaults(handler=run_publish, needs_site=True)


def run_publish(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.config import load_config, require_public_base_url
    from tamizdat.publish.push import publish_release, select_mirrors
    from tamizdat.publish.stores import open_store

    config = load_config(Path(args.site))
    require_public_base_url(config)
    mirrors = select_mirrors(config.mirrors, args.mirror)
    report = publish_release(
        Path(args.release) if args.release else config.signing.release_dir,
        mirrors,
        open_store=lambda m: open_store(m, base_dir=config.root),
        dry_run=args.dry_run,
        keep_releases=args.keep_releases,
        grace=timedelta(days=args.grace_days),
        progress=out.progress,
        max_workers_per_mirror=args.workers,
        state_dir=config.build.cache_dir / "publish",
        processes=not args.one_process,
    )

    def human() -> None:
        verb = "would upload" if report.dry_run else "uploaded"
        for m in report.mirrors:
            if not m.ok:
                out.say(f"{m.name}: FAILED: {m.error}")
                continue
            count = sum(c for c, _ in m.planned.values())
            size = sum(b for _, b in m.planned.values())
            extra = f", deleted {m.deleted}" if m.deleted else ""
            out.say(
                f"{m.name}: {verb} {count} objects, {size / 1e6:.2f} MB{extra} "
                f"in {m.seconds:.1f}s (release {report.version})"
            )
            if m.cors_state in ("set", "server-sends"):
                out.say(f"{m.name}: cross-origin reads: {m.cors_detail}")
        _say_cross_origin(report, out)

    out.result(report.to_json(), human)
    if not report.failed:
        return 0
    # A mirror we may not write to needs the user, not a retry: say so in the exit code.
    if any(m.exit_code == int(ExitCode.USER) for m in report.failed):
        return int(ExitCode.USER)
    return int(ExitCode.UNREACHABLE)


def _say_cross_origin(report: Any, out: Output) -> None:
    """Warn about mirrors browsers on other origins cannot read; name the web-server ones."""
    for m in report.mirrors:
        if m.cors_state == "unsupported":
            out.warn(f"{m.name}: {m.cors_detail}")
    served = [m.name for m in report.mirrors if m.cors_state == "web-server"]
    if served:
        out.note(
            f"note: {', '.join(served)}: the web server in front sends the cross-origin "
            "headers; 'tamizdat mirrors headers --server nginx|apache|caddy NAME' prints "
            "them and 'tamizdat mirrors check' tells whether they arrive"
        )


def _register_add(msub: Any) -> None:
    parser = msub.add_parser(
        "add",
        help="add a mirror to tamizdat.toml",
        epilog="example:\n  tamizdat mirrors add vps2 sftp://deploy@vps2.example.net/srv/www "
        "--public-url https://vps2.example.net/ --tag email",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", help="a short name (letters, digits, . _ -)")
    parser.add_argument("url", help="storage URL: file://, s3://bucket/prefix, sftp://, webdav://")
    parser.add_argument("--public-url", required=True, metavar="URL", help="what readers fetch")
    parser.add_argument(
        "--tag", action="append", default=[], metavar="TAG", help="channel tag (repeat)"
    )
    parser.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="store option"
    )
    parser.add_argument(
        "--unlisted", action="store_true",
        help="keep it out of the signed mirror lists (every mirror carries them, so a censor "
        "reading one learns them all); hand it out with 'tamizdat mirrors give' only",
    )  # fmt: skip
    parser.set_defaults(handler=run_add, needs_site=True)


def run_add(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.publish.admin import add_mirror

    options: dict[str, str] = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"expected KEY=VALUE, found {item!r}", where="--option")
        options[key.strip()] = value.strip()
    mirror = add_mirror(
        Path(args.site),
        args.name,
        args.url,
        public_url=args.public_url,
        tags=args.tag,
        options=options,
        listed=not args.unlisted,
    )
    out.result(
        {
            "added": mirror.name,
            "url": mirror.url,
            "public_url": mirror.public_url,
            "listed": mirror.listed,
        },
        lambda: out.say(f"added mirror {mirror.name} ({mirror.public_url})"),
    )
    return 0


def _register_retire(msub: Any) -> None:
    parser = msub.add_parser(
        "retire",
        help="retire a mirror: dropped from the mirror lists and from publishing",
        epilog="example:\n  tamizdat mirrors retire s3-eu",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", help="the mirror's name")
    parser.set_defaults(handler=run_retire, needs_site=True)


def run_retire(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.publish.admin import retire_mirror

    mirror = retire_mirror(Path(args.site), args.name)
    out.result(
        {"retired": mirror.name, "date": mirror.retired},
        lambda: out.say(f"retired mirror {mirror.name} on {mirror.retired}"),
    )
    return 0


def _register_list(msub: Any) -> None:
    parser = msub.add_parser(
        "list",
        help="list the configured mirrors",
        epilog="example:\n  tamizdat mirrors list --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=run_list, needs_site=True)


def run_list(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.config import load_config
    from tamizdat.publish.mirrorlist import mirror_type

    config = load_config(Path(args.site))
    rows: list[dict[str, Any]] = [
        {
            "name": m.name,
            "type": mirror_type(m),
            "url": m.url,
            "public_url": m.public_url,
            "tags": list(m.tags),
            "enabled": m.enabled,
            "retired": m.retired,
            "created": m.created,
            "listed": m.listed,
        }
        for m in config.mirrors
    ]

    def human() -> None:
        for row in rows:
            status = (
                f"retired {row['retired']}"
                if row["retired"]
                else ("enabled" if row["enabled"] else "disabled")
            )
            if not row["listed"]:
                status += ", unlisted"
            tags = ",".join(row["tags"]) or "-"
            out.say(
                f"{row['name']:<16} {row['type']:<6} {status:<18} {tags:<16} {row['public_url']}"
            )

    out.result({"mirrors": rows}, human)
    return 0


def _register_check(msub: Any) -> None:
    parser = msub.add_parser(
        "check",
        help="verify what every mirror serves: current, lagging, stale, tampered, unreachable",
        epilog="examples:\n  tamizdat mirrors check\n  tamizdat mirrors check --json "
        "--html status.html --sample 50\n\nexit code: that of the worst state (0 all current, "
        "3 lagging or stale, 7 unreachable, 6 not this publisher, 5 tampered)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--fingerprint", metavar="FP", help="pinned root fingerprint (default: the local root)"
    )
    parser.add_argument("--sample", type=int, default=20, metavar="N", help="files per mirror")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S", help="per request")
    parser.add_argument("--ca-file", metavar="FILE", help="CA certificates for https mirrors")
    parser.add_argument("--html", metavar="FILE", help="also write a status page")
    parser.add_argument("--history", metavar="FILE", help="history file (default: cache dir)")
    parser.set_defaults(handler=run_check, needs_site=True)


def run_check(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.config import load_config
    from tamizdat.fingerprint import root_fingerprint
    from tamizdat.layout import metadata_path
    from tamizdat.publish.check import check_mirrors
    from tamizdat.publish.status_html import render_status_html

    config = load_config(Path(args.site))
    release_dir = config.signing.release_dir
    fingerprint = args.fingerprint
    if not fingerprint:
        first_root = release_dir / metadata_path("root", 1)
        if not first_root.is_file():
            raise UserError(
                "no local root to pin", where=str(first_root), hint="pass --fingerprint FP"
            )
        fingerprint = root_fingerprint(first_root.read_bytes())
    report = check_mirrors(
        config.mirrors,
        fingerprint=fingerprint,
        local_release_dir=release_dir,
        sample_size=args.sample,
        timeout=args.timeout,
        ca_file=args.ca_file,
        history_file=Path(args.history)
        if args.history
        else config.build.cache_dir / "mirrors-history.jsonl",
        progress=out.progress,
    )
    if args.html:
        page = render_status_html(report, config.site.default_language)
        write_atomic(Path(args.html), page.encode("utf-8"))
    blocking = _summarize_blocking(config, fingerprint, report, out)
    data = report.to_json()
    data["distribution"] = blocking.to_json() if blocking else None

    def human() -> None:
        for m in report.mirrors:
            lag = f" by {m.lagging_by}" if m.lagging_by else ""
            note = f": {m.problem}" if m.problem else ""
            where = f" ({m.where})" if m.where and m.state != "current" else ""
            since = f", failing since {m.failing_since:%Y-%m-%d %H:%M}" if m.failing_since else ""
            out.say(
                f"{m.name:<16} {m.state}{lag} release {m.version} {m.latency_ms} ms"
                f"{note}{where}{since}"
            )
        for m in report.mirrors:
            for warning in m.warnings:
                out.warn(f"{m.name}: {warning}")
        if blocking:
            for m in report.mirrors:
                if m.time_to_block_seconds is not None:
                    extra = sorted(blocking.fallback_buckets.get(m.name, ()))
                    also = f" (also given by fallback to {', '.join(extra)})" if extra else ""
                    out.say(
                        f"{m.name}: blocked, leaked by bucket "
                        f"{blocking.mirror_buckets[m.name]}{also}"
                    )
            for label, table in (
                ("bucket", blocking.per_bucket),
                ("channel", blocking.per_channel),
            ):
                for name, (count, median) in sorted(table.items()):
                    out.say(
                        f"{label} {name}: {count} blocked, median time-to-block "
                        f"{median / 86400:.1f} days"
                    )

    out.result(data, human)
    return int(report.exit_code)


def _summarize_blocking(
    config: Config, fingerprint: str, report: CheckReport, out: Output
) -> BlockingSummary | None:
    """Which bucket leaked each blocked mirror, or None without a distribution key (then no
    mirror was handed out by the distributor, and there is nothing to attribute)."""
    from tamizdat.channels.distributor import Distributor, summarize_blocking
    from tamizdat.channels.requests import SqliteRequestStore, load_distribution_key
    from tamizdat.errors import KeyStoreError

    try:
        key = load_distribution_key(config.signing.keys_dir)
    except KeyStoreError:
        return None
    blocked = {
        m.name: m.time_to_block_seconds
        for m in report.mirrors
        if m.time_to_block_seconds is not None
    }
    store = SqliteRequestStore(config.build.cache_dir / _REQUEST_STORE)
    try:
        fallbacks = store.fallback_buckets()
    except UserError as exc:  # the health report matters more than the leak paths
        out.warn(f"{exc}; fallback leak paths not reported")
        fallbacks = {}
    names = [m.name for m in report.mirrors]
    distributor = Distributor(key, fingerprint, config.distribution)
    return summarize_blocking(distributor, names, blocked, fallbacks)


# Beside the site, in the cache folder: never in public/ or release/.
_REQUEST_STORE = "distribution-requests.sqlite"


def _register_give(msub: Any) -> None:
    parser = msub.add_parser(
        "give",
        help="answer one requester with a few working mirrors (harvest-resistant)",
        description="Pick the requester's small, stable subset of the mirrors the last "
        "'mirrors check' saw working: the same answer all period (24 h), at most 3 answers "
        "per requester per day. The secret key is read from $TAMIZDAT_DISTRIBUTION_KEY_FILE "
        "or KEYS_DIR/distribution.key.",
        epilog="examples:\n  tamizdat mirrors give --channel email --requester alice@example.org\n"
        "  tamizdat --json mirrors give --channel telegram --requester 123456789\n\n"
        "exit codes: 0 answered, 2 rate-limited, bad requester, no key or no working mirror",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--channel", required=True, help="email or telegram")
    parser.add_argument(
        "--requester", required=True, help="e-mail address or numeric Telegram user id"
    )
    parser.add_argument("--history", metavar="FILE", help="history file (default: cache dir)")
    parser.set_defaults(handler=run_give, needs_site=True)


def run_give(args: argparse.Namespace, out: Output) -> int:
    from datetime import UTC, datetime

    from tamizdat.channels.distributor import Distributor, unlisted_working, working_mirrors
    from tamizdat.channels.requests import SqliteRequestStore, give_answer, load_distribution_key
    from tamizdat.config import load_config
    from tamizdat.fingerprint import root_fingerprint
    from tamizdat.layout import MIRRORS_JSON, metadata_path
    from tamizdat.publish.history import read_latest_entries

    config = load_config(Path(args.site))
    release_dir = config.signing.release_dir
    first_root, listed = release_dir / metadata_path("root", 1), release_dir / MIRRORS_JSON
    for file in (first_root, listed):
        if not file.is_file():
            raise UserError("no signed release here", where=str(file), hint="run 'tamizdat sign'")
    history = (
        Path(args.history) if args.history else config.build.cache_dir / "mirrors-history.jsonl"
    )
    states = {name: e.state for name, e in read_latest_entries(history).items()}
    distributor = Distributor(
        load_distribution_key(config.signing.keys_dir),
        root_fingerprint(first_root.read_bytes()),
        config.distribution,
    )
    answer = give_answer(
        distributor,
        SqliteRequestStore(config.build.cache_dir / _REQUEST_STORE),
        requester=args.requester,
        channel=args.channel,
        now=datetime.now(UTC),
        working={
            **working_mirrors(listed.read_bytes(), states, str(listed)),
            **unlisted_working(config.mirrors, states),
        },
    )
    out.result(answer.to_json(), lambda: out.say(answer.text.rstrip("\n")))
    return 0


_HEADERS_EPILOG = """\
examples:
  tamizdat mirrors headers --server nginx vps2     # location block for vps2's public URL path
  tamizdat mirrors headers --server caddy          # for a mirror served at the site root
  tamizdat mirrors headers --server apache --prefix /news/

What it sets: Access-Control-Allow-Origin: * (the browser worker on another mirror's
address must be able to read this one), X-Content-Type-Options: nosniff, Cache-Control
(by-hash targets and versioned metadata immutable, timestamp.json never cached, pages 5
minutes), Content-Types, and no access to half-written uploads (.tamizdat-tmp-*).
S3 mirrors need none of it: 'tamizdat publish' sets the bucket's CORS rule.
"""


def _register_headers(msub: Any) -> None:
    from tamizdat.publish.server_headers import SERVERS

    parser = msub.add_parser(
        "headers",
        help="print the web server configuration a folder/SFTP/WebDAV mirror needs",
        description="Print the headers (CORS, nosniff, Cache-Control, Content-Type) for the "
        "web server that serves a mirror's folder.",
        epilog=_HEADERS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", nargs="?", metavar="MIRROR", help="take the path from its URL")
    parser.add_argument("--server", required=True, choices=SERVERS, help="the web server")
    parser.add_argument("--prefix", metavar="PATH", help="URL path the mirror is served under")
    parser.set_defaults(handler=run_headers, needs_site=False)


def run_headers(args: argparse.Namespace, out: Output) -> int:
    from urllib.parse import urlsplit

    from tamizdat.config import find_site, load_config, suggest
    from tamizdat.publish.server_headers import render_server_headers

    prefix, name = args.prefix or "/", None
    if args.name:
        site = Path(args.site) if args.site != "." else find_site(Path.cwd())
        mirrors = {m.name: m for m in load_config(site).mirrors}
        if args.name not in mirrors:
            raise UserError(
                f"no mirror named {args.name!r}", where="MIRROR", hint=suggest(args.name, mirrors)
            )
        name = args.name
        if args.prefix is None:
            prefix = urlsplit(mirrors[name].public_url).path or "/"
    text = render_server_headers(args.server, prefix, name)
    out.result(
        {"server": args.server, "prefix": prefix, "mirror": name, "config": text},
        lambda: out.say(text.rstrip("\n")),
    )
    return 0
