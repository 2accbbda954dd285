"""The packaged JavaScript is exactly what the sources in ``web/`` build today.

``src/tamizdat/web/*.js`` (the verifier, the service worker, the page scripts and the Ed25519
fallback) ship in the wheel so that a newsroom needs no Node.js; they must never drift from
``web/src``. Needs ``npm ci`` in ``web/`` (scripts/test.sh runs it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import tamizdat

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
