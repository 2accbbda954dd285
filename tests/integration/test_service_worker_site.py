"""The whole pipeline in the browser: a site built by ``tamizdat build`` (the default theme, its
status marker and register script), signed by the real signer with the signed mirror list,
served from a loopback origin and mirror, read in Chromium through the service worker.

With ``TAMIZDAT_SCREENSHOTS=1`` the test also writes the reader's view of each state to
``docs/screenshots/`` (the README shows them); the assertions are the same either way.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from support.browser import browser_context
from support.content_site import BASE_TOML, article, make_site
from support.sw_site import FORGED, Origin
from tamizdat.config import Config
from tamizdat.layout import MIRRORS_JSON
from tamizdat.publish.mirrorlist import mirror_list_files
from tamizdat.render.build import build_site
from tamizdat.trust.sign.keys import init_keys, read_fingerprint
from tamizdat.trust.sign.signing import sign_release

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
BODY = "The river rose two metres overnight; the district council met at dawn."


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Origin, Origin]]:
    origin, mirror = Origin(tmp_path / "origin"), Origin(tmp_path / "mirror")
    origin.start()
    mirror.start()
    yield origin, mirror
    origin.kill()
    mirror.kill()


def _signed_site(root: Path, origin: Origin, mirror: Origin) -> tuple[Config, Path]:
    toml = BASE_TOML.replace("[site]\n", '[site]\nbase_url = "https://news.example/"\n')
    toml += '[signing]\nkeys_dir = "keys"\nrelease_dir = "release"\n'
    for name, server in (("origin", origin), ("mirror", mirror)):
        toml += (
            f'\n[[mirrors]]\nname = "{name}"\nurl = "s3://bucket/{name}"\n'
            f'public_url = "{server.url}"\ncreated = "2026-01-02"\n'
        )
    files = {"content/en/flood.md": article("Flood in the valley", body=BODY)}
    config = make_site(root, files, toml=toml)
    os.environ["TAMIZDAT_DEMO_KEYS"] = "1"
    init_keys(config, demo=True)
    listed = json.loads(mirror_list_files(config)[MIRRORS_JSON])["mirrors"]
    mirrors = tuple(m["public_url"] for m in listed)
    build_site(config, fingerprint=read_fingerprint(config), mirrors=mirrors)
    release = config.signing.release_dir
    sign_release(
        config,
        public_dir=config.build.output_dir,
        release_dir=release,
        extra_files=mirror_list_files(config),
        allow_demo=True,
    )
    return config, release


def _shoot(page: Any, name: str) -> None:
    if os.environ.get("TAMIZDAT_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size({"width": 720, "height": 420})
        page.screenshot(path=str(SHOTS / f"{name}.png"))


def _restart_workers(page: Any) -> None:
    session = page.context.new_cdp_session(page)
    session.send("ServiceWorker.enable")
    session.send("ServiceWorker.stopAllWorkers")
    session.detach()


def test_a_built_and_signed_site_is_verified_refused_and_read_offline_in_the_browser(
    browser: Any, servers: tuple[Origin, Origin], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAMIZDAT_DEMO_KEYS", "1")
    origin, mirror = servers
    config, release = _signed_site(tmp_path / "site", origin, mirror)
    for server in servers:
        shutil.copytree(release, server.root, dirs_exist_ok=True)
    page_path = next(
        p.relative_to(release).as_posix()
        for p in release.rglob("index.html")
        if "Flood in the valley" in p.read_text(encoding="utf-8") and "/flood" in p.as_posix()
    )
    url = origin.url + page_path.removesuffix("index.html")
    with browser_context(browser, locale="en-GB") as context:
        page = context.new_page()
        page.goto(url)
        assert page.text_content(".tz-status") == "Unverified copy — how to check"
        _shoot(page, "unverified")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=30_000)
        page.reload()
        assert page.get_attribute(".tz-status", "data-tz-state") == "verified"
        assert (page.text_content(".tz-status") or "").startswith(
            "Verified · release 1 · published "
        )
        assert BODY in (page.text_content("main") or "")
        _shoot(page, "verified")

        # A page not visited yet (a visited one comes from the verified cache, untouched).
        origin.mode = "tamper"
        _restart_workers(page)
        page.goto(origin.url + "en/")
        assert "Flood in the valley" in (page.text_content("main") or "")
        assert FORGED not in page.content()
        assert page.get_attribute(".tz-status", "data-tz-state") == "verified refused"
        assert f"the copy from {origin.url[7:-1]} was altered and refused" in (
            page.text_content(".tz-status") or ""
        )
        _shoot(page, "refused")

        origin.kill()
        mirror.kill()
        _restart_workers(page)
        page.goto(url)
        assert page.get_attribute(".tz-status", "data-tz-state") == "offline"
        assert BODY in (page.text_content("main") or "")
        _shoot(page, "offline")
    assert config.build.output_dir.joinpath("sw.js").is_file()
