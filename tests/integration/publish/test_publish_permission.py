"""A mirror that refuses us (wrong credentials) is a user/configuration error: said once,
naming the mirror, exit code 2 — not "unreachable", and not retried."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from publish_helpers import write_site
from releasekit import article_files, write_release

from tamizdat.cli import main

pytestmark = pytest.mark.integration


def test_wrong_credentials_are_reported_once_as_a_user_error(
    tmp_path: Path,
    rclone_s3,  # type: ignore[no-untyped-def]
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bucket = rclone_s3.bucket("permission")
    site = write_site(
        tmp_path / "site",
        [
            {"name": "locked", "url": f"s3://{bucket}/site", "public_url": "https://b.example/"},
            {
                "name": "disk",
                "url": f"file://{tmp_path / 'disk'}",
                "public_url": "https://a.example/",
            },
        ],
    )
    write_release(site / "release", 1, article_files(1, count=2))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "not-our-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-our-secret")

    assert main(["-C", str(site), "publish"]) == 2
    captured = capsys.readouterr()
    both = captured.out + captured.err
    assert both.count("permission denied") == 1
    assert "locked: FAILED: mirror locked:" in captured.out
    assert "WARNING" not in captured.err
    assert "disk: uploaded" in captured.out  # the other mirror is not held up

    assert main(["-C", str(site), "--json", "publish", "--mirror", "locked"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["mirrors"][0]["exit_code"] == 2
    assert report["failed"] == ["locked"]
