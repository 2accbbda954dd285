"""``tamizdat mirrors check`` over real HTTP mirrors: current, lagging, stale, tampered,
unreachable — with tamizdat's verifier, an HTML page and a history file."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from publish_helpers import write_site
from releasekit import article_files, write_release

from tamizdat.cli import main
from tamizdat.layout import TARGETS_DIR

pytestmark = pytest.mark.integration


def test_mirrors_check_names_every_state(
    tmp_path: Path,
    http_server,
    capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
) -> None:
    www = http_server.root / "check"
    names = ["fresh", "behind", "forged", "frozen"]
    mirrors: list[dict[str, object]] = [
        {"name": n, "url": f"file://{www / n}", "public_url": http_server.mirror_url(f"check/{n}")}
        for n in names
    ]
    mirrors.append(
        {"name": "gone", "url": f"file://{tmp_path / 'gone'}", "public_url": "http://127.0.0.1:9/"}
    )
    site = write_site(tmp_path / "site", mirrors)
    release = site / "release"
    past = datetime.now(UTC) - timedelta(days=1)

    write_release(release, 1, article_files(1, count=4))
    assert main(["-C", str(site), "publish", "--mirror", "behind"]) == 0
    write_release(release, 2, article_files(2, count=4), expires=past)
    assert main(["-C", str(site), "publish", "--mirror", "frozen"]) == 0
    write_release(release, 3, article_files(3, count=4))
    assert main(["-C", str(site), "publish", "--mirror", "fresh", "--mirror", "forged"]) == 0
    # the censor swaps one by-hash article on "forged" for a same-length forgery
    victim = sorted((www / "forged" / TARGETS_DIR / "articles" / "000").iterdir())[0]
    victim.write_bytes(victim.read_bytes().replace(b"article", b"ARTICLE"))
    capsys.readouterr()

    html = tmp_path / "status.html"
    code = main(
        [
            "-C",
            str(site),
            "--json",
            "mirrors",
            "check",
            "--sample",
            "100",
            "--timeout",
            "2",
            "--html",
            str(html),
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    states = {m["name"]: m for m in doc["mirrors"]}
    assert states["fresh"]["state"] == "current"
    assert states["behind"]["state"] == "lagging"
    assert states["behind"]["lagging_by"] == 2
    assert states["frozen"]["state"] == "stale"
    assert states["frozen"]["lagging_by"] == 1
    assert states["forged"]["state"] == "tampered"
    assert "articles/000/index.html" in (states["forged"]["where"] or "") + (
        states["forged"]["problem"] or ""
    )
    assert states["gone"]["state"] == "unreachable"
    assert states["gone"]["problem"]
    assert all(m["latency_ms"] >= 0 for m in doc["mirrors"])
    assert code == 5  # the worst state: tampered
    assert doc["worst"] == "tampered"
    page = html.read_text()
    assert "tampered" in page
    assert "lagging" in page
    assert "fresh" in page

    # the history remembers when "gone" started failing
    first = states["gone"]["failing_since"]
    assert first is not None
    code = main(["-C", str(site), "--json", "mirrors", "check", "--timeout", "2"])
    again = {m["name"]: m for m in json.loads(capsys.readouterr().out)["mirrors"]}
    assert again["gone"]["failing_since"] == first
    assert again["fresh"]["failing_since"] is None
    shutil.rmtree(www)


def test_http_server_sends_cors_headers(http_server) -> None:  # type: ignore[no-untyped-def]
    import urllib.request

    (http_server.root / "cors").mkdir(exist_ok=True)
    (http_server.root / "cors" / "a.txt").write_text("x")
    with urllib.request.urlopen(http_server.mirror_url("cors") + "a.txt", timeout=5) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Vary"] == "Origin"
