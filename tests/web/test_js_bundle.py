"""The packaged JavaScript is exactly what the sources in ``web/`` build today, and the worker
stays within its size.

``src/tamizdat/web/*.js`` (the verifier, the service worker, the page scripts and the Ed25519
fallback) ship in the wheel so that a newsroom needs no Node.js; they must never drift from
``web/src``. Needs ``npm ci`` in ``web/`` (scripts/test.sh runs it).
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

import tamizdat
from tamizdat.web import worker_script

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
PACKAGED = Path(tamizdat.__file__).parent / "web"
BUNDLES = ("verifier.js", "sw.js", "tz-register.js", "tz-verify.js", "tz-ed25519.js")


def test_packaged_bundles_equal_a_fresh_build(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (WEB / "node_modules" / "esbuild").is_dir():
        pytest.skip("needs node and `npm ci` in web/ (bash scripts/test.sh does both)")
    subprocess.run([node, "build.js", str(tmp_path)], cwd=WEB, check=True, timeout=120)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(BUNDLES)
    for name in BUNDLES:
        fresh = (tmp_path / name).read_bytes()
        assert (PACKAGED / name).read_bytes() == fresh, (
            f"{name}: run `npm run build` in web/ and commit"
        )


def test_the_register_script_stays_small() -> None:
    # Every page loads it; the worker and its budget are measured by bench/bench_browser.py.
    assert len((PACKAGED / "tz-register.js").read_bytes()) <= 1200


# Issue 10's budget for /sw.js as a site publishes it (its configuration line included) is
# 40 KB raw and 14 KB gzip. Not met yet (docs/browser.md, "Sizes"): the verifier the worker carries is about twice
# the budget even before formatting. Until it is cut, the worker must at least not grow: a
# ceiling a little above its size when this was written (80,074 B raw, 20,431 B gzip with
# the configuration line), lowered as the worker shrinks, removed when the budget holds.
CEILING_RAW = 80 * 1024
CEILING_GZIP = 20 * 1024 + 512


def _published_worker() -> tuple[int, int]:
    data = worker_script("ab" * 32, "https://example.org/")
    return len(data), len(gzip.compress(data, compresslevel=9, mtime=0))


def test_the_worker_does_not_grow_past_its_ceiling() -> None:
    raw, packed = _published_worker()
    assert raw <= CEILING_RAW, f"sw.js is {raw:,} B raw, over the {CEILING_RAW:,} B ceiling"
    assert packed <= CEILING_GZIP, (
        f"sw.js is {packed:,} B gzip, over the {CEILING_GZIP:,} B ceiling"
    )
