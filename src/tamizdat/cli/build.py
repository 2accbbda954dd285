"""Commands of the build stage: ``init``, ``build``, ``serve``."""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
from pathlib import Path
from typing import Any

from tamizdat.cli._output import Output
from tamizdat.config import Config, load_config
from tamizdat.errors import TamizdatError, UserError
from tamizdat.render.build import BuildReport, build_site
from tamizdat.scaffold import init_site
from tamizdat.scaffold.hugo import IN_PLACE_OUTPUT, import_hugo

__all__ = ["register"]

_RAW = argparse.RawDescriptionHelpFormatter


def register(sub: Any) -> None:
    """Add this group's commands to the top-level parser."""
    init = sub.add_parser(
        "init",
        help="create a new site folder, or a tamizdat.toml for an existing Hugo site",
        description="Scaffold tamizdat.toml, content/, media/, data/authors.yaml and theme/.\n\n"
        "With --from-hugo HUGO_DIR, read the Hugo site's configuration (hugo.toml/.yaml/"
        ".json, config.*, config/_default/: title, baseURL, languages, params, taxonomies) "
        "and write a tamizdat.toml that builds its content/ and static/ as they are. "
        "Without DIR it is written into HUGO_DIR (the only file added; the build writes "
        f"{IN_PLACE_OUTPUT}/, not Hugo's public/); with DIR the content, static and data "
        "folders are copied there. Hugo settings that cannot be carried over are listed.",
        epilog="examples:\n"
        "  tamizdat init mysite --title 'Free Voice' --language ru --language en\n"
        "  tamizdat init --from-hugo ~/blog && tamizdat -C ~/blog build\n"
        "  tamizdat --json init --from-hugo ~/blog newsite",
        formatter_class=_RAW,
    )
    init.add_argument(
        "directory",
        metavar="DIR",
        nargs="?",
        help="the new site's folder (optional with --from-hugo)",
    )
    init.add_argument(
        "--from-hugo", metavar="HUGO_DIR", help="start from the Hugo site in HUGO_DIR"
    )
    init.add_argument("--title", help="the site's title (default: My newsroom)")
    init.add_argument(
        "--language",
        action="append",
        metavar="CODE",
        help="a language to publish in (repeat; the first is the default; default: en, ru)",
    )
    init.add_argument("--force", action="store_true", help="write into a non-empty folder")
    init.set_defaults(handler=_init)

    build = sub.add_parser(
        "build",
        help="build public/ from content/ (incremental, atomic)",
        description="Render the site into public/. Only changed pages are rendered and only "
        "changed files rewritten; a failed build leaves the previous public/ as it was.\n"
        "Every media file is typed by its bytes, not its name: images are re-encoded, audio/"
        "video (ffmpeg) and PDF (pikepdf) lose their metadata, text and fonts are copied, and "
        "anything else is refused unless listed under [media] publish_unstripped. The summary "
        "says what was removed per file (--json: metadata_removed, published_unstripped).\n"
        "An article whose own text changed while its 'updated' date did not move forward is "
        'a silent correction: a warning, or an error with [build] corrections = "fail" or '
        "--strict-corrections (public/ then stays as it was).",
        epilog="example:\n  tamizdat -C mysite build --workers 2\n  tamizdat --json build",
        formatter_class=_RAW,
    )
    build.add_argument("--drafts", action="store_true", help="include articles marked draft")
    build.add_argument("--workers", type=int, metavar="N", help="build processes (default: cores)")
    build.add_argument(
        "--strict-corrections",
        action="store_true",
        help='refuse silent article corrections (as [build] corrections = "fail")',
    )
    build.set_defaults(handler=_build, needs_site=True)

    serve = sub.add_parser(
        "serve",
        help="preview the site on 127.0.0.1, rebuilding on every change",
        description="Build, then serve public/ locally and rebuild when content/, static "
        "folders, theme/, data/ or tamizdat.toml change. Ctrl-C stops.",
        epilog="example:\n  tamizdat -C mysite serve --port 8080",
        formatter_class=_RAW,
    )
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000; 0: any)")
    serve.add_argument("--bind", default="127.0.0.1", help="address (default: 127.0.0.1)")
    serve.add_argument(
        "--allow-host", action="append", default=[], metavar="NAME",
        help="also answer requests for NAME:PORT (repeatable); other Host names are refused, "
        "which stops web pages rebinding their DNS to the preview",
    )  # fmt: skip
    serve.add_argument("--no-watch", action="store_true", help="serve without rebuilding")
    serve.add_argument("--drafts", action="store_true", help="include articles marked draft")
    serve.set_defaults(handler=_serve, needs_site=True)


