"""``tamizdat init`` and ``tamizdat build`` end to end, with the real loader and renderer."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from support.trees import snapshot, tree
from tamizdat.cli import main

EXIFTOOL = "/usr/bin/exiftool"


def run(site: Path, *args: str) -> int:
    return main(["-C", str(site), "-q", *args])


def run_json(site: Path, capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    capsys.readouterr()
    assert main(["-C", str(site), "-q", "--json", *args]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, dict)
    return data


def photo_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SOURCECAMERA"
    exif[0x0110] = "MODEL-X"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (59.0, 56.0, 1.0)
    buffer = io.BytesIO()
    Image.new("RGB", (120, 80), (30, 90, 150)).save(
        buffer, "JPEG", exif=exif.tobytes(), comment=b"source: Ivan"
    )
    return buffer.getvalue()


def write_article(site: Path, n: int, *, tag: str, body: str = "", image: bool = False) -> Path:
    path = site / "content" / f"story-{n}.md"
    image_line = "image: /media/photo.jpg\n" if image else ""
    path.write_text(
        f"---\ntitle: Story number {n}\ndate: 2024-03-{n:02d}T10:00:00Z\nauthor: editors\n"
        f"tags: [{tag}]\n{image_line}---\n\n{body or f'The text of story {n}.'}\n",
        "utf-8",
    )
    return path


def make_site(root: Path) -> Path:
    assert main(["-q", "init", str(root), "--title", "Test Voice"]) == 0
    (root / "media" / "photo.jpg").write_bytes(photo_with_gps())
    for n in range(1, 9):
        write_article(root, n, tag="politics" if n % 2 else "culture", image=n == 3)
    return root


@pytest.fixture(scope="module")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = make_site(tmp_path_factory.mktemp("cli") / "site")
    assert run(site, "build") == 0
    return site


@pytest.fixture
def site(built_site: Path, tmp_path: Path) -> Path:
    """A private copy of the built site (public/ and caches included, links preserved)."""
    copy = tmp_path / "site"
    shutil.copytree(built_site, copy, symlinks=True)
    # A copy has new inodes: one build makes the manifest describe this copy.
    assert run(copy, "build") == 0
    return copy


def test_init_then_build(built_site: Path) -> None:
    public = built_site / "public"
    assert (public / "index.html").is_file()
    assert (public / "en/news/2024/03/story-number-1/index.html").is_file()
    assert not (public / "README.md").exists()
    names = set(tree(public))
    assert any(name.startswith("ru/") for name in names)
    assert (built_site / ".gitignore").read_text().split() == [
        "#",
        "Built",
        "and",
        "generated",
        "by",
        "tamizdat:",
        "never",
        "commit",
        "these.",
        "public/",
        "release/",
        ".tamizdat/",
    ]


def test_init_refuses_a_non_empty_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    assert main(["init", str(target)]) == 2
    err = capsys.readouterr().err
    assert str(target) in err
    assert "not empty" in err
    assert main(["-q", "init", str(target), "--force", "--language", "ru"]) == 0
    assert (target / "notes.txt").read_text() == "mine"
    assert (target / "content/welcome.md").read_text().count("lang: ru") == 1


def test_init_with_one_language_builds(tmp_path: Path) -> None:
    assert main(["-q", "init", str(tmp_path / "one"), "--language", "en"]) == 0
    assert run(tmp_path / "one", "build") == 0
    assert (tmp_path / "one/public/index.html").is_file()


def test_rebuild_with_no_change_writes_nothing(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = snapshot(site / "public")
    report = run_json(site, capsys, "build")
    assert report["written"] == []
    assert report["pages_rendered"] == 0
    assert report["removed"] == []
    assert snapshot(site / "public") == before


def test_build_is_deterministic_across_folders(built_site: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "copy"
    shutil.copytree(built_site, other, ignore=shutil.ignore_patterns("public", ".tamizdat"))
    assert run(other, "build", "--workers", "2") == 0
    assert tree(other / "public") == tree(built_site / "public")
    shutil.rmtree(other / "public")
    shutil.rmtree(other / ".tamizdat")
    assert run(other, "build", "--workers", "1") == 0
    assert tree(other / "public") == tree(built_site / "public")


def test_one_article_change_touches_only_its_dependents(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    public = site / "public"
    before = snapshot(public)
    write_article(site, 4, tag="culture", body="A corrected text of story four.")
    report = run_json(site, capsys, "build")
    page = "en/news/2024/03/story-number-4/index.html"
    written = report["written"]
    assert isinstance(written, list)
    assert page in written
    assert b"A corrected text" in (public / page).read_bytes()
    # An unrelated article's page keeps its bytes, inode and mtime.
    unrelated = "en/news/2024/03/story-number-1/index.html"
    assert unrelated not in written
    assert snapshot(public)[unrelated] == before[unrelated]
    rendered = report["pages_rendered"]
    assert isinstance(rendered, int)
    assert 0 < rendered < len(before) // 2
    for name in set(before) - set(written):
        assert snapshot(public)[name] == before[name], name


def test_deleted_article_disappears(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (site / "content/story-5.md").unlink()
    report = run_json(site, capsys, "build")
    assert not (site / "public/en/news/2024/03/story-number-5").exists()
    assert "en/news/2024/03/story-number-5/index.html" in report["removed"]  # type: ignore[operator]
    for page in tree(site / "public"):
        if page.endswith(".html"):
            assert b"Story number 5" not in (site / "public" / page).read_bytes(), page


BAD_INPUTS = {
    "bad-front-matter": (b"---\ntitle: [unclosed\ndate: 2024-01-01\n---\nText\n", ":3"),
    "invalid-utf8": (b"---\ntitle: Broken\ndate: 2024-01-01\n---\nText \xff\xfe\n", ":5"),
    "missing-title": (b"---\ndate: 2024-01-01\n---\nText\n", ":1"),
    "third-party-image": (
        b"---\ntitle: Tracked\ndate: 2024-01-01\n---\n\n![x](https://evil.example/p.png)\n",
        ":6",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_malformed_input_fails_naming_file_and_line_and_keeps_public(
    site: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    data, line = BAD_INPUTS[case]
    before = snapshot(site / "public")
    (site / "content" / f"{case}.md").write_bytes(data)
    capsys.readouterr()
    assert main(["-C", str(site), "build"]) == 2
    err = capsys.readouterr().err
    assert f"content/{case}.md{line}" in err, err
    if case == "third-party-image":
        assert "https://evil.example/p.png" in err
    assert snapshot(site / "public") == before
    assert [p.name for p in site.iterdir() if p.name.startswith(".public")] in (
        [],
        [".public-staging"],
    )


def test_unknown_front_matter_key_warns(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (site / "content/typo.md").write_text("---\ntitle: T\ndate: 2024-01-01\ntagz: [a]\n---\nx\n")
    capsys.readouterr()
    assert main(["-C", str(site), "build"]) == 0
    err = capsys.readouterr().err
    assert "warning: content/typo.md:4" in err
    assert "did you mean 'tags'" in err


def test_published_images_carry_no_metadata(built_site: Path) -> None:
    public = built_site / "public"
    images = sorted(public.joinpath("media").rglob("*.jpg"))
    assert images, "the article image was not published"
    assert all("/media/news/2024/03/photo-" in str(p) for p in images)
    original = (built_site / "media/photo.jpg").read_bytes()
    for path in images:
        data = path.read_bytes()
        assert data != original
        for planted in (b"SOURCECAMERA", b"MODEL-X", b"source: Ivan", b"Exif\x00\x00"):
            assert planted not in data
        tags = json.loads(
            subprocess.run(
                [EXIFTOOL, "-j", "-a", "-G1", str(path)], capture_output=True, check=True
            ).stdout
        )[0]
        assert not [t for t in tags if t.split(":")[0] in {"IFD0", "ExifIFD", "GPS", "XMP-x"}]
        assert "File:Comment" not in tags
    page = (public / "en/news/2024/03/story-number-3/index.html").read_text()
    assert "/media/news/2024/03/photo-" in page
