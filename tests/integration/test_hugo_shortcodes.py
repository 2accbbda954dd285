"""A Hugo site whose posts use shortcodes builds through ``tamizdat build``.

The site is ``tests/fixtures/hugo-site`` plus one post with every translated shortcode and
a photo carrying EXIF, GPS and XMP. What is shown: the figure's photo is served re-encoded
without its metadata, embeds are links (and the build says so), ``highlight`` is a code
block, ``ref`` is a relative link, an escaped shortcode is printed; and a post with an
unknown shortcode stops the build with exit 2 naming FILE:LINE and the shortcode, leaving
the previous ``public/`` as it was.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shutil
from pathlib import Path

import pytest

from support.media import SECRET_DEVICE, SECRET_NAME, exiftool_json, photo_with_exif
from tamizdat.cli import main

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "hugo-site"

POST = """\
---
title: "Shortcodes carried over"
date: 2025-04-01T10:00:00Z
---

Opening paragraph.

{{< figure src="/images/secret.jpg" alt="The square" caption="The square at noon" >}}

{{< youtube dQw4w9WgXcQ >}}

{{< highlight python >}}
print("hi")
{{< /highlight >}}

Back to [the archive post]({{< relref "a.md" >}}).

Write {{</* figure src="x.jpg" */>}} to show a figure.
"""

pytestmark = pytest.mark.integration


def tree_hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("hugo-shortcodes") / "site"
    shutil.copytree(FIXTURE, site, ignore=shutil.ignore_patterns("public", ".tamizdat"))
    (site / "static" / "images" / "secret.jpg").write_bytes(photo_with_exif())
    (site / "content" / "posts" / "shortcodes.md").write_text(POST, encoding="utf-8")
    return site


def build(site: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["-C", str(site), "build"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def article_html(public: Path) -> tuple[str, str]:
    (page,) = [p for p in public.rglob("index.html") if "shortcodes-carried-over" in p.as_posix()]
    rel = page.relative_to(public).as_posix()
    return rel, page.read_text(encoding="utf-8")


def test_shortcodes_build_natively(built: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = built
    code, output = build(site, capsys)
    assert code == 0, output
    assert "content/posts/shortcodes.md:10" in output
    assert "youtube" in output
    assert "third party" in output
    rel, html = article_html(site / "public")
    figure = re.search(r"<figure>.*?</figure>", html, re.DOTALL)
    assert figure, "no <figure>"
    assert "<figcaption>The square at noon</figcaption>" in figure.group(0)
    assert 'alt="The square"' in figure.group(0)
    assert '<a href="https://www.youtube.com/watch?v=dQw4w9WgXcQ"' in html
    assert "<iframe" not in html
    assert re.search(r'<code class="language-python">print\((?:"|&quot;)hi', html)
    assert 'Write {{&lt; figure src="x.jpg" &gt;}} to show' in html
    assert "{{%" not in html
    assert "/*" not in html
    link = re.search(r'<a href="([^"]+)"[^>]*>the archive post</a>', html)
    assert link, "relref link missing"
    target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), link.group(1)))
    assert (site / "public" / target).is_file()
    assert "Moving the archive over" in (site / "public" / target).read_text(encoding="utf-8")


def test_figure_photo_is_reencoded_without_metadata(
    built: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = built
    code, output = build(site, capsys)
    assert code == 0, output
    rel, html = article_html(site / "public")
    figure = re.search(r"<figure>.*?</figure>", html, re.DOTALL)
    assert figure
    sources = re.findall(r'(?:src|srcset)="([^"]+)"', figure.group(0))
    files = {s.strip().split(" ")[0] for src in sources for s in src.split(",")}
    assert files
    original = hashlib.sha256((site / "static/images/secret.jpg").read_bytes()).hexdigest()
    for name in files:
        path = site / "public" / posixpath.normpath(posixpath.join(posixpath.dirname(rel), name))
        data = path.read_bytes()
        assert hashlib.sha256(data).hexdigest() != original
        assert SECRET_NAME.encode() not in data
        assert SECRET_DEVICE.encode() not in data
        tags = json.dumps(exiftool_json(path))
        assert SECRET_NAME not in tags
        assert SECRET_DEVICE not in tags
        assert "GPS" not in tags


@pytest.mark.parametrize(
    ("body", "line", "name"),
    [
        ("Text.\n\n{{< notice warning >}}\nCareful.\n{{< /notice >}}\n", 7, "notice"),
        ('{{% callout type="info" %}}x{{% /callout %}}\n', 5, "callout"),
        ('See [x]({{< ref "no-such-post.md" >}}).\n', 5, "no-such-post.md"),
    ],
)
def test_unknown_shortcode_stops_the_build_and_keeps_public(
    built: Path,
    capsys: pytest.CaptureFixture[str],
    body: str,
    line: int,
    name: str,
) -> None:
    site = built
    code, output = build(site, capsys)
    assert code == 0, output
    before = tree_hashes(site / "public")
    bad = site / "content" / "posts" / "bad.md"
    bad.write_text(f"---\ntitle: Bad\ndate: 2025-04-02\n---\n{body}", encoding="utf-8")
    try:
        code, output = build(site, capsys)
    finally:
        bad.unlink()
    assert code == 2, output
    assert f"content/posts/bad.md:{line}" in output
    assert repr(name) in output
    assert tree_hashes(site / "public") == before
