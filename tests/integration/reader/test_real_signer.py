"""End to end with the publisher's real signer: sign twice, bundle, delta, import, sync."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tamizdat.cli import main
from tamizdat.reader.store import Store

pytestmark = pytest.mark.integration


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    capsys.readouterr()
    code = main(["--json", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_signed_site_travels_by_bundle_and_mirror(
    tmp_path: Path, serve_dir: Callable[[Path], str], capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site"
    (site / "public" / "articles" / "a1").mkdir(parents=True)
    (site / "tamizdat.toml").write_text(
        '[site]\ntitle = "E2E News"\nbase_url = "https://e2e.example/"\n[signing]\nkeys_dir = "keys"\n'
    )
    (site / "public" / "index.html").write_text('<html lang="en"><body>home</body></html>')
    page = site / "public" / "articles" / "a1" / "index.html"
    page.write_text("<html><body>first</body></html>")
    assert main(["-q", "-C", str(site), "keys", "init", "--demo"]) == 0
    assert main(["-q", "-C", str(site), "sign", "--demo"]) == 0
    fingerprint = (
        __import__("hashlib")
        .sha256((site / "release/.well-known/tamizdat/metadata/1.root.json").read_bytes())
        .hexdigest()
    )
    assert main(["-q", "-C", str(site), "bundle", "-o", str(tmp_path / "v1.zip")]) == 0
    page.write_text("<html><body>corrected</body></html>")
    assert main(["-q", "-C", str(site), "sign", "--demo"]) == 0
    code, delta = _json(
        capsys, "-C", str(site), "bundle", "-o", str(tmp_path / "d.zip"), "--since", "1"
    )
    assert code == 0
    assert delta["release"] == 2
    code, full = _json(capsys, "-C", str(site), "bundle", "-o", str(tmp_path / "full2.zip"))
    # Unchanged roles keep their versioned file, which a reader of release 1 holds already.
    assert delta["counts"]["objects"] < full["counts"]["objects"]
    assert delta["counts"]["metadata"] < full["counts"]["metadata"]
    home = str(tmp_path / "home")
    code, first = _json(
        capsys, "reader", "add", "news", "--from-bundle", str(tmp_path / "v1.zip"),
        "--fingerprint", fingerprint, "--store-dir", home,
    )  # fmt: skip
    assert code == 0
    assert first["version"] == 1
    code, second = _json(
        capsys, "reader", "import", "news", str(tmp_path / "d.zip"), "--store-dir", home
    )
    assert code == 0
    assert second["version"] == 2
    store = Store.open("news", home)
    assert b"corrected" in store.read("articles/a1/index.html")
    # The signed mirror list and log travel too; a mirror sync afterwards is a no-op.
    code, _ = _json(capsys, "reader", "add", "m", "--mirror", serve_dir(site / "release"),
                    "--fingerprint", fingerprint, "--store-dir", home)  # fmt: skip
    code, synced = _json(capsys, "reader", "sync", "m", "--store-dir", home)
    assert code == 0
    assert synced["outcome"] == "current"
    assert synced["version"] == 2
    info = Store.open("news", home).release
    assert info is not None
    assert info.published is not None  # from the signed publication log
