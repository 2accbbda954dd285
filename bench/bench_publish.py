"""Publish a 10,000-article release to three mirrors (local folder, S3 via rclone, SFTP via
OpenSSH), then republish after one article changes.

Reports objects, bytes and seconds per mirror, and the three mirrors pushed concurrently
against the slowest one pushed alone. The release is synthetic but shaped like a signed one:
natural pages, by-hash copies, one targets role per publication month (as the signer lays
them out) plus a small role for the pages every release touches, snapshot, timestamp.

    .venv/bin/python bench/bench_publish.py [--articles 10000] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

from tamizdat.config.mirrors import MirrorSettings
from tamizdat.layout import by_hash_path, metadata_path
from tamizdat.publish._fsspec import open_store
from tamizdat.publish.push import PublishReport, publish_release

ROOT = Path(__file__).resolve().parents[1]


def load_servers() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "bench_servers", ROOT / "tests" / "integration" / "conftest.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_servers"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def article_html(n: int, revision: int) -> bytes:
    body = f"<p>Paragraph {n}.{revision} of a long report from exile.</p>\n" * 60
    return f"<!doctype html><title>Article {n}</title><article>{body}</article>".encode()


def _role(targets: dict[str, bytes], version: int) -> bytes:
    entries = {
        path: {"length": len(data), "hashes": {"sha256": hashlib.sha256(data).hexdigest()}}
        for path, data in sorted(targets.items())
    }
    doc = {
        "signatures": [{"keyid": "0" * 64, "sig": "0" * 128}],
        "signed": {"_type": "targets", "version": version, "targets": entries},
    }
    return json.dumps(doc, indent=1, sort_keys=True).encode()


def write_release(release: Path, articles: int, version: int, changed: int | None) -> None:
    """Write release ``version``; article ``changed`` (if any) gets a new revision."""
    if release.exists():
        shutil.rmtree(release)
    months: dict[str, dict[str, bytes]] = {}
    pages: dict[str, bytes] = {
        "index.html": f"<h1>Front page, release {version}</h1>".encode() * 50,
        "feed.xml": f"<feed>release {version}</feed>".encode() * 100,
    }
    for n in range(articles):
        month = f"{2006 + n * 20 // articles:04d}-{1 + n % 12:02d}"
        data = article_html(n, 1 if n == changed else 0)
        months.setdefault(month, {})[f"{month}/a{n:05d}/index.html"] = data
    files: dict[str, bytes] = {}
    role_versions: dict[str, int] = {}
    for month, targets in months.items():
        files.update(targets)
        touched = changed is not None and any(f"a{changed:05d}/" in p for p in targets)
        role_versions[f"m{month}"] = 2 if touched else 1
        name = metadata_path(f"m{month}", role_versions[f"m{month}"])
        files[name] = _role(targets, role_versions[f"m{month}"])
    files.update(pages)
    role_versions["pages"] = version
    files[metadata_path("pages", version)] = _role(pages, version)
    files[metadata_path("targets", version)] = _role({}, version)
    snapshot = {
        "signed": {
            "version": version,
            "meta": {f"{r}.json": {"version": v} for r, v in sorted(role_versions.items())},
        }
    }
    files[metadata_path("snapshot", version)] = json.dumps(snapshot, indent=1).encode()
    stamp = {
        "signed": {
            "_type": "timestamp",
            "version": version,
            "meta": {"snapshot.json": {"version": version}},
        }
    }
    files[metadata_path("timestamp", None)] = json.dumps(stamp).encode()
    files[metadata_path("root", 1)] = b'{"signed": {"_type": "root", "version": 1}}'
    for path, data in list(files.items()):
        if not path.startswith(".well-known"):
            files[by_hash_path(path, hashlib.sha256(data).hexdigest())] = data
    for path, data in files.items():
        target = release / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def mirror(name: str, url: str) -> MirrorSettings:
    return MirrorSettings(name, url, f"https://{name}.example/", (), True, None, None)


def push(release: Path, mirrors: list[MirrorSettings], state: Path) -> PublishReport:
    return publish_release(
        release,
        mirrors,
        open_store=lambda m: open_store(m),
        state_dir=state,
        max_workers_per_mirror=8,
    )


def rows(label: str, report: PublishReport) -> list[dict[str, object]]:
    for m in report.mirrors:
        if not m.ok:
            raise SystemExit(f"{label}: mirror {m.name} failed: {m.error}")
    return [
        {
            "run": label,
            "mirror": m.name,
            "objects": m.uploaded_objects,
            "bytes": m.uploaded_bytes,
            "metadata_bytes": sum(
                b
                for k, (_c, b) in m.planned.items()
                if k in ("versioned_metadata", "unversioned_metadata", "timestamp", "state")
            ),
            "seconds": round(m.seconds, 2),
        }
        for m in report.mirrors
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    servers = load_servers()
    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    s3 = servers.start_rclone_s3(work / "s3")
    (work / "sshd").mkdir()
    ssh = servers.start_sshd(work / "sshd")
    os.environ.update(s3.env())
    os.environ.update(ssh.env())
    results: list[dict[str, object]] = []
    try:
        release = work / "release"
        started = time.monotonic()
        write_release(release, args.articles, 1, None)
        files = sum(1 for p in release.rglob("*") if p.is_file())
        print(
            f"release 1: {files} files, built in {time.monotonic() - started:.1f}s", file=sys.stderr
        )

        def trio(tag: str) -> list[MirrorSettings]:
            s3.bucket(f"bench-{tag}")
            return [
                mirror(f"local-{tag}", f"file://{work / ('local-' + tag)}"),
                mirror(f"s3-{tag}", f"s3://bench-{tag}/site"),
                mirror(f"sftp-{tag}", ssh.url(work / f"sftp-{tag}")),
            ]

        alone = trio("alone")
        for m in alone:  # each mirror alone: the baseline for "concurrent vs slowest"
            results += rows("initial, alone", push(release, [m], work / "state"))
        together = trio("all")
        concurrent = push(release, together, work / "state")
        results += rows("initial, concurrent", concurrent)
        slowest = max(r["seconds"] for r in results if r["run"] == "initial, alone")  # type: ignore[type-var]
        summary = {
            "initial_concurrent_seconds": round(concurrent.seconds, 2),
            "initial_slowest_alone_seconds": slowest,
        }

        write_release(release, args.articles, 2, changed=args.articles // 2)
        for m in alone:
            results += rows("one article changed, alone", push(release, [m], work / "state"))
        again = push(release, together, work / "state")
        results += rows("one article changed, concurrent", again)
        summary["republish_concurrent_seconds"] = round(again.seconds, 2)
        summary["republish_slowest_alone_seconds"] = max(
            r["seconds"]
            for r in results
            if r["run"] == "one article changed, alone"  # type: ignore[type-var]
        )
    finally:
        servers.stop(s3.proc)
        servers.stop(ssh.proc)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(
            json.dumps({"articles": args.articles, "rows": results, "summary": summary}, indent=1)
        )
        return
    print(f"{'run':<34} {'mirror':<12} {'objects':>8} {'bytes':>12} {'meta bytes':>11} {'s':>7}")
    for r in results:
        print(
            f"{r['run']:<34} {r['mirror']:<12} {r['objects']:>8} {r['bytes']:>12} {r['metadata_bytes']:>11} {r['seconds']:>7}"
        )
    for key, value in summary.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
