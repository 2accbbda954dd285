"""The JavaScript verifier (the shipped bundle) gives Python's verdict on every attack release.

The releases of the attack corpus and of tests/attacks/ (rollback against a seen state,
fast-forward recovery, freeze and mix-and-match, endless data, forged publication times, key
attacks) are exported with the Python verifier's verdict (:mod:`js_fixtures`), then node runs
``web/differential/run.test.js`` on them with the bundle in ``src/tamizdat/web/``. Any
disagreement (outcome, error class, version, publication time, stale roles, log head, seen
versions) fails this test with node's report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import tamizdat
from support.attack_releases import export_fixtures

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
BUNDLE = Path(tamizdat.__file__).parent / "web" / "verifier.js"


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (bash scripts/setup.sh --dev installs it)")
    return node


def test_js_verifier_agrees_with_python_on_every_attack(tmp_path: Path) -> None:
    node = _node()
    names = export_fixtures(tmp_path)
    assert len(names) >= 40
    env = {**os.environ, "TAMIZDAT_FIXTURES": str(tmp_path), "TAMIZDAT_VERIFIER": str(BUNDLE)}
    result = subprocess.run(
        [node, "--test", "--test-reporter=tap", "differential/run.test.js"],
        cwd=WEB,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report[-8000:]
    assert f"# pass {len(names) + 3}" in report, report[-2000:]
