"""What a build publishes for browsers: the worker (anchored to the publisher's fingerprint,
only once there is one), the page scripts, the status marker on every page, the verify
page's in-browser check and the static /mirrors/ page, all under the site's CSP."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from support.content_site import BASE_TOML, article, make_site
from tamizdat.cli import main
from tamizdat.errors import ConfigError
from tamizdat.render.build import build_site
from tamizdat.site_policy import CSP
from tamizdat.web import page_script, worker_script

FINGERPRINT = "ab" * 32
MIRRORS = """
[[mirrors]]
name = "cdn1"
url = "s3://bucket/site"
public_url = "https://cdn1.example/"
created = "2026-01-02"

[[mirrors]]
name = "hidden"
url = "s3://bucket/hidden"
public_url = "https://hidden.example/"
listed = false
created = "2026-01-02"
"""


def _build(tmp_path: Path, fingerprint: str | None) -> Path:
    toml = BASE_TOML.replace("[site]\n", '[site]\nbase_url = "https://news.example/"\n') + MIRRORS
    config = make_site(tmp_path / "site", {"content/en/a.md": article("Alpha")}, toml=toml)
    build_site(config, fingerprint=fingerprint, mirrors=("https://cdn1.example/",))
    return config.build.output_dir


def test_a_signed_site_publishes_the_anchored_worker_and_the_scripts(tmp_path: Path) -> None:
    public = _build(tmp_path, FINGERPRINT)
    worker = (public / "sw.js").read_bytes()
    first, _, bundle = worker.partition(b"\n")
    config = json.loads(first.removeprefix(b"var TAMIZDAT = ").removesuffix(b";"))
    assert config == {"anchor": FINGERPRINT, "site": "https://news.example/", "csp": CSP}
    assert bundle.startswith(b"// tamizdat sw.js: generated from web/src/sw/worker.js")
    for name in ("tz-register.js", "tz-verify.js", "tz-ed25519.js"):
        assert (public / "assets" / name).read_bytes() == page_script(name)


def test_an_unsigned_site_has_no_worker_but_the_same_pages(tmp_path: Path) -> None:
    public = _build(tmp_path, None)
    assert not (public / "sw.js").exists()
    assert (public / "assets" / "tz-register.js").is_file()


def test_every_page_carries_the_static_marker_and_the_register_script(tmp_path: Path) -> None:
    public = _build(tmp_path, FINGERPRINT)
    pages = sorted(public.rglob("*.html"))
    assert len(pages) > 5
    for page in pages:
        html = page.read_text(encoding="utf-8")
        # A 404 page is served at any missing address, however deep: its links start from
        # the site's root path (base_url's path), every other page's are relative.
        depth = len(page.relative_to(public).parts) - 1
        root = "/" if page.name == "404.html" else "../" * depth
        marker = re.search(
            r'<p class="tz-status"[^>]*><!--tz-status-->(.*?)<!--/tz-status-->', html
        )
        assert marker, page
        assert "Unverified copy — how to check" in marker.group(
            1
        ) or "Непроверенная копия" in marker.group(1)
        assert f'<script src="{root}assets/tz-register.js" defer></script>' in html, page
        assert "worker-src 'self'" in html


def test_the_russian_marker_carries_russian_status_templates(tmp_path: Path) -> None:
    public = _build(tmp_path, FINGERPRINT)
    html = (public / "ru" / "verify" / "index.html").read_text(encoding="utf-8")
    assert 'data-tz-verified="Проверено · выпуск {release} · опубликован {date}"' in html
    assert '<form id="tz-verify"' in html
    assert "assets/tz-verify.js" in html


def test_tamizdat_build_lists_the_signed_mirror_list_and_never_an_unlisted_mirror(
    tmp_path: Path,
) -> None:
    toml = BASE_TOML.replace("[site]\n", '[site]\nbase_url = "https://news.example/"\n') + MIRRORS
    config = make_site(tmp_path / "site", {"content/en/a.md": article("Alpha")}, toml=toml)
    assert main(["-q", "-C", str(tmp_path / "site"), "build"]) == 0
    html = (config.build.output_dir / "mirrors" / "index.html").read_text(encoding="utf-8")
    assert '<a href="https://cdn1.example/">https://cdn1.example/</a>' in html
    assert "hidden.example" not in html


@pytest.mark.parametrize(
    ("fingerprint", "site"),
    [
        ("AB" * 32, "https://news.example/"),
        ("ab" * 31, "https://news.example/"),
        ('ab";alert(1);"' + "a" * 50, "https://news.example/"),
        (FINGERPRINT, "javascript:alert(1)"),
        (FINGERPRINT, "news.example"),
        (FINGERPRINT, "ftp://news.example/"),
    ],
)
def test_the_worker_refuses_a_malformed_anchor_or_address(fingerprint: str, site: str) -> None:
    with pytest.raises(ConfigError, match="expected"):
        worker_script(fingerprint, site)


def test_the_worker_config_is_one_json_line_whatever_the_address_holds() -> None:
    worker = worker_script(FINGERPRINT, 'https://news.example/a"b</script>\u2028/')
    first = worker.split(b"\n", 1)[0]
    assert json.loads(first.removeprefix(b"var TAMIZDAT = ").removesuffix(b";"))["site"].endswith(
        "/"
    )
