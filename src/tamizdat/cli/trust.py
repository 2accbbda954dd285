"""Commands of the trust stage: keys, sign, timestamp, history. No logic lives here."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tamizdat.cli._output import Output
from tamizdat.config import Config, load_config
from tamizdat.errors import UserError
from tamizdat.trust.sign.keystore import DEMO_ENV, DEMO_LABEL

if TYPE_CHECKING:
    from tamizdat.trust.sign.signing import SignReport

__all__ = ["register"]

_RAW = argparse.RawDescriptionHelpFormatter
_DEMO_WARNING = (
    f"DEMO KEYS: the private keys are NOT encrypted ({DEMO_LABEL} in their file names). "
    "Anyone who copies them can publish as you. Use them only to try tamizdat out."
)


def _demo_allowed(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "demo", False)) or os.environ.get(DEMO_ENV) == "1"


def _keys_init(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.fingerprint import format_fingerprint
    from tamizdat.trust.sign.keys import init_keys

    report = init_keys(
        load_config(args.site), demo=args.demo, holders=args.holders, threshold=args.threshold
    )
    if report.demo:
        out.warn(_DEMO_WARNING)
    data = {
        "directory": str(report.directory),
        "keys": [{"role": r, "keyid": k} for r, k in report.created],
        "demo": report.demo,
        "fingerprint": report.fingerprint,
        "holder_files": [str(p) for p in report.holder_files],
    }

    def human() -> None:
        out.say(f"created {len(report.created)} keys in {report.directory}")
        for role, keyid in report.created:
            out.say(f"  {role:<20} {keyid[:16]}")
        out.say(f"fingerprint: {format_fingerprint(report.fingerprint or '')}")
        if report.holder_files:
            out.say("")
            out.say(f"hand out the {len(report.holder_files)} root keys, one per person:")
            for index, path in enumerate(report.holder_files, 1):
                out.say(f"  holder {index}: {path}")
            out.say(
                "  copy each file to its holder's own USB stick (the passphrase is theirs "
                "alone; never send it with the file), then delete the holders folder here: "
                "this computer keeps only the public halves."
            )
            out.say(
                "  a root change is then signed holder by holder: 'tamizdat keys sign-root "
                "FILE --key THEIR-KEY-FILE' on the holder's own computer."
            )
        out.say("back the key folder up offline; never put it in the site or on a mirror")

    out.result(data, human)
    return 0


def _keys_add_desk(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.trust.sign.keys import add_desk

    config = load_config(args.site)
    report = add_desk(config, args.name, demo=True if args.demo else None)
    role, keyid = report.created[0]
    if report.demo:
        out.warn(_DEMO_WARNING)
    if args.name not in config.site.desk_names:
        out.warn(f"add [desks.{args.name}] to tamizdat.toml so the next sign delegates to it")
    out.result(
        {"role": role, "keyid": keyid, "demo": report.demo},
        lambda: out.say(
            f"created {role} key {keyid[:16]}; the next 'tamizdat sign' delegates to it"
        ),
    )
    return 0


def _keys_list(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.trust.sign.keys import TOP_ROLES, open_store

    config = load_config(args.site)
    store = open_store(config)
    roles = [*TOP_ROLES, *(f"desk-{d}" for d in config.site.desk_names)]
    rows = [
        {
            "role": role,
            "keyid": k.keyid,
            "demo": k.demo,
            "private": k.private_path.exists(),
            "pending": state == "pending",
        }
        for role in roles
        for state, keys in (("active", store.active_keys(role)),
                            ("pending", store.keys_in_state(role, "pending")))
        for k in keys
    ]  # fmt: skip

    def human() -> None:
        for row in rows:
            flags = " demo" if row["demo"] else ""
            flags += "" if row["private"] else " (public only)"
            flags += (
                " pending: waits for its root change (keys apply-root)" if row["pending"] else ""
            )
            out.say(f"{row['role']:<20} {row['keyid']}{flags}")

    out.result({"directory": str(store.directory), "keys": rows}, human)
    return 0


def _keys_fingerprint(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.errors import KeyStoreError
    from tamizdat.fingerprint import (
        fingerprint_qr_svg,
        fingerprint_qr_terminal,
        format_fingerprint,
    )
    from tamizdat.trust.sign.keys import read_fingerprint
    from tamizdat.trust.sign.keystore import atomic_write

    config = load_config(args.site)
    fingerprint = read_fingerprint(config)
    if fingerprint is None:
        raise KeyStoreError(
            "no root yet", where=str(config.signing.keys_dir), hint="run 'tamizdat keys init'"
        )
    if args.svg:
        atomic_write(Path(args.svg), fingerprint_qr_svg(fingerprint, config.site.title))

    def human() -> None:
        out.say(f"root fingerprint of {config.site.title}:")
        out.say(f"  {format_fingerprint(fingerprint)}")
        if not args.no_qr:
            out.say(fingerprint_qr_terminal(fingerprint))
        if args.svg:
            out.say(f"QR code written to {args.svg}")

    out.result(
        {"fingerprint": fingerprint, "grouped": format_fingerprint(fingerprint), "svg": args.svg},
        human,
    )
    return 0


def _keys_rotate(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.trust.sign.rotate import rotate_key

    change = rotate_key(load_config(args.site), args.role, demo=True if args.demo else None)
    return _key_change(out, change)


def _keys_revoke(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.trust.sign.rotate import revoke_key

    return _key_change(out, revoke_key(load_config(args.site), args.keyid))


def _key_change(out: Output, change: Any) -> int:
    data = {
        "role": change.role,
        "added": list(change.added),
        "removed": list(change.removed),
        "root_version": change.root_version,
        "note": change.note,
        "root_change_file": str(change.proposal) if change.proposal else None,
        "change_id": change.change_id,
    }

    def human() -> None:
        for keyid in change.added:
            out.say(f"{change.role}: new key {keyid[:16]}")
        for keyid in change.removed:
            out.say(f"{change.role}: key {keyid[:16]} no longer trusted")
        out.say(change.note)

    out.result(data, human)
    return 0


def _holder_env(args: argparse.Namespace, key: Path) -> str:
    """The variable a holder's passphrase may come from: --passphrase-env, else
    TAMIZDAT_PASSPHRASE_HOLDER_K for a file named root-holder-K.…"""
    import re

    from tamizdat.trust.sign.keystore import holder_env

    if args.passphrase_env:
        return str(args.passphrase_env)
    match = re.match(r"root-holder-([0-9]{1,3})\.", key.name)
    return holder_env("TAMIZDAT_PASSPHRASE", int(match.group(1)) if match else 0)


def _keys_sign_root(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.trust.sign.ceremony import describe_change, read_root_change, sign_root_change
    from tamizdat.trust.sign.keystore import KeyStore

    path, key = Path(args.file), Path(args.key)
    for line in describe_change(read_root_change(path)):
        out.note(line)
    store = KeyStore(key.parent)  # only opens the holder's file; writes nothing there
    count = sign_root_change(path, key, store, env=_holder_env(args, key))
    out.result(
        {"file": str(path), "complete": count.complete, "signatures": str(count)},
        lambda: out.say(
            f"signed {path}: {count}"
            + ("; ready for 'tamizdat keys apply-root'" if count.complete else "; pass it on")
        ),
    )
    return 0


def _keys_apply_root(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.trust.sign.ceremony import apply_root_change
    from tamizdat.trust.sign.keys import open_store

    store = open_store(load_config(args.site))
    version, count = apply_root_change(store, [Path(f) for f in args.files])
    out.result(
        {"root_version": version, "signatures": str(count)},
        lambda: out.say(f"root {version} accepted ({count}); run 'tamizdat sign' to publish it"),
    )
    return 0


def _keys_rekey(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.trust.sign.keys import open_store
    from tamizdat.trust.sign.keystore import KeyStore

    files: list[tuple[Path, str | None]]
    if args.key:
        key = Path(args.key)
        store = KeyStore(key.parent)
        files = [(key, _holder_env(args, key))]
    else:
        from tamizdat.config import find_site

        site = Path(args.site) if args.site != "." else find_site(Path.cwd())
        store = open_store(load_config(site))
        names = sorted(store.directory.glob("*.key")) + sorted(store.directory.glob("*.key.*"))
        files = [(p, None) for p in names if DEMO_LABEL not in p.name]
    done = [str(path) for path, env in files if store.rekey_file(path, env=env)]
    out.result(
        {"rekeyed": done},
        lambda: out.say(
            f"re-encrypted {len(done)} key file(s) with scrypt at today's parameters"
            if done
            else "every key file already uses today's encryption"
        ),
    )
    return 0


def _extra_files(config: Config) -> dict[str, bytes]:
    """The signed mirror list, when the publish stage provides it."""
    try:
        from tamizdat.publish import mirrorlist
    except ImportError:
        return {}
    build = getattr(mirrorlist, "mirror_list_files", None)
    return dict(build(config)) if callable(build) else {}


def _sign(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.trust.sign.signing import sign_release

    if args.strict:
        # Fail closed: a pipeline that relied on 'sign --strict' must not go on signing
        # silent corrections unnoticed now that sign reads only public/.
        raise UserError(
            "'tamizdat sign --strict' no longer exists: the build checks corrections now",
            where="--strict",
            hint="run 'tamizdat build --strict-corrections' (or set [build] corrections = "
            '"fail") and sign without --strict',
        )
    config = load_config(args.site)
    report = sign_release(
        config,
        public_dir=config.build.output_dir,
        release_dir=config.signing.release_dir,
        extra_files=_extra_files(config),
        progress=out.progress,
        allow_demo=_demo_allowed(args),
    )
    data = {
        "release_dir": str(report.release_dir),
        "version": report.version,
        "files": report.files,
        "hashed": report.hashed,
        "added": list(report.added),
        "changed": list(report.changed),
        "removed": list(report.removed),
        "unchanged": report.unchanged,
        "log_files": report.log_files,
        "roles_signed": list(report.roles_signed),
        "roles_total": report.roles_total,
        "metadata_bytes": report.metadata_bytes,
        "new_metadata_bytes": report.new_metadata_bytes,
        "fingerprint": report.fingerprint,
    }

    def human() -> None:
        out.say(
            f"signed release {report.version}: {_counted(report)}, "
            f"{len(report.roles_signed)} of {report.roles_total} roles re-signed, "
            f"{report.new_metadata_bytes / 1024:.1f} KiB new metadata → {report.release_dir}"
        )

    out.result(data, human)
    return 0


def _counted(report: SignReport) -> str:
    """The files of a release as parts that add up to its total (removed ones are gone)."""
    parts = [
        f"{len(report.added)} added",
        f"{len(report.changed)} changed",
        f"{report.unchanged} unchanged",
        f"{report.log_files} of the publication log",
    ]
    return f"{report.files} files ({', '.join(parts)}; {len(report.removed)} removed)"


def _timestamp(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.trust.sign.rotate import resign_timestamp

    version = resign_timestamp(load_config(args.site), allow_demo=_demo_allowed(args))
    out.result({"timestamp_version": version}, lambda: out.say(f"timestamp {version} signed"))
    return 0


def _history(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.trust.sign.history import read_history

    config = load_config(args.site)
    events = read_history(config.signing.release_dir, args.path)
    rows: list[dict[str, Any]] = [
        {
            "kind": e.kind,
            "version": e.version,
            "time": e.time,
            "sha256": e.sha256,
            "entry": e.entry_hash,
        }
        for e in events
    ]

    def human() -> None:
        if not rows:
            out.say(f"{args.path}: never published")
        for row in rows:
            out.say(
                f"{row['time']}  release {row['version']:<5} {row['kind']:<8} {row['sha256'][:16]}"
            )

    out.result({"path": args.path, "events": rows}, human)
    return 0


def _keys_help(parser: argparse.ArgumentParser) -> Any:
    def handler(args: argparse.Namespace, out: Output) -> int:
        parser.print_help(out.stdout)
        return 2

    return handler


def _register_ceremony(ksub: Any) -> None:
    sign_root = ksub.add_parser(
        "sign-root",
        help="add one root holder's signature to a root change file (offline)",
        description="Show what the root change does, then sign it with your root key file. "
        "Copies signed by different holders can be combined by 'keys apply-root'.",
        epilog="example (on holder 2's own computer):\n"
        "  tamizdat keys sign-root root-change-2.json --key /media/usb/root-holder-2.3f2a….key\n"
        "the passphrase is asked for, or read from TAMIZDAT_PASSPHRASE_HOLDER_2",
        formatter_class=_RAW,
    )
    sign_root.add_argument("file", help="the root change file (written by keys rotate/revoke)")
    sign_root.add_argument("--key", required=True, metavar="KEYFILE", help="your root key file")
    sign_root.add_argument("--passphrase-env", metavar="VAR", help="read the passphrase from VAR")
    sign_root.set_defaults(handler=_keys_sign_root, needs_site=False)

    apply_root = ksub.add_parser(
        "apply-root",
        help="combine signed root change files and make the new root current",
        epilog="example:\n  tamizdat keys apply-root from-holder-1.json from-holder-3.json\n"
        "python-tuf checks the new root carries a threshold of old and new root keys",
        formatter_class=_RAW,
    )
    apply_root.add_argument("files", nargs="+", metavar="FILE", help="signed copies of one change")
    apply_root.set_defaults(handler=_keys_apply_root, needs_site=True)

    rekey = ksub.add_parser(
        "rekey",
        help="re-encrypt old or weak key files with scrypt at today's parameters",
        epilog="examples:\n  tamizdat keys rekey                       # every key in the store\n"
        "  tamizdat keys rekey --key /media/usb/root-holder-2.3f2a….key",
        formatter_class=_RAW,
    )
    rekey.add_argument("--key", metavar="KEYFILE", help="one key file (a holder's) instead")
    rekey.add_argument("--passphrase-env", metavar="VAR", help="read the passphrase from VAR")
    rekey.set_defaults(handler=_keys_rekey, needs_site=False)


def register(sub: Any) -> None:
    """Add ``keys …``, ``sign``, ``timestamp`` and ``history`` to the top-level parser."""
    keys = sub.add_parser(
        "keys",
        help="create, list, rotate and revoke signing keys; print the fingerprint",
        epilog="example:\n  tamizdat keys init --holders 3 --threshold 2",
        formatter_class=_RAW,
    )
    keys.set_defaults(handler=_keys_help(keys))
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION")

    init = ksub.add_parser(
        "init",
        help="create root, targets, snapshot, timestamp and desk keys, and the first root",
        epilog="example:\n  TAMIZDAT_PASSPHRASE=... tamizdat keys init --holders 3 --threshold 2\n"
        "  tamizdat keys init --demo      # unencrypted keys, for trying things out only",
        formatter_class=_RAW,
    )
    init.add_argument(
        "--demo", action="store_true", help="unencrypted demo keys (never for real use)"
    )
    init.add_argument("--holders", type=int, help="number of root keys (default: config)")
    init.add_argument("--threshold", type=int, help="root signatures required (default: config)")
    init.set_defaults(handler=_keys_init, needs_site=True)

    desk = ksub.add_parser(
        "add-desk",
        help="create a desk's signing key (delegated at the next sign)",
        epilog="example:\n  tamizdat keys add-desk culture",
        formatter_class=_RAW,
    )
    desk.add_argument("name", help="desk name, as in [desks.NAME]")
    desk.add_argument("--demo", action="store_true", help="unencrypted demo key")
    desk.set_defaults(handler=_keys_add_desk, needs_site=True)

    listing = ksub.add_parser(
        "list",
        help="list the active keys of every role",
        epilog="example:\n  tamizdat keys list --json",
        formatter_class=_RAW,
    )
    listing.set_defaults(handler=_keys_list, needs_site=True)

    fp = ksub.add_parser(
        "fingerprint",
        help="print the root fingerprint readers pin (groups of four and a QR code)",
        epilog="example:\n  tamizdat keys fingerprint --svg fingerprint.svg",
        formatter_class=_RAW,
    )
    fp.add_argument("--svg", metavar="FILE", help="also write the QR code as SVG")
    fp.add_argument("--no-qr", action="store_true", help="do not draw the QR code in the terminal")
    fp.set_defaults(handler=_keys_fingerprint, needs_site=True)

    rotate = ksub.add_parser(
        "rotate",
        help="replace a role's keys (root: new root signed by old and new keys)",
        epilog="example:\n  tamizdat keys rotate timestamp\n  tamizdat keys rotate desk-culture",
        formatter_class=_RAW,
    )
    rotate.add_argument("role", help="root, targets, snapshot, timestamp or desk-NAME")
    rotate.add_argument("--demo", action="store_true", help="make the new key a demo key")
    rotate.set_defaults(handler=_keys_rotate, needs_site=True)

    revoke = ksub.add_parser(
        "revoke",
        help="stop trusting one key (at least 8 digits of its id)",
        epilog="example:\n  tamizdat keys revoke 3f2a9c1d",
        formatter_class=_RAW,
    )
    revoke.add_argument("keyid", help="the key id or a unique prefix (8+ digits)")
    revoke.set_defaults(handler=_keys_revoke, needs_site=True)
    _register_ceremony(ksub)

    sign = sub.add_parser(
        "sign",
        help="sign public/ into release/ (TUF metadata, by-hash copies, publication log)",
        description="Sign public/ as the build left it; sign reads nothing else of the site "
        "(silent article corrections are checked by 'tamizdat build').",
        epilog="example:\n  tamizdat build --strict-corrections && TAMIZDAT_PASSPHRASE=... "
        "tamizdat sign",
        formatter_class=_RAW,
    )
    # Kept only to refuse it with a pointer to the build (see _sign).
    sign.add_argument("--strict", action="store_true", help=argparse.SUPPRESS)
    sign.add_argument("--demo", action="store_true", help=f"allow demo keys (or {DEMO_ENV}=1)")
    sign.set_defaults(handler=_sign, needs_site=True)

    stamp = sub.add_parser(
        "timestamp",
        help="re-sign only timestamp.json (run it from cron to keep mirrors fresh)",
        epilog="example (hourly cron):\n  0 * * * *  cd /srv/site && tamizdat timestamp && tamizdat publish",
        formatter_class=_RAW,
    )
    stamp.add_argument("--demo", action="store_true", help=f"allow demo keys (or {DEMO_ENV}=1)")
    stamp.set_defaults(handler=_timestamp, needs_site=True)

    history = sub.add_parser(
        "history",
        help="every release in which a page was added, changed or removed",
        epilog="example:\n  tamizdat history en/news/2026/03/some-story/",
        formatter_class=_RAW,
    )
    history.add_argument("path", help="natural path of the page (a trailing / means index.html)")
    history.set_defaults(handler=_history, needs_site=True)