def _init_from_hugo(args: argparse.Namespace, out: Output) -> int:
    for flag, value in (("--title", args.title), ("--language", args.language)):
        if value:
            raise UserError(
                f"{flag} cannot be combined with --from-hugo: it is read from the Hugo config",
                where=flag,
            )
    done = import_hugo(
        Path(args.from_hugo),
        Path(args.directory) if args.directory else None,
        force=args.force,
    )

    def human() -> None:
        how = "in place" if done.in_place else f"copied to {done.directory}"
        out.say(f"read {', '.join(done.config_files)} of {done.source} ({how}):")
        for name in done.files:
            out.say(f"  wrote {name}")
        for note in done.notes:
            out.say(f"  note: {note}")
        out.say(f"next: tamizdat -C {done.directory} build")

    out.result(
        {
            "directory": str(done.directory),
            "from_hugo": str(done.source),
            "in_place": done.in_place,
            "config_files": list(done.config_files),
            "files": list(done.files),
            "notes": list(done.notes),
        },
        human,
    )
    return 0


def _init(args: argparse.Namespace, out: Output) -> int:
    if args.from_hugo:
        return _init_from_hugo(args, out)
    if not args.directory:
        raise UserError("expected the new site's folder", where="DIR", hint="tamizdat init mysite")
    languages = tuple(args.language) if args.language else ("en", "ru")
    report = init_site(
        Path(args.directory),
        title=args.title or "My newsroom",
        languages=languages,
        force=args.force,
    )

    def human() -> None:
        out.say(f"created a site in {report.directory}:")
        for name in report.files:
            out.say(f"  {name}")
        out.say(f"next: tamizdat -C {args.directory} serve")

    out.result({"directory": str(report.directory), "files": list(report.files)}, human)
    return 0


def _fingerprint(config: Config) -> str | None:
    """The root fingerprint to print on pages, once signing keys exist; else ``None``."""
    if importlib.util.find_spec("tamizdat.trust.sign.keys") is None:
        return None  # no trust stage yet: pages show no fingerprint
    keys = importlib.import_module("tamizdat.trust.sign.keys")
    read = getattr(keys, "read_fingerprint", None)
    if read is None:
        return None
    fingerprint = read(config)
    return fingerprint if isinstance(fingerprint, str) else None


def _listed_mirrors(config: Config) -> tuple[str, ...]:
    """The addresses the signed mirror list will name (what ``/mirrors/`` shows): the list
    ``sign`` signs, from the publish stage; none without it."""
    if importlib.util.find_spec("tamizdat.publish.mirrorlist") is None:
        return ()
    from tamizdat.layout import MIRRORS_JSON
    from tamizdat.publish.mirrorlist import mirror_list_files

    listed = json.loads(mirror_list_files(config)[MIRRORS_JSON])["mirrors"]
    return tuple(str(m["public_url"]) for m in listed)


def _summary(report: BuildReport) -> str:
    lines = [
        f"built {report.output_dir}: {report.articles} articles, "
        f"{report.pages_rendered} pages rendered ({report.pages_skipped} unchanged), "
        f"{len(report.written)} files written, {len(report.removed)} removed, "
        f"{report.images_processed} images encoded, in {report.seconds:.2f} s"
    ]
    cleaned = report.metadata_removed
    if cleaned:
        shown = [f"{n.source} ({', '.join(n.removed)})" for n in cleaned[:3]]
        more = f", and {len(cleaned) - 3} more (see --json)" if len(cleaned) > 3 else ""
        lines.append(f"metadata removed from {len(cleaned)} files: {'; '.join(shown)}{more}")
    for note in report.published_unstripped:
        lines.append(f"published WITH its metadata ([media] publish_unstripped): {note.source}")
    return "\n".join(lines)


def _run_build(config: Config, args: argparse.Namespace, out: Output) -> BuildReport:
    report = build_site(
        config,
        fingerprint=_fingerprint(config),
        include_drafts=args.drafts,
        workers=getattr(args, "workers", None),
        progress=out.progress,
        corrections="fail" if getattr(args, "strict_corrections", False) else None,
        mirrors=_listed_mirrors(config),
    )
    for warning in report.warnings:
        out.warn(warning)
    return report


def _build(args: argparse.Namespace, out: Output) -> int:
    config = load_config(args.site)
    report = _run_build(config, args, out)
    out.result(report.to_dict(), lambda: out.say(_summary(report)))
    return 0


def _serve(args: argparse.Namespace, out: Output) -> int:
    from tamizdat.render.serve import PreviewServer, source_state

    config = load_config(args.site)
    baseline = source_state(config)  # before building: edits made during it are seen
    try:
        out.note(_summary(_run_build(config, args, out)))
    except TamizdatError as error:
        # Keep serving the last good build (if any) so the author can fix and save.
        out.note(f"error: {error}")

    def rebuilt(error: TamizdatError | None, result: object) -> None:
        if error is not None:
            out.note(f"error: {error} (still serving the last good build)")
        elif isinstance(result, BuildReport):
            out.note(_summary(result))

    server = PreviewServer(
        config,
        lambda: _run_build(config, args, out),
        bind=args.bind,
        port=args.port,
        names=args.allow_host,
        on_result=rebuilt,
    )
    server.start()
    out.say(f"serving {config.build.output_dir} at {server.url} (Ctrl-C stops)")
    out.stdout.flush()
    try:
        if args.no_watch:
            server.stopped.wait()
        else:
            server.watch(baseline)
    except KeyboardInterrupt:
        out.note("stopped")
    finally:
        server.stop()
    return 0
