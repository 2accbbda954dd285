"""A contributor's static file or theme cannot make readers load, run or go elsewhere.

Attacker: a contributor account that can drop files in ``static/``, ``media/`` or the
theme. Each case is a real ``tamizdat build``: it must exit 2 naming the file and what is
wrong, and leave the previous ``public/`` exactly as it was.
"""

from __future__ import annotations

import hashlib
import random
import shutil
from pathlib import Path

import pytest

from support.trees import snapshot
from tamizdat.cli import main
from tamizdat.render.privacy import CSP

DEFAULT_THEME = Path(__file__).parents[2] / "src/tamizdat/themes/default"
PAGE_HEAD = (
    f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
    '<meta name="referrer" content="no-referrer">'
)


def run(site: Path, *args: str) -> int:
    return main(["-C", str(site), "-q", *args])


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("static") / "site"
    assert main(["-q", "init", str(site), "--title", "Static Test"]) == 0
    for n in (1, 2):
        (site / "content" / f"s{n}.md").write_text(
            f"---\ntitle: Story {n}\ndate: 2024-03-0{n}T10:00:00Z\nauthor: editors\n"
            f"lead: The lead of story {n}.\n---\n\nText {n}.\n",
            "utf-8",
        )
    assert run(site, "build") == 0
    return site


@pytest.fixture
def site(built_site: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(built_site, copy, symlinks=True)
    assert run(copy, "build") == 0
    return copy


def theme_article(extra_before_h1: str) -> str:
    text = (DEFAULT_THEME / "templates/article.html").read_text("utf-8")
    return text.replace("<h1>", f"{extra_before_h1}<h1>", 1)


CASES = {
    "svg script": (
        "media/logo.svg",
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "<script>",
    ),
    "svg onload": (
        "static/i.svg",
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        "onload",
    ),
    "svg external use": (
        "static/i.svg",
        '<svg xmlns="http://www.w3.org/2000/svg"><use href="https://t.example/a.svg#i"/></svg>',
        "https://t.example/a.svg#i",
    ),
    "html tracker": (
        "static/about.html",
        f"<!doctype html><html><head>{PAGE_HEAD}</head><body>\n"
        '<img src="https://t.example/pixel.gif" alt=""></body></html>',
        "https://t.example/pixel.gif",
    ),
    "html without CSP": ("media/old.html", "<!doctype html><p>old page</p>", "CSP"),
    "css font": (
        "static/fonts.css",
        "@font-face{src:u\\rl(https://t.example/f.woff2)}",
        "https://t.example/f.woff2",
    ),
    "unlisted script": (
        "static/js/extra.js",
        "navigator.sendBeacon('https://t.example')",
        "sha256:",
    ),
    "theme svg": (
        "theme/static/icon.svg",
        '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>',
        "foreignobject",
    ),
    "theme meta refresh without url=": (
        "theme/templates/article.html",
        theme_article('<meta http-equiv="refresh" content="0;https://t.example/">'),
        "https://t.example/",
    ),
    "theme meta refresh spelt oddly": (
        "theme/templates/article.html",
        theme_article("<meta http-equiv=Refresh content=\"0; URL = '&#x68;ttps://t.example/'\">"),
        "https://t.example/",
    ),
}


@pytest.mark.parametrize(("relative", "text", "named"), CASES.values(), ids=list(CASES))
def test_build_refuses_and_keeps_public(
    site: Path, capsys: pytest.CaptureFixture[str], relative: str, text: str, named: str
) -> None:
    before = snapshot(site / "public")
    target = site / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, "utf-8")
    capsys.readouterr()
    assert run(site, "build") == 2
    err = capsys.readouterr().err
    assert Path(relative).name in err, err
    assert named in err, err
    assert snapshot(site / "public") == before


def test_a_script_allowed_by_its_digest_is_published(site: Path) -> None:
    data = b"document.documentElement.classList.add('js')\n"
    (site / "static/js").mkdir(parents=True)
    (site / "static/js/map.js").write_bytes(data)
    assert run(site, "build") == 2
    config = site / "tamizdat.toml"
    digest = hashlib.sha256(data).hexdigest()
    config.write_text(
        config.read_text("utf-8")
        + f'\n[build.allow_scripts]\n"static/js/map.js" = "sha256:{digest}"\n',
        "utf-8",
    )
    assert run(site, "build") == 0
    assert (site / "public/js/map.js").read_bytes() == data


def _heavy_theme(site: Path) -> None:
    noise = random.Random(3).randbytes(20_000).hex()  # ~20 KB of gzip however it is compressed
    template = site / "theme/templates/article.html"
    template.parent.mkdir(parents=True, exist_ok=True)
    template.write_text(theme_article(f'<nav data-noise="{noise}"></nav>'), "utf-8")


def test_first_screen_budget_fails_the_build_by_default(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(site / "public")
    _heavy_theme(site)
    capsys.readouterr()
    assert run(site, "build") == 2
    err = capsys.readouterr().err
    assert "/story-1/index.html" in err or "/story-2/index.html" in err, err
    assert "bytes of gzip" in err, err
    assert "budget is 14336 bytes" in err, err
    assert snapshot(site / "public") == before


def test_first_screen_budget_warns_when_configured(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _heavy_theme(site)
    config = site / "tamizdat.toml"
    config.write_text(
        config.read_text("utf-8").replace("[build]\n", '[build]\nbudget = "warn"\n', 1), "utf-8"
    )
    capsys.readouterr()
    assert main(["-C", str(site), "build"]) == 0  # not quiet: warnings are shown
    err = capsys.readouterr().err
    for n in (1, 2):
        assert f"/story-{n}/index.html: the headline and lead end" in err, err
    assert "budget is 14336 bytes" in err
    # Switching back to "fail" re-checks the pages the warn build published.
    config.write_text(
        config.read_text("utf-8").replace('budget = "warn"', 'budget = "fail"'), "utf-8"
    )
    assert run(site, "build") == 2
