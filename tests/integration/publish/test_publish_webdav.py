"""``tamizdat publish`` to a WebDAV share (``rclone serve webdav`` on 127.0.0.1), read back
with plain HTTP GETs as a reader of the share would: a complete publish, a re-publish that
moves only what changed, and a crash at many points that leaves the old or the new release.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from publish_helpers import Reader, http_reader, served_version, write_site
from releasekit import article_files, write_release

from support.killing import run_killing
from tamizdat.cli import main
from tamizdat.config import load_config
from tamizdat.publish.headers import TEMP_PREFIX
from tamizdat.publish.stores import open_store

pytestmark = pytest.mark.integration

# As in test_publish_faults.py: release 2 changes 6 of 12 articles, 18 uploads; kill points
# in the by-hash (1), natural (9) and metadata (16) phases, after the state file (17) and
# after the timestamp (18).
TOTAL_UPLOADS = 18
KILL_POINTS = (1, 9, 16, 17, 18)


def dav_site(root: Path, server, folder: str) -> tuple[Path, Reader]:  # type: ignore[no-untyped-def]
    site = write_site(
        root,
        [
            {
                "name": "dav",
                "url": server.url(folder),
                "public_url": "https://dav.example/",
                "options": {"scheme": "http"},
            }
        ],
    )
    return site, http_reader(server.http_url(folder), user=server.user, password=server.password)


def publish(site: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["-C", str(site), "--json", "-q", "publish"])
    return code, json.loads(capsys.readouterr().out)


def leftovers(site: Path) -> list[str]:
    """Temporary upload names still on the share, listed through WebDAV (PROPFIND)."""
    config = load_config(site)
    store = open_store(config.mirrors[0], base_dir=config.root)
    try:
        return [p for p in store.list_sizes() if TEMP_PREFIX in p]
    finally:
        store.close()


def test_publish_then_incremental_republish_over_webdav(
    tmp_path: Path,
    rclone_webdav,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    site, read = dav_site(tmp_path / "site", rclone_webdav, "incremental")
    release = site / "release"
    files = write_release(release, 1, article_files(1, count=12))
    code, report = publish(site, capsys)
    assert code == 0, report
    assert report["mirrors"][0]["uploaded_objects"] == len(files) + 1  # + the state file
    assert served_version(read, release) == 1
    assert {p for p, data in files.items() if read(p) == data} == set(files)

    files = write_release(release, 2, article_files(2, count=12))
    code, report = publish(site, capsys)
    assert code == 0, report
    # two changed pages, their by-hash copies, targets, snapshot, state, timestamp
    assert report["mirrors"][0]["uploaded_objects"] == 8
    assert served_version(read, release) == 2
    assert read("index.html") == files["index.html"]  # replaced in place by one MOVE

    code, report = publish(site, capsys)
    assert code == 0
    assert report["mirrors"][0]["uploaded_objects"] == 0
    assert leftovers(site) == []


def test_sigkill_at_many_points_leaves_old_or_new_over_webdav_and_rerun_completes(
    tmp_path: Path,
    rclone_webdav,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    for k in KILL_POINTS:
        site, read = dav_site(tmp_path / f"k{k}", rclone_webdav, f"kill-{k}")
        release = site / "release"
        write_release(release, 1, article_files(1, count=12))
        assert publish(site, capsys)[0] == 0
        write_release(release, 2, article_files(2, count=12, changed=6))
        killed = run_killing("publish", str(site), str(k))  # SIGKILL after k uploads
        assert killed.returncode == -9, (k, killed.stderr)
        seen = served_version(read, release, complete=k >= TOTAL_UPLOADS)
        assert seen == (2 if k >= TOTAL_UPLOADS else 1), f"killed after {k}, serves {seen}"
        code, report = publish(site, capsys)
        assert code == 0, report
        # only what the killed run had not finished (plus the one upload it finished but had
        # not journaled) goes up again: never the whole release
        assert report["mirrors"][0]["uploaded_objects"] <= TOTAL_UPLOADS - k + 1, (k, report)
        assert served_version(read, release) == 2


def test_a_wrong_webdav_password_fails_that_mirror_by_name_and_writes_nothing(
    tmp_path: Path,
    rclone_webdav,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    site, read = dav_site(tmp_path / "site", rclone_webdav, "denied")
    write_release(site / "release", 1, article_files(1, count=2))
    monkeypatch.setenv("TAMIZDAT_WEBDAV_PASSWORD", "wrong")
    code, report = publish(site, capsys)
    assert code == 7
    assert report["failed"] == ["dav"]
    assert "mirror dav" in report["mirrors"][0]["error"]
    assert read(".well-known/tamizdat/metadata/timestamp.json") is None
