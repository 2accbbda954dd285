"""``tamizdat publish`` to a local folder, rclone's S3 server and OpenSSH's SFTP server.

The S3 mirror is read back through the S3 API, as a client of the bucket reads it, never
through rclone's backing folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from publish_helpers import Reader, s3_reader, served_version, write_site
from releasekit import article_files, directory_reader, write_release

from tamizdat.cli import main
from tamizdat.layout import TARGETS_DIR

pytestmark = pytest.mark.integration


def three_mirror_site(
    tmp_path: Path, rclone_s3, sshd_server, name: str
) -> tuple[Path, dict[str, Path | Reader]]:  # type: ignore[no-untyped-def]
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
    mirrors: dict[str, Path | Reader] = {
        "local": tmp_path / "local",
        "s3": s3_reader(rclone_s3, f"{bucket}/site"),
        "vps": sftp_dir,
    }
    return site, mirrors


def reader_of(mirror: Path | Reader) -> Reader:
    return directory_reader(mirror) if isinstance(mirror, Path) else mirror


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
    for name, mirror in dirs.items():
        assert served_version(mirror, release) == 1, name
        read = reader_of(mirror)
        assert {p for p, data in files.items() if read(p) == data} == set(files), name
    first = {m["name"]: m["uploaded_objects"] for m in report["mirrors"]}
    assert first == {"local": len(files) + 1, "s3": len(files) + 1, "vps": len(files) + 1}

    write_release(release, 2, article_files(2, count=12))
    code, report = publish_json(site, capsys)
    assert code == 0, report
    for mirror in report["mirrors"]:
        # two changed pages, their by-hash copies, targets, snapshot, state, timestamp
        assert mirror["uploaded_objects"] == 8, mirror
        assert mirror["uploaded_bytes"] < 100_000
    for mirror in dirs.values():
        assert served_version(mirror, release) == 2

    code, report = publish_json(site, capsys)
    assert code == 0
    assert [m["uploaded_objects"] for m in report["mirrors"]] == [0, 0, 0]


# What a CDN in front of the bucket must be told, by kind of object: by-hash copies never
# change (their name is their hash), versioned metadata never changes either, pages change
# every release, and the timestamp and the unversioned metadata are what clients poll.
EXPECTED_HEADERS = {
    "by-hash": ("public, max-age=31536000, immutable", None),
    ".well-known/tamizdat/metadata/1.snapshot.json": ("public, max-age=86400", "application/json"),
    ".well-known/tamizdat/metadata/1.targets.json": ("public, max-age=86400", "application/json"),
    ".well-known/tamizdat/metadata/timestamp.json": ("no-cache, max-age=0", "application/json"),
    ".well-known/tamizdat/metadata/root.json": ("no-cache, max-age=0", "application/json"),
    ".well-known/tamizdat/publish-state.json": ("no-cache, max-age=0", "application/json"),
    "index.html": ("public, max-age=300", "text/html; charset=utf-8"),
    "articles/001/index.html": ("public, max-age=300", "text/html; charset=utf-8"),
    ".well-known/tamizdat/mirrors.json": ("public, max-age=300", "application/json"),
}


def test_s3_objects_carry_content_type_and_cache_control(
    tmp_path: Path,
    rclone_s3,
    sshd_server,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    import s3fs

    site, _ = three_mirror_site(tmp_path, rclone_s3, sshd_server, "headers")
    files = write_release(site / "release", 1, article_files(1, count=2))
    code, _ = publish_json(site, capsys, "--mirror", "s3")
    assert code == 0
    fs = s3fs.S3FileSystem(
        client_kwargs={"endpoint_url": rclone_s3.endpoint}, skip_instance_cache=True
    )

    def head(path: str) -> tuple[str, str]:
        """Cache-Control and Content-Type of one object, from a HEAD through the S3 API."""
        answer = fs.call_s3("head_object", Bucket="headers", Key=f"site/{path}")
        return answer.get("CacheControl", ""), answer.get("ContentType", "")

    by_hash = sorted(p for p in files if p.startswith(f"{TARGETS_DIR}/"))
    assert len(by_hash) == 4
    for path in by_hash:
        cache, kind = head(path)
        assert cache == EXPECTED_HEADERS["by-hash"][0], path
        # a by-hash copy keeps its target's type, so a browser can show it directly
        expected = "application/json" if path.endswith(".json") else "text/html; charset=utf-8"
        assert kind == expected, path
    for path, (cache, kind) in EXPECTED_HEADERS.items():
        if path == "by-hash":
            continue
        assert path in files or path.endswith("publish-state.json"), path
        assert head(path) == (cache, kind), path


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
    for name, mirror in dirs.items():
        if isinstance(mirror, Path):
            assert not mirror.exists() or not any(mirror.iterdir()), name
        else:
            assert all(mirror(p) is None for p in files), name


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
