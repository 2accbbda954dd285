"""The packaged verifier bundle is exactly what the JavaScript sources build today.

``src/tamizdat/web/verifier.js`` ships in the wheel so that a newsroom needs no Node.js;
it must never drift from ``web/src``. Needs ``npm ci`` in ``web/`` (scripts/test.sh runs it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import tamizdat

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
BUNDLE = Path(tamizdat.__file__).parent / "web" / "verifier.js"


def test_packaged_bundle_equals_a_fresh_build(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (WEB / "node_modules" / "esbuild").is_dir():
        pytest.skip("needs node and `npm ci` in web/ (bash scripts/test.sh does both)")
    fresh = tmp_path / "verifier.js"
    subprocess.run([node, "build.js", str(fresh)], cwd=WEB, check=True, timeout=120)
    assert BUNDLE.read_bytes() == fresh.read_bytes(), "run `npm run build` in web/ and commit"
