"""Faults survived: SIGKILL at many points (S3 and SFTP), a mirror that vanishes mid-publish,
a mirror that answers errors. Each mirror ends at the old release or the new one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from publish_helpers import Reader, s3_reader, served_version, write_site
from releasekit import article_files, write_release

from support.killing import run_killing
from tamizdat.config import load_config
from tamizdat.publish.push import RetryPolicy, publish_release
from tamizdat.publish.stores import open_store

pytestmark = pytest.mark.integration

# Release 2 changes 6 of 12 articles: 18 uploads per mirror (6 pages + home, their 7 by-hash
# copies, targets, snapshot, the state file, timestamp). Kill points spread over every phase:
# by-hash (1), natural (9), metadata (16), after the state file (17), after the timestamp.
TOTAL_UPLOADS = 18
KILL_POINTS = (1, 9, 16, 17, 18)


def publish_in_process(site: Path) -> dict:  # type: ignore[type-arg]
    import contextlib
    import io

    from tamizdat.cli import main

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["-C", str(site), "--json", "-q", "publish"])
    assert code == 0, buffer.getvalue()
    return json.loads(buffer.getvalue())  # type: ignore[no-any-return]


def run_publish(site: Path, kill_after: int) -> subprocess.CompletedProcess[str]:
    """Publish as `tamizdat publish` does, through a store that SIGKILLs the process right
    after its ``kill_after``-th completed upload (support.killing)."""
    return run_killing("publish", str(site), str(kill_after))


@pytest.mark.parametrize("backend", ["s3", "sftp"])
def test_sigkill_at_many_points_leaves_old_or_new_and_rerun_completes(
    tmp_path: Path,
    backend: str,
    rclone_s3,
    sshd_server,  # type: ignore[no-untyped-def]
) -> None:
    for k in KILL_POINTS:
        case = tmp_path / f"k{k}"
        mirror: Path | Reader
        if backend == "s3":  # read through the S3 API, as a client of the bucket would
            bucket = rclone_s3.bucket(f"kill-{k}")
            url, mirror = f"s3://{bucket}/m", s3_reader(rclone_s3, f"{bucket}/m")
        else:
            mirror = case / "sftp"
            url = sshd_server.url(mirror)
        site = write_site(
            case / "site", [{"name": backend, "url": url, "public_url": "https://m.example/"}]
        )
        release = site / "release"
        write_release(release, 1, article_files(1, count=12))
        publish_in_process(site)
        write_release(release, 2, article_files(2, count=12, changed=6))
        killed = run_publish(site, k)
        assert killed.returncode == -9, (k, killed.stderr)
        seen = served_version(mirror, release, complete=k >= TOTAL_UPLOADS)
        assert seen == (2 if k >= TOTAL_UPLOADS else 1), (
            f"killed after {k} uploads, mirror serves {seen}"
        )
        report = publish_in_process(site)["mirrors"][0]
        # Only what the killed run had not finished goes up again (plus the one upload it
        # finished but had not yet journaled when killed): never the whole release.
        assert report["uploaded_objects"] <= TOTAL_UPLOADS - k + 1, (k, report)
        assert served_version(mirror, release) == 2


def test_mirror_vanishing_mid_publish_fails_alone(
    tmp_path: Path,
    rclone_s3,
    s3_server_factory,  # type: ignore[no-untyped-def]
) -> None:
    doomed = s3_server_factory()
    bucket = doomed.bucket("doomed")
    site = write_site(
        tmp_path / "site",
        [
            {
                "name": "steady",
                "url": f"file://{tmp_path / 'steady'}",
                "public_url": "https://a.example/",
            },
            {
                "name": "doomed",
                "url": f"s3://{bucket}/m",
                "public_url": "https://b.example/",
                "options": {"endpoint_url": doomed.endpoint},
            },
        ],
    )
    release = site / "release"
    write_release(release, 1, article_files(1, count=12))
    config = load_config(site)

    def progress(task: str, done: int, total: int | None, detail: str = "") -> None:
        if task == "doomed" and done == 5:
            doomed.proc.kill()

    report = publish_release(
        release,
        config.mirrors,
        open_store=lambda m: open_store(m, base_dir=site),
        progress=progress,
        max_workers_per_mirror=1,
        retry=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.02),
    )
    assert [m.name for m in report.failed] == ["doomed"]
    assert "doomed" in (report.failed[0].error or "")
    assert not (doomed.root / bucket / "m/.well-known/tamizdat/metadata/timestamp.json").exists()
    assert served_version(tmp_path / "steady", release) == 1


def test_mirror_answering_errors_is_named_and_others_finish(
    tmp_path: Path,
    rclone_s3,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    from tamizdat.cli import main

    bucket = rclone_s3.bucket("denied")
    site = write_site(
        tmp_path / "site",
        [
            {
                "name": "good",
                "url": f"file://{tmp_path / 'good'}",
                "public_url": "https://a.example/",
            },
            {"name": "denied", "url": f"s3://{bucket}/m", "public_url": "https://b.example/"},
        ],
    )
    write_release(site / "release", 1, article_files(1, count=3))
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
    code = main(["-C", str(site), "--json", "publish"])
    report = json.loads(capsys.readouterr().out)
    assert code == 2  # wrong credentials: the user must act, the mirror is not unreachable
    assert report["failed"] == ["denied"]
    assert "mirror denied" in report["mirrors"][1]["error"]
    assert "permission denied" in report["mirrors"][1]["error"]
    assert served_version(tmp_path / "good", site / "release") == 1


def test_sigkill_in_a_per_mirror_worker_kills_the_publish_and_rerun_completes(
    tmp_path: Path,
) -> None:
    names = ("east", "west")
    site = write_site(
        tmp_path / "site",
        [
            {"name": n, "url": f"file://{tmp_path / n}", "public_url": f"https://{n}.example/"}
            for n in names
        ],
    )
    release = site / "release"
    write_release(release, 1, article_files(1, count=12))
    publish_in_process(site)
    write_release(release, 2, article_files(2, count=12, changed=6))
    killed = run_publish(site, 9)  # two forked workers: the first to reach 9 uploads kills all
    assert killed.returncode == -9, killed.stderr
    for name in names:
        assert served_version(tmp_path / name, release, complete=False) == 1, name
    publish_in_process(site)
    for name in names:
        assert served_version(tmp_path / name, release) == 2, name
