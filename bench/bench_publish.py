"""Publish a news archive to three mirrors (local folder, S3 via rclone, SFTP via OpenSSH),
then republish after one article changes.

For the initial publish and the one-article republish it pushes to each mirror alone, then to
all three at once (a forked worker per mirror, as ``tamizdat publish`` does), and reports per
mirror the objects, bytes (and metadata bytes) moved and the seconds taken, plus the wall time
of each whole ``publish_release`` call (release scan included), the CPU seconds spent by the
client processes and by the servers (rclone, sshd), and the load average after it: other work
on the machine skews every figure, and on a 2-core machine that also runs both servers, CPU —
not the network — bounds how far three pushes can overlap. A last run pushes the same
release from a machine without upload journals (full listing of every mirror).

Two kinds of release (``--release``):

- ``signed`` (default): the real pipeline — ``bench/corpus.py`` writes N articles,
  ``tamizdat build`` renders them, ``tamizdat keys init --demo`` and ``tamizdat sign --demo``
  sign them; then one article's body changes and the site is rebuilt and re-signed.
  (10,000 articles: about 30,000 release files, made in under two minutes.)
- ``synthetic``: one page per article, its by-hash copy, one targets role per publication
  month plus a small role for the pages every release touches, snapshot, timestamp — the
  same layout, without rendering or real signatures; quicker to make.

    .venv/bin/python bench/bench_publish.py [--articles 10000] [--release synthetic] [--json]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from tamizdat.config.mirrors import MirrorSettings
from tamizdat.layout import by_hash_path, metadata_path
from tamizdat.publish.push import PublishReport, publish_release
from tamizdat.publish.stores import open_store

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
METADATA_PHASES = ("versioned_metadata", "unversioned_metadata", "timestamp", "state")


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


def _tamizdat(site: Path, *args: str) -> None:
    subprocess.run([str(BIN / "tamizdat"), "-q", "-C", str(site), *args], check=True)


class SignedSource:
    """A generated corpus, built and signed with the real commands."""

    def __init__(self, work: Path, articles: int) -> None:
        out = work / "corpus"
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "corpus.py"), str(articles), str(out)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(out / "hugo")
        shutil.rmtree(out / "pelican")
        self.site = out / "tamizdat"
        with (self.site / "tamizdat.toml").open("a", encoding="utf-8") as toml:
            toml.write(f'\n[signing]\nkeys_dir = "{work / "keys"}"\n')
        _tamizdat(self.site, "keys", "init", "--demo")
        self.release = self.site / "release"

    def first(self) -> None:
        _tamizdat(self.site, "build")
        _tamizdat(self.site, "sign", "--demo")

    def change_one(self) -> None:
        pages = sorted((self.site / "content").rglob("*.md"))
        page = pages[len(pages) // 2]
        with page.open("a", encoding="utf-8") as handle:
            handle.write("\n\nCorrection: an earlier version of this article misspelt a name.\n")
        _tamizdat(self.site, "build")
        _tamizdat(self.site, "sign", "--demo")


class SyntheticSource:
    """The synthetic release of ``write_release``."""

    def __init__(self, work: Path, articles: int) -> None:
        self.release = work / "release"
        self.articles = articles

    def first(self) -> None:
        write_release(self.release, self.articles, 1, None)

    def change_one(self) -> None:
        write_release(self.release, self.articles, 2, changed=self.articles // 2)


def mirror(name: str, url: str) -> MirrorSettings:
    return MirrorSettings(name, url, f"https://{name}.example/", (), True, None, None)


def push(release: Path, mirrors: list[MirrorSettings], state: Path | None) -> PublishReport:
    return publish_release(
        release,
        mirrors,
        open_store=open_store,
        state_dir=state,
        max_workers_per_mirror=8,
        processes=True,  # as the CLI does: a forked worker per mirror
    )


def cpu_seconds(pids: list[int]) -> float:
    """CPU time of these server processes and their reaped children (sshd's sessions)."""
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def client_cpu() -> float:
    """CPU time of this process and its reaped children (the forked per-mirror workers)."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


SERVERS: list[int] = []  # pids of rclone and sshd, for cpu_seconds


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(
    label: str, release: Path, mirrors: list[MirrorSettings], state: Path | None
) -> list[dict[str, object]]:
    before = load()
    cpu, served = client_cpu(), cpu_seconds(SERVERS)
    report = push(release, mirrors, state)
    time.sleep(1.0)  # let sshd reap its session processes, whose CPU it then accounts
    cpu, served = client_cpu() - cpu, cpu_seconds(SERVERS) - served
    after = load()
    out: list[dict[str, object]] = []
    for m in report.mirrors:
        if not m.ok:
            raise SystemExit(f"{label}: mirror {m.name} failed: {m.error}")
        out.append(
            {
                "run": label,
                "mirror": m.name.split("-")[0],
                "objects": m.uploaded_objects,
                "bytes": m.uploaded_bytes,
                "metadata_bytes": sum(
                    b for k, (_c, b) in m.planned.items() if k in METADATA_PHASES
                ),
                "seconds": round(m.seconds, 2),
                "wall": round(report.seconds, 2),
                "client_cpu": round(cpu, 1),
                "server_cpu": round(served, 1),
                "load_before": before,
                "load_after": after,
            }
        )
    print(
        f"  {label}: {[(r['mirror'], r['objects'], r['seconds']) for r in out]} wall {report.seconds:.1f}s load {after}",
        file=sys.stderr,
    )
    return out


def run_round(
    label: str,
    release: Path,
    alone: list[MirrorSettings],
    together: list[MirrorSettings],
    state: Path | None,
) -> tuple[list[dict[str, object]], dict[str, float]]:
    rows: list[dict[str, object]] = []
    for m in alone:  # each mirror alone: the baseline for "concurrent vs slowest"
        rows += measure(f"{label}, alone", release, [m], state)
    rows += measure(f"{label}, concurrent", release, together, state)
    walls = [float(r["wall"]) for r in rows if r["run"] == f"{label}, alone"]  # type: ignore[arg-type]
    summary = {
        f"{label}: slowest alone (wall s)": max(walls),
        f"{label}: sum alone (wall s)": round(sum(walls), 2),
        f"{label}: concurrent (wall s)": float(rows[-1]["wall"]),  # type: ignore[arg-type]
        # a floor for the concurrent wall time on this machine: all CPU spent, on every core
        f"{label}: concurrent CPU (client + servers) / cores": round(
            (float(rows[-1]["client_cpu"]) + float(rows[-1]["server_cpu"]))  # type: ignore[arg-type]
            / (os.cpu_count() or 1),
            2,
        ),
    }
    return rows, summary


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--release", choices=("signed", "synthetic"), default="signed")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    servers = load_servers()
    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    s3 = servers.start_rclone_s3(work / "s3")
    (work / "sshd").mkdir()
    ssh = servers.start_sshd(work / "sshd")
    SERVERS.extend([s3.proc.pid, ssh.proc.pid])
    os.environ.update(s3.env())
    os.environ.update(ssh.env())
    rows: list[dict[str, object]] = []
    summary: dict[str, float] = {}
    factory: Callable[[Path, int], SignedSource | SyntheticSource] = (
        SignedSource if args.release == "signed" else SyntheticSource
    )
    try:
        started = time.monotonic()
        source = factory(work, args.articles)
        source.first()
        files = sum(1 for p in source.release.rglob("*") if p.is_file())
        print(f"release 1: {files} files in {time.monotonic() - started:.1f}s", file=sys.stderr)

        def trio(tag: str) -> list[MirrorSettings]:
            s3.bucket(f"bench-{tag}")
            return [
                mirror(f"local-{tag}", f"file://{work / ('local-' + tag)}"),
                mirror(f"s3-{tag}", f"s3://bench-{tag}/site"),
                mirror(f"sftp-{tag}", ssh.url(work / f"sftp-{tag}")),
            ]

        alone, together = trio("alone"), trio("all")
        state = work / "state"
        got, summary1 = run_round("initial", source.release, alone, together, state)
        rows += got
        started = time.monotonic()
        source.change_one()
        print(f"one article changed: {time.monotonic() - started:.1f}s", file=sys.stderr)
        got, summary2 = run_round("one article changed", source.release, alone, together, state)
        rows += got
        # the same release from a machine without the upload journals: each mirror is listed
        # in full (one paginated S3 listing, a parallel SFTP walk); by-hash objects are known
        # by name, but natural pages and metadata cannot be compared without a hash, so they
        # go up again
        rows += measure("no journal, same release, concurrent", source.release, together, None)
        summary = {**summary1, **summary2}
    finally:
        servers.stop(s3.proc)
        servers.stop(ssh.proc)
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        doc = {"articles": args.articles, "release": args.release, "rows": rows, "summary": summary}
        print(json.dumps(doc, indent=1))
        return
    print(
        f"{'run':<34} {'mirror':<6} {'objects':>8} {'bytes':>12} {'meta bytes':>10} "
        f"{'s':>7} {'wall s':>7} {'cpu c+s':>9}  load (1/5/15 min) after"
    )
    for r in rows:
        print(
            f"{r['run']:<34} {r['mirror']:<6} {r['objects']:>8} {r['bytes']:>12} "
            f"{r['metadata_bytes']:>10} {r['seconds']:>7} {r['wall']:>7} "
            f"{str(r['client_cpu']) + '+' + str(r['server_cpu']):>9}  {r['load_after']}"
        )
    for key, value in summary.items():
        print(f"{key}: {value}")


if __name__ == "__main__":
    main()
