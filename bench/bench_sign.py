"""Benchmark: signing a news site with tamizdat vs plain python-tuf hash bins.

Generates a synthetic built site (public/) of N files shaped like a 20-year news archive
(2 languages, 3 desks, article pages, two image widths per article, tag/author/archive/
pagination pages, assets), then measures:

1. a first full ``sign_release`` (hashing included, no hash cache; every file copied once
   into release/ as its by-hash object, its natural path a link to that copy),
2. a release that adds 20 articles and changes 30 index/feed files (50 files): time and
   bytes of new metadata,
3. the same two steps with plain python-tuf: top-level targets delegating to 256 hash bins
   (``SuccinctRoles``), single-threaded hashing, python-tuf's own canonical JSON.

Usage:  .venv/bin/python bench/bench_sign.py [--files 10000 100000] [--keep DIR]
Never part of the test run's pass/fail.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Delegations as TufDelegations
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Snapshot,
    SuccinctRoles,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from tamizdat.config import load_config
from tamizdat.trust.sign.keys import init_keys
from tamizdat.trust.sign.signing import sign_release

LANGS = ("en", "ru")
DESKS = ("news", "culture", "investigations")
YEARS = range(2007, 2027)
PAGE = 6_000  # bytes of an article page
IMAGE = 18_000  # bytes of an image width
NOW = datetime.now(UTC).replace(microsecond=0)


def _blob(seed: str, size: int) -> bytes:
    head = hashlib.sha256(seed.encode()).digest()
    return (head * (size // len(head) + 1))[:size]


def corpus_paths(total: int) -> list[tuple[str, int]]:
    """(path, size) of a site with ``total`` files: ~38% pages, ~38% images, rest site-wide."""
    articles = int(total * 0.19)  # per language → 0.38 pages, 0.38 images (2 widths)
    months = [(y, m) for y in YEARS for m in range(1, 13)]
    files: list[tuple[str, int]] = []
    for i in range(articles):
        desk = DESKS[i % len(DESKS)]
        year, month = months[(i * len(months)) // articles]
        slug = f"story-{i:06d}-about-something"
        for lang in LANGS:
            files.append((f"{lang}/{desk}/{year}/{month:02d}/{slug}/index.html", PAGE))
        for width in (480, 960):
            files.append((f"media/{desk}/{year}/{month:02d}/{slug}-{width}.jpg", IMAGE))
    extra: list[tuple[str, int]] = []
    for lang in LANGS:
        extra += [(f"{lang}/index.html", 9000), (f"{lang}/feed.xml", 30000)]
        extra += [(f"{lang}/page/{n}/index.html", 8000) for n in range(2, articles // 10)]
        for desk in DESKS:
            extra += [
                (f"{lang}/{desk}/page/{n}/index.html", 8000) for n in range(2, articles // 30)
            ]
        extra += [(f"{lang}/archive/{y}/{m:02d}/index.html", 7000) for y, m in months]
        extra += [(f"{lang}/authors/author-{a}/index.html", 5000) for a in range(300)]
    extra += [(f"assets/asset-{a}.css", 4000) for a in range(60)]
    extra += [("index.html", 5000), ("404.html", 2000), ("robots.txt", 40), ("sitemap.xml", 90000)]
    tags = max(0, total - len(files) - len(extra))
    extra += [(f"{LANGS[t % 2]}/tags/tag-{t:05d}/index.html", 5000) for t in range(tags)]
    return (files + extra)[:total]


def write_site(root: Path, total: int) -> tuple[Path, list[str]]:
    public = root / "public"
    paths = corpus_paths(total)
    for path, size in paths:
        target = public / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_blob(path, size))
    (root / "tamizdat.toml").write_text(
        '[site]\ntitle = "Bench"\nbase_url = "https://bench.example/"\n'
        '[build]\ndefault_desk = "news"\n'
        + "".join(f"[desks.{d}]\n" for d in DESKS)
        + '[signing]\nkeys_dir = "keys"\nrelease_dir = "release"\n',
        encoding="utf-8",
    )
    return public, [p for p, _ in paths]


def daily_change(public: Path, paths: list[str]) -> list[str]:
    """Add 20 articles in the current month, change 30 index/feed pages: 50 files."""
    changed = []
    for i in range(20):
        path = f"{LANGS[i % 2]}/{DESKS[i % 3]}/{NOW:%Y}/{NOW:%m}/new-story-{i}/index.html"
        changed.append(path)
    index = [p for p in paths if p.endswith(("feed.xml", "sitemap.xml")) or "/page/" in p]
    index = ["index.html", "en/index.html", "ru/index.html", *sorted(index)[:27]]
    changed += index[:30]
    for path in changed:
        target = public / path
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(target.name + ".tmp")
        temp.write_bytes(_blob(path + "v2", 6000))
        temp.replace(target)
    return changed


# ----------------------------------------------------------------- plain python-tuf baseline
def _tuf_hash(public: Path, paths: list[str]) -> dict[str, TargetFile]:
    return {p: TargetFile.from_file(p, str(public / p), ["sha256"]) for p in paths}


class PlainTuf:
    """python-tuf's hash-bin delegation (like its hashed_bin_delegation example)."""

    def __init__(self, out: Path, bits: int = 8) -> None:
        self.out = out
        self.keys = {
            r: CryptoSigner.generate_ed25519() for r in ("targets", "bins", "snapshot", "timestamp")
        }
        self.succinct = SuccinctRoles([self.keys["bins"].public_key.keyid], 1, bits, "bin")
        self.versions: dict[str, int] = {}
        self.bins: dict[str, dict[str, TargetFile]] = {}
        self.written = 0
        self.serializer = JSONSerializer(compact=True)

    def _write(self, name: str, md: Metadata) -> None:  # type: ignore[type-arg]
        data = md.to_bytes(self.serializer)
        (self.out / f"{md.signed.version}.{name}.json").write_bytes(data)
        self.written += len(data)

    def sign(self, targets: dict[str, TargetFile]) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.written = 0
        new_bins: dict[str, dict[str, TargetFile]] = {}
        for path, target in targets.items():
            new_bins.setdefault(self.succinct.get_role_for_target(path), {})[path] = target
        expires = NOW + timedelta(days=30)
        if "targets" not in self.versions:
            delegations = TufDelegations(
                keys={self.keys["bins"].public_key.keyid: self.keys["bins"].public_key},
                succinct_roles=self.succinct,
            )
            top = Metadata(Targets(1, None, expires, {}, delegations))
            top.sign(self.keys["targets"])
            self.versions["targets"] = 1
            self._write("targets", top)
        for name in self.succinct.get_roles():
            files = new_bins.get(name, {})
            if name in self.versions and self.bins.get(name) == files:
                continue
            self.versions[name] = self.versions.get(name, 0) + 1
            md = Metadata(Targets(self.versions[name], None, expires, files))
            md.sign(self.keys["bins"])
            self._write(name, md)
        self.bins = new_bins
        version = self.versions.get("snapshot", 0) + 1
        self.versions["snapshot"] = version
        snapshot = Metadata(
            Snapshot(
                version,
                None,
                expires,
                {f"{n}.json": MetaFile(v) for n, v in self.versions.items() if n != "snapshot"},
            )
        )
        snapshot.sign(self.keys["snapshot"])
        self._write("snapshot", snapshot)
        timestamp = Metadata(Timestamp(version, None, expires, MetaFile(version)))
        timestamp.sign(self.keys["timestamp"])
        data = timestamp.to_bytes(self.serializer)
        (self.out / "timestamp.json").write_bytes(data)
        self.written += len(data)


