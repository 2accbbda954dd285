"""``mirrors check`` ends within its deadline even when every mirror stalls."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from releasekit import write_release

from support.hostile_http import hostile_mirror
from tamizdat.config.mirrors import MirrorSettings
from tamizdat.publish.check import check_mirrors

pytestmark = pytest.mark.integration


def _mirror(name: str, url: str) -> MirrorSettings:
    return MirrorSettings(
        name=name,
        url=f"file:///srv/{name}",
        public_url=url,
        tags=(),
        enabled=True,
        retired=None,
        created=None,
    )


def test_stalling_mirrors_are_unreachable_within_the_deadline(tmp_path: Path) -> None:
    write_release(tmp_path / "release", 5, {"index.html": b"hi"})
    with hostile_mirror("drip-body") as drip, hostile_mirror("silent") as silent:
        started = time.monotonic()
        report = check_mirrors(
            [_mirror("drip", drip), _mirror("silent", silent)],
            fingerprint="ab" * 32,
            local_release_dir=tmp_path / "release",
            timeout=60.0,
            deadline=2.0,
        )
        seconds = time.monotonic() - started
    assert [m.state for m in report.mirrors] == ["unreachable", "unreachable"]
    assert all("deadline" in (m.problem or "") for m in report.mirrors)
    assert seconds < 2.0 * 2
