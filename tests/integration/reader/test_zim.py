"""ZIM export: validated by Debian's zimcheck, served by kiwix-serve, checked against the release.

Debian's zim-tools link libzim 8, while python-libzim 3.x writes with libzim 9, which no
longer writes the deprecated "full title index"; zimcheck 3.1's low-level integrity test (-I)
reports that as an error. So the integrity check is done by libzim 9's own ``Archive.check``
and zimcheck runs every other test (checksum, metadata, favicon, main page, redundancy,
internal URLs, redirect loops, empty content).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from support.tuf_release import ReleaseFactory, sample_site
from tamizdat.channels.zim import SIG_SUFFIX, ZimInfo, export_zim, verify_zim
from tamizdat.cli import main
from tamizdat.errors import NotThisPublisherError, TamperedError

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not shutil.which("zimcheck"), reason="Debian zim-tools not installed"),
]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    base = tmp_path_factory.mktemp("zim")
    factory = ReleaseFactory.articles()
    factory.publish(sample_site()).write(base / "release")
    (base / "tamizdat.toml").write_text(
        '[site]\ntitle = "Exile News"\n[languages.en]\ndescription = "News from abroad"\n'
        '[signing]\nrelease_dir = "release"\n'
    )
    assert main(["-q", "-C", str(base), "zim", "-o", str(base / "news.zim")]) == 0
    return factory, base / "news.zim"


def test_zimcheck_accepts_the_export(exported: tuple[Any, Path]) -> None:
    from libzim.reader import Archive

    _, zim = exported
    archive = Archive(str(zim))
    assert archive.check()
    assert archive.main_entry.get_item().path == "index.html"
    assert archive.get_metadata("Language") == b"eng"
    assert archive.has_illustration(48)
    result = subprocess.run(
        ["zimcheck", "-C", "-M", "-F", "-P", "-R", "-U", "-L", "-0", "-J", str(zim)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["status"] is True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.skipif(not shutil.which("kiwix-serve"), reason="Debian kiwix-tools not installed")
def test_kiwix_serve_serves_a_page(exported: tuple[Any, Path]) -> None:
    _, zim = exported
    port = _free_port()
    server = subprocess.Popen(
        ["kiwix-serve", "-i", "127.0.0.1", "-p", str(port), str(zim)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/{zim.stem}/articles/a2/index.html"
        page = b""
        for _ in range(50):
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    page = response.read()
                break
            except OSError:
                time.sleep(0.1)
        assert b"Report number 2" in page
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_entries_verify_against_the_signed_release(exported: tuple[Any, Path]) -> None:
    factory, zim = exported
    result = verify_zim(zim, factory.fingerprint)
    assert result["entries"] == 7
    assert result["release"] == 1
    assert result["file_sha256_matches"]
    with pytest.raises(NotThisPublisherError):
        verify_zim(zim, "00" * 32)


def test_forged_entry_is_caught(exported: tuple[Any, Path], tmp_path: Path) -> None:
    factory, zim = exported
    sig = json.loads(zim.with_name(zim.name + SIG_SUFFIX).read_text())
    # A ZIM built from other bytes, paired with the genuine signature file.
    fake_release = tmp_path / "fake"
    ReleaseFactory.articles().publish(sample_site(edition="forged")).write(fake_release)
    fake = tmp_path / "news.zim"
    info = ZimInfo("Exile News", "en", "x", "x", "x", "x")
    export_zim(fake_release, fake, info)
    fake.with_name(fake.name + SIG_SUFFIX).write_text(json.dumps(sig))
    with pytest.raises(TamperedError, match="differs from the signed copy"):
        verify_zim(fake, factory.fingerprint)


def test_export_refuses_a_corrupt_object(tmp_path: Path) -> None:
    release = tmp_path / "release"
    ReleaseFactory.articles().publish(sample_site()).write(release)
    for obj in (release / ".well-known/tamizdat/targets/articles/a0").iterdir():
        obj.write_bytes(b"rotten")
    with pytest.raises(TamperedError):
        export_zim(release, tmp_path / "x.zim", ZimInfo("t", "en", "c", "p", "d", "n"))
    assert not (tmp_path / "x.zim").exists()