def _metadata_size(directory: Path) -> int:
    latest: dict[str, tuple[int, int]] = {}
    for path in directory.iterdir():
        head, _, name = path.name.partition(".")
        if head.isdigit():
            version = int(head)
            if name not in latest or latest[name][0] < version:
                latest[name] = (version, path.stat().st_size)
        elif path.name == "timestamp.json":
            latest["timestamp"] = (0, path.stat().st_size)
    return sum(size for _v, size in latest.values())


class Phases:
    """Progress callback that records when each phase of sign_release starts."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        # Files are hashed while the walk goes on, so the first phase is both.
        self.marks: list[tuple[str, float]] = [("walk+hash", 0.0)]

    def __call__(self, task: str, done: int, total: int | None, detail: str = "") -> None:
        if task != self.marks[-1][0]:
            self.marks.append((task, time.perf_counter() - self.start))

    def summary(self) -> str:
        end = time.perf_counter() - self.start
        spans = [
            (name, (self.marks[i + 1][1] if i + 1 < len(self.marks) else end) - at)
            for i, (name, at) in enumerate(self.marks)
        ]
        return ", ".join(f"{name} {secs:.1f} s" for name, secs in spans)


def run(total: int, base: Path) -> None:
    root = base / f"site-{total}"
    started = time.perf_counter()
    public, paths = write_site(root, total)
    print(f"\n== {total:,} files  (corpus written in {time.perf_counter() - started:.1f} s)")
    config = load_config(root)
    init_keys(config, demo=True)
    os.environ["TAMIZDAT_DEMO_KEYS"] = "1"
    release = config.signing.release_dir

    started, cpu = time.perf_counter(), time.process_time()
    phases = Phases()
    first = sign_release(config, public_dir=public, release_dir=release, now=NOW, progress=phases)
    full, cpu = time.perf_counter() - started, time.process_time() - cpu
    per_file = first.metadata_bytes / first.files
    print(
        f"tamizdat  full sign : {full:6.2f} s  {first.files:,} files, {first.roles_total} roles, "
        f"metadata {first.metadata_bytes / 1e6:.2f} MB = {per_file:.0f} B/file "
        f"(target ≤ 200 B/file, ≤ 10 s at 100k)\n           phases: {phases.summary()}"
        f"\n           CPU {cpu:.2f} s (user+system, all threads), {_load()}"
    )
    tuf_dir = base / f"plain-tuf-{total}"
    plain = PlainTuf(tuf_dir)
    all_paths = sorted(p for p in _walk(public))
    started = time.perf_counter()
    plain.sign(_tuf_hash(public, all_paths))
    tuf_full = time.perf_counter() - started
    tuf_meta = _metadata_size(tuf_dir)
    print(
        f"python-tuf full sign: {tuf_full:6.2f} s  256 hash bins, metadata {tuf_meta / 1e6:.2f} MB = "
        f"{tuf_meta / len(all_paths):.0f} B/file (writes no target copies); "
        f"tamizdat/python-tuf = {full / tuf_full:.1f}×"
    )
    daily_change(public, paths)
    later = NOW + timedelta(hours=6)
    started, cpu = time.perf_counter(), time.process_time()
    phases = Phases()
    daily = sign_release(config, public_dir=public, release_dir=release, now=later, progress=phases)
    inc, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"tamizdat  50 changes: {inc:6.2f} s  hashed {daily.hashed} files, re-signed "
        f"{len(daily.roles_signed)} roles, new metadata {daily.new_metadata_bytes / 1e3:.1f} KB "
        f"(target ≤ 100 KB)\n           roles: {', '.join(daily.roles_signed)}"
        f"\n           phases: {phases.summary()}\n           CPU {cpu:.2f} s, {_load()}"
    )
    print(f"           largest new files: {_largest_new(release, daily.roles_signed)}")
    log_dir = release / ".well-known/tamizdat"
    log_size = sum(f.stat().st_size for f in log_dir.glob("log*") if f.is_file())
    log_size += sum(f.stat().st_size for f in log_dir.glob("log/*") if f.is_file())
    print(f"           publication log (targets, not metadata): {log_size / 1e6:.2f} MB")

    started = time.perf_counter()
    plain.sign(_tuf_hash(public, sorted(_walk(public))))
    tuf_inc = time.perf_counter() - started
    print(
        f"python-tuf 50 changes: {tuf_inc:5.2f} s  (re-hashes everything), new metadata "
        f"{plain.written / 1e3:.1f} KB"
    )


def _largest_new(release: Path, roles: tuple[str, ...]) -> str:
    """The newest version of each re-signed role and of the snapshot, largest first."""
    meta = release / ".well-known/tamizdat/metadata"
    sizes = {}
    for name in (*roles, "snapshot"):
        versions = [(int(f.name.split(".")[0]), f) for f in meta.glob(f"*.{name}.json")]
        if versions:
            sizes[name] = max(versions)[1].stat().st_size
    ranked = sorted(sizes.items(), key=lambda item: -item[1])[:6]
    return ", ".join(f"{name} {size / 1e3:.1f} KB" for name, size in ranked)


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) {five:.1f} (5 min) on {os.cpu_count()} cores"


def _walk(public: Path) -> list[str]:
    found = []
    for folder, _dirs, names in os.walk(public):
        rel = Path(folder).relative_to(public).as_posix()
        found += [name if rel == "." else f"{rel}/{name}" for name in names]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--keep", type=Path, help="keep the generated sites in DIR")
    args = parser.parse_args(argv)
    base = args.keep or Path(tempfile.mkdtemp(prefix="tamizdat-bench-"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, work dir {base}")
    try:
        for total in args.files:
            run(total, base)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
