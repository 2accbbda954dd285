"""Size of the browser verifier: the packaged bundle, raw and gzip, against the worker budget.

Issue 10 budgets the whole service-worker script at 40 KB raw and 14 KB gzip; this prints
what the verifier bundle alone (``src/tamizdat/web/verifier.js``, readable, unminified) costs
today, and what the same code would cost with whitespace and names minified (when ``web/``
has its ``npm ci``), so the next round can decide how to ship the worker within budget.

    .venv/bin/python bench/bench_web_size.py [--json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
from pathlib import Path

import tamizdat

BUNDLE = Path(tamizdat.__file__).parent / "web" / "verifier.js"
WEB = Path(__file__).resolve().parents[1] / "web"
BUDGET = {"raw": 40 * 1024, "gzip": 14 * 1024}


def _sizes(data: bytes) -> dict[str, int]:
    return {"raw": len(data), "gzip": len(gzip.compress(data, compresslevel=9, mtime=0))}


def _minified() -> bytes | None:
    esbuild = WEB / "node_modules" / ".bin" / "esbuild"
    if shutil.which("node") is None or not esbuild.exists():
        return None
    result = subprocess.run(
        [str(esbuild), "src/index.js", "--bundle", "--format=esm", "--minify", "--charset=utf8"],
        cwd=WEB,
        capture_output=True,
        check=True,
        timeout=120,
    )
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = {"bundle (shipped, readable)": _sizes(BUNDLE.read_bytes())}
    minified = _minified()
    if minified is not None:
        rows["same code, minified"] = _sizes(minified)
    if args.json:
        print(json.dumps({"budget": BUDGET, **rows}, indent=2))
        return
    print(f"{'':28} {'raw':>9} {'gzip':>9}")
    print(f"{'worker budget':28} {BUDGET['raw']:>9} {BUDGET['gzip']:>9}")
    for name, size in rows.items():
        print(f"{name:28} {size['raw']:>9} {size['gzip']:>9}")


if __name__ == "__main__":
    main()
