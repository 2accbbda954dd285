"""``tamizdat publish`` to a local folder, rclone's S3 server and OpenSSH's SFTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from publish_helpers import served_version, write_site
from releasekit import article_files, write_release

from tamizdat.cli import main

pytestmark = pytest.mark.integration


def three_mirror_site(
    tmp_path: Path, rclone_s3, sshd_server, name: str
) -> tuple[Path, dict[str, Path]]:  # type: ignore[no-untyped-def]
    bucket = rclone_s3.bucket(name)
    sftp_dir = tmp_path / "sftp-root"
    site = write_site(
        tmp_path / "site",
        [
            {
                "name": "local",
                "url": f"file://{tmp_path / 'local'}",
                "public_url": "https://a.example/",
            },
            {"name": "s3", "url": f"s3://{bucket}/site", "public_url": "https://b.example/"},
            {"name": "vps", "url": sshd_server.url(sftp_dir), "public_url": "https://c.example/"},
        ],
    )
    dirs = {"local": tmp_path / "local", "s3": rclone_s3.root / bucket / "site", "vps": sftp_dir}
    return site, dirs


def publish_json(site: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["-C", str(site), "--json", "publish", *extra])
    return code, json.loads(capsys.readouterr().out)


def test_publish_then_incremental_republish_on_all_backends(
    tmp_path: Path,
    rclone_s3,
    sshd_server,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    site, dirs = three_mirror_site(tmp_path, rclone_s3, sshd_server, "backends")
    release = site / "release"
    files = write_release(release, 1, article_files(1, count=12))
    code, report = publish_json(site, capsys)
    assert code == 0, report
    for name, folder in dirs.items():
        assert served_version(folder, release) == 1, name
        assert {p for p in files if (folder / p).is_file()} == set(files), name
    first = {m["name"]: m["uploaded_objects"] for m in report["mirrors"]}
    assert first == {"local": len(files) + 1, "s3": len(files) + 1, "vps": len(files) + 1}

    write_release(release, 2, article_files(2, count=12))
    code, report = publish_json(site, capsys)
    assert code == 0, report
    for mirror in report["mirrors"]:
        # two changed pages, their by-hash copies, targets, snapshot, state, timestamp
        assert mirror["uploaded_objects"] == 8, mirror
        assert mirror["uploaded_bytes"] < 100_000
    for folder in dirs.values():
        assert served_version(folder, release) == 2

    code, report = publish_json(site, capsys)
    assert code == 0
    assert [m["uploaded_objects"] for m in report["mirrors"]] == [0, 0, 0]


def test_s3_objects_carry_content_type_and_cache_control(
    tmp_path: Path,
    rclone_s3,
    sshd_server,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    import s3fs

    site, _ = three_mirror_site(tmp_path, rclone_s3, sshd_server, "headers")
    write_release(site / "release", 1, article_files(1, count=2))
    code, _ = publish_json(site, capsys, "--mirror", "s3")
    assert code == 0
    fs = s3fs.S3FileSystem(
        client_kwargs={"endpoint_url": rclone_s3.endpoint}, skip_instance_cache=True
    )
    stamp = fs.info("headers/site/.well-known/tamizdat/metadata/timestamp.json")
    assert stamp["ContentType"] == "application/json"
    page = fs.info("headers/site/index.html")
    assert page["ContentType"].startswith("text/html")


def test_dry_run_lists_per_mirror_and_moves_nothing(
    tmp_path: Path,
    rclone_s3,
    sshd_server,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    site, dirs = three_mirror_site(tmp_path, rclone_s3, sshd_server, "dryrun")
    files = write_release(site / "release", 1, article_files(1, count=3))
    code, report = publish_json(site, capsys, "--dry-run")
    assert code == 0
    for mirror in report["mirrors"]:
        assert set(mirror["paths"]) == set(files)
        assert mirror["planned"]["timestamp"]["objects"] == 1
    assert not any(folder.exists() and any(folder.iterdir()) for folder in dirs.values())


def test_unknown_host_key_is_refused(
    tmp_path: Path, sshd_server, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    monkeypatch.setenv("TAMIZDAT_SSH_KNOWN_HOSTS", str(empty))
    site = write_site(
        tmp_path / "site",
        [
            {
                "name": "vps",
                "url": sshd_server.url(tmp_path / "x"),
                "public_url": "https://c.example/",
            }
        ],
    )
    write_release(site / "release", 1, article_files(1, count=1))
    code, report = publish_json(site, capsys)
    assert code == 7
    assert "host key" in report["mirrors"][0]["error"]
    assert not (tmp_path / "x").exists()
