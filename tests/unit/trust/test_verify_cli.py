"""`tamizdat verify`: outcomes, exit codes, --json, --page; over a directory, HTTP and memory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from support.loopback import QuietDirectoryHandler, serving
from support.tuf_release import ReleaseFactory, now, sample_files
from tamizdat.cli import main
from tamizdat.errors import TamperedError
from tamizdat.trust.sources import DirectorySource, HttpSource, MissingFileError
from tamizdat.trust.verify import verify_release, verify_release_report

PAGE = "news/2026/election/index.html"


@pytest.fixture
def release_dir(tmp_path: Path) -> tuple[Path, str]:
    publisher = ReleaseFactory.newsroom()
    release = publisher.publish(sample_files())
    return release.write(tmp_path / "release"), release.fingerprint


def _run(capsys, *argv: str) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_current_release_exit_0(release_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path, fp = release_dir
    code, out = _run(
        capsys, "verify", str(path), "--fingerprint", fp, "--state-dir", str(tmp_path / "s")
    )
    assert code == 0
    assert out.startswith("authentic and current: release 1, published ")


def test_tampered_page_exit_5_names_file_and_source(release_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path, fp = release_dir
    (path / PAGE).write_bytes(b"<p>forged</p>")
    code, out = _run(
        capsys, "verify", str(path), "--fingerprint", fp, "--state-dir", str(tmp_path / "s")
    )
    assert code == 5
    assert out.startswith(f"TAMPERED: {PAGE} differs from the signed copy")
    assert f"(source {path}: {PAGE})" in out


def test_wrong_fingerprint_exit_6_json(release_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path, _ = release_dir
    code, out = _run(
        capsys,
        "--json",
        "verify",
        str(path),
        "--fingerprint",
        "ab" * 32,
        "--state-dir",
        str(tmp_path),
    )
    assert code == 6
    assert json.loads(out)["outcome"] == "not-this-publisher"


def test_rollback_exit_4_and_stale_exit_3(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    publisher = ReleaseFactory.newsroom()
    old = publisher.publish(sample_files("one")).write(tmp_path / "old")
    new = publisher.publish(
        sample_files("two"), timestamp_expires=now() - timedelta(minutes=5)
    ).write(tmp_path / "new")
    state = str(tmp_path / "state")
    code, out = _run(
        capsys, "verify", str(new), "--fingerprint", publisher.fingerprint, "--state-dir", state
    )
    assert code == 3
    assert out.startswith("authentic but STALE: release 2, published ")
    assert "possibly outdated (timestamp expired" in out
    code, out = _run(
        capsys, "verify", str(old), "--fingerprint", publisher.fingerprint, "--state-dir", state
    )
    assert code == 4
    assert out.startswith("ROLLBACK refused: expected timestamp version 2 or newer")


def test_missing_source_is_user_error(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["verify", str(tmp_path / "nothing"), "--fingerprint", "ab" * 32])
    assert code == 2
    assert "expected a release directory, a bundle file" in capsys.readouterr().err


def test_page_signed_and_not_signed(release_dir, tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    path, fp = release_dir
    copy = tmp_path / "saved.html"
    check = ["--page", str(copy), "--against", str(path), "--fingerprint", fp]
    check += ["--state-dir", str(tmp_path / "s")]
    copy.write_bytes((path / PAGE).read_bytes())
    code, out = _run(capsys, "verify", *check)
    assert code == 0
    assert f"signed by this publisher as {PAGE} in release 1, first in release 1" in out
    copy.write_bytes(b"<p>election report one, edited by a censor</p>")
    code, out = _run(capsys, "--json", "verify", *check)
    assert code == 5
    assert json.loads(out)["signed"] is False


@pytest.fixture
def http_release(release_dir) -> Iterator[tuple[str, str, Path]]:  # type: ignore[no-untyped-def]
    path, fp = release_dir
    with serving(partial(QuietDirectoryHandler, directory=str(path))) as url:
        yield url, fp, path


@pytest.mark.integration
def test_http_mirror_verified_and_sampled(http_release) -> None:  # type: ignore[no-untyped-def]
    url, fp, path = http_release
    report = verify_release(HttpSource(url), fingerprint=fp, check="sample", sample_size=2, seed=1)
    assert report.outcome == "current"
    assert report.files_checked == 3  # two sampled files plus the log, always checked
    role = path / ".well-known/tamizdat/metadata/1.news.json"
    forged = json.loads(role.read_bytes())
    forged["signed"]["expires"] = "2099-01-01T00:00:00Z"  # still metadata, no longer signed
    role.write_text(json.dumps(forged))
    assert verify_release_report(HttpSource(url), fingerprint=fp).outcome == "tampered"


@pytest.mark.integration
def test_http_missing_file_and_oversize(http_release) -> None:  # type: ignore[no-untyped-def]
    url, _, _ = http_release
    source = HttpSource(url)
    with pytest.raises(MissingFileError, match="HTTP 404"):
        source.fetch("nothing.html", 100)
    with pytest.raises(Exception, match="expected at most 3 bytes"):
        source.fetch("index.html", 3)


def test_directory_source_refuses_traversal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(MissingFileError, match="outside the release"):
        DirectorySource(tmp_path).fetch("../etc/passwd", 100)


def test_natural_copy_not_checked_when_disabled(release_dir) -> None:  # type: ignore[no-untyped-def]
    path, fp = release_dir
    (path / PAGE).write_bytes(b"<p>forged</p>")
    assert verify_release(DirectorySource(path), fingerprint=fp, natural=False).outcome == "current"
    with pytest.raises(TamperedError):
        verify_release(DirectorySource(path), fingerprint=fp)
