"""Every page of the sample, and the stylesheet, pass the Nu HTML Checker with no error.

The checker is ``vnu.jar`` (npm ``vnu-jar``, installed by ``scripts/setup.sh --dev`` into
``tests/tools/web-quality``) run with Debian's Java; missing, the test FAILS (a skip would
let the web-quality target slip unnoticed). The sample is signed with throwaway keys so the
verify page carries its fingerprint and inline QR code; the mirror status page is checked
too, in both languages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tamizdat.cli import main
from tamizdat.publish.check import CheckReport, MirrorHealth
from tamizdat.publish.status_html import render_status_html

REPO = Path(__file__).resolve().parents[2]
VNU = REPO / "tests/tools/web-quality/node_modules/vnu-jar/build/dist/vnu.jar"

pytestmark = pytest.mark.integration


def _checker() -> list[str]:
    java = shutil.which("java")
    if java is None or not VNU.is_file():
        pytest.fail(
            "the Nu HTML Checker is not installed (Java and tests/tools/web-quality): "
            "bash scripts/setup.sh --dev",
            pytrace=False,
        )
    return [java, "-Xss8m", "-jar", str(VNU)]


def _status_pages(folder: Path) -> list[Path]:
    mirrors = tuple(
        MirrorHealth(
            name=name, url=f"https://{name}.example/", state=state,  # type: ignore[arg-type]
            version=version, lagging_by=0, published=None, expires=None, problem=problem,
            where=None, latency_ms=40,
        )
        for name, state, version, problem in (
            ("one", "current", 3, None),
            ("two", "unreachable", 0, "Read timed out. (read timeout=2)"),
            ("three", "tampered", 2, "bad hash <x>"),
        )
    )  # fmt: skip
    report = CheckReport(datetime(2026, 12, 4, tzinfo=UTC), 3, mirrors)
    pages = []
    for lang in ("en", "ru"):
        page = folder / f"mirrors-{lang}.html"
        page.write_text(render_status_html(report, lang), encoding="utf-8")
        pages.append(page)
    return pages


def test_the_sample_has_no_validation_error(tmp_path: Path) -> None:
    checker = _checker()
    site = tmp_path / "sample"
    shutil.copytree(REPO / "sample", site)
    with (site / "tamizdat.toml").open("a", encoding="utf-8") as config:
        config.write(f'\n[signing]\nkeys_dir = "{(tmp_path / "keys").as_posix()}"\n')
    # Demo keys: only the root fingerprint matters here (the verify page shows it).
    assert main(["-q", "-C", str(site), "keys", "init", "--demo"]) == 0
    assert main(["-q", "-C", str(site), "build"]) == 0
    public = site / "public"
    pages = sorted(public.rglob("*.html"))
    assert len(pages) > 80
    assert "<svg" in (public / "en/verify/index.html").read_text(encoding="utf-8")
    targets = [*pages, public / "assets/style.css", *_status_pages(tmp_path)]
    result = subprocess.run(
        [*checker, "--errors-only", "--also-check-css", "--format", "json", *map(str, targets)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    messages = json.loads(result.stderr or result.stdout)["messages"]
    errors = [
        f"{m.get('url', '?').rsplit('/public/', 1)[-1]}:{m.get('lastLine')}: {m.get('message')}"
        for m in messages
        if m.get("type") == "error"
    ]
    assert errors == []
