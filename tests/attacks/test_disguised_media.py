"""A contributor's file cannot carry metadata past the build by its name or its type.

The attacker (or the hurried editor) is the file's name: a GPS-tagged JPEG called ``.jfif``,
``.jpe``, ``.png``, ``.bin`` or nothing; a PNG called ``.jpg``; a video, a recording, a PDF.
Whatever the name, the published bytes carry no planted value (checked on the raw bytes and
with exiftool/ffprobe), and what cannot be cleaned is refused with the file named, exit 2,
and public/ left exactly as it was, unless ``[media] publish_unstripped`` names it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from support.media import (
    SECRET_DEVICE,
    SECRET_NAME,
    SECRET_PLACE,
    exiftool_json,
    ffprobe_tags,
    make_av,
    make_pdf,
    photo_with_exif,
    png_with_text,
)
from support.trees import snapshot
from tamizdat.cli import main

SECRETS = (SECRET_NAME, SECRET_DEVICE, SECRET_PLACE)


@pytest.fixture(scope="module")
def empty_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media") / "site"
    assert main(["-q", "init", str(root), "--title", "Media test"]) == 0
    return root


@pytest.fixture
def site(empty_site: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(empty_site, copy, symlinks=True)
    return copy


def build_json(site: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["-C", str(site), "-q", "--json", "build"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, dict)
    return data


def assert_no_secrets(path: Path) -> None:
    data = path.read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in data, (path, secret)
    rendered = json.dumps(exiftool_json(path))
    for secret in SECRETS:
        assert secret not in rendered, (path, secret)
    assert "GPS" not in rendered


@pytest.mark.parametrize(
    ("name", "maker"),
    [
        ("photo.jfif", photo_with_exif),
        ("photo.jpe", photo_with_exif),
        ("photo.png", photo_with_exif),
        ("photo.bin", photo_with_exif),
        ("photo", photo_with_exif),
        ("PHOTO.JPG", photo_with_exif),
        ("drawing.jpg", png_with_text),
        ("drawing.gif", png_with_text),
        ("drawing.tif", png_with_text),
        ("drawing.bmp", png_with_text),
    ],
)
def test_image_under_any_name_loses_its_metadata(
    site: Path, capsys: pytest.CaptureFixture[str], name: str, maker: object
) -> None:
    assert callable(maker)
    (site / "static" / "files").mkdir(parents=True, exist_ok=True)
    (site / "static" / "files" / name).write_bytes(maker())
    report = build_json(site, capsys)
    published = site / "public" / "files" / name
    assert published.is_file()
    assert_no_secrets(published)
    notes = {n["file"]: n for n in report["metadata_removed"]}  # type: ignore[attr-defined]
    assert notes[f"static/files/{name}"]["removed"]
    expected_mismatch = name.lower().endswith((".bin", ".png", ".gif", ".tif", ".bmp")) or (
        "." not in name
    )
    if maker is png_with_text:
        expected_mismatch = True
    warned = [w for w in report["warnings"] if f"static/files/{name}:" in w]  # type: ignore[attr-defined]
    assert bool(warned) is expected_mismatch, report["warnings"]


@pytest.mark.parametrize("kind", ["mp4", "mov", "m4a", "mp3", "webm", "ogg", "wav", "flac"])
def test_audio_and_video_are_stripped_and_reported(
    site: Path, capsys: pytest.CaptureFixture[str], kind: str, tmp_path: Path
) -> None:
    make_av(kind, site / "media" / f"clip.{kind}")
    report = build_json(site, capsys)
    published = site / "public" / f"clip.{kind}"
    for secret in SECRETS:
        assert secret not in json.dumps(ffprobe_tags(published))
    assert_no_secrets(published)
    (note,) = report["metadata_removed"]  # type: ignore[misc]
    assert note["file"] == f"media/clip.{kind}"
    assert "author names" in note["removed"]


def test_disguised_video_is_still_stripped(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_av("mp4", site / "media" / "holiday.txt")
    report = build_json(site, capsys)
    assert_no_secrets(site / "public" / "holiday.txt")
    assert any("holiday.txt: named '.txt' but its bytes are MP4" in w for w in report["warnings"])  # type: ignore[attr-defined]


def test_pdf_is_stripped_and_rebuilds_are_identical(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (site / "static" / "report.pdf").write_bytes(make_pdf(photo=photo_with_exif()))
    make_av("mp4", site / "media" / "clip.mp4")
    build_json(site, capsys)
    first = {p: (site / "public" / p).read_bytes() for p in ("report.pdf", "clip.mp4")}
    assert_no_secrets(site / "public" / "report.pdf")
    shutil.rmtree(site / ".tamizdat")  # no cache: everything is stripped again
    shutil.rmtree(site / "public")
    build_json(site, capsys)
    assert {p: (site / "public" / p).read_bytes() for p in first} == first


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("notes.docx", b"PK\x03\x04\x14\x00\x00\x00word/document.xml", "ZIP archive"),
        ("tool.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", "unknown binary data"),
        ("photo.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIF image"),
        ("letter.rtf", b"{\\rtf1 {\\info {\\author Jane SOURCENAME}}}", "RTF document"),
        ("broken.mp4", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "MP4 video"),
    ],
)
def test_unstrippable_file_is_refused_then_allowed_by_name(
    site: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, kind: str
) -> None:
    build_json(site, capsys)
    before = snapshot(site / "public")
    (site / "static" / "files").mkdir(parents=True, exist_ok=True)
    (site / "static" / "files" / name).write_bytes(data)
    capsys.readouterr()
    assert main(["-C", str(site), "build"]) == 2
    err = capsys.readouterr().err
    assert f"static/files/{name}" in err
    assert kind in err
    assert "publish_unstripped" in err
    assert snapshot(site / "public") == before

    config = site / "tamizdat.toml"
    config.write_text(
        config.read_text("utf-8") + '\n[media]\npublish_unstripped = ["static/files/*"]\n',
        "utf-8",
    )
    report = build_json(site, capsys)
    assert (site / "public" / "files" / name).read_bytes() == data
    unstripped = report["published_unstripped"]
    assert [n["file"] for n in unstripped] == [f"static/files/{name}"]  # type: ignore[union-attr, index]
    capsys.readouterr()
    assert main(["-C", str(site), "build"]) == 0
    assert f"published WITH its metadata ([media] publish_unstripped): static/files/{name}" in (
        capsys.readouterr().out
    )


def test_misspelt_media_key_gets_did_you_mean(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = site / "tamizdat.toml"
    config.write_text(config.read_text("utf-8") + '\n[media]\npublish_unstriped = ["x"]\n', "utf-8")
    assert main(["-C", str(site), "build"]) == 2
    assert "did you mean 'publish_unstripped'" in capsys.readouterr().err


def test_article_image_checked_by_bytes_not_name(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (site / "media" / "shot.jfif").write_bytes(photo_with_exif())
    article = site / "content" / "story.md"
    article.write_text(
        "---\ntitle: Story\ndate: 2024-03-01T10:00:00Z\nauthor: editors\nimage: /media/shot.jfif\n"
        "---\n\nText.\n",
        "utf-8",
    )
    report = build_json(site, capsys)
    encoded = list((site / "public" / "media").rglob("shot-*"))
    assert encoded
    for path in encoded:
        assert_no_secrets(path)
    assert any(n["file"] == "media/shot.jfif" for n in report["metadata_removed"])  # type: ignore[attr-defined]
    (site / "media" / "fake.jpg").write_bytes(make_pdf(updated=False))
    article.write_text(article.read_text("utf-8").replace("shot.jfif", "fake.jpg"), "utf-8")
    assert main(["-C", str(site), "build"]) == 2
    assert "its bytes are PDF" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "maker"), [("logo.png", photo_with_exif), ("mark.jpg", png_with_text)]
)
def test_theme_images_lose_their_metadata_too(
    site: Path, capsys: pytest.CaptureFixture[str], name: str, maker: object
) -> None:
    assert callable(maker)
    (site / "theme" / "static").mkdir(parents=True, exist_ok=True)
    (site / "theme" / "static" / name).write_bytes(maker())
    build_json(site, capsys)
    published = [p for p in (site / "public").rglob(name) if p.is_file()]
    assert published, "the theme image was not published"
    for path in published:
        assert_no_secrets(path)


def test_theme_media_other_than_images_is_refused(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["-C", str(site), "-q", "build"]) == 0
    before = snapshot(site / "public")
    (site / "theme" / "static").mkdir(parents=True, exist_ok=True)
    (site / "theme" / "static" / "brochure.pdf").write_bytes(make_pdf())
    capsys.readouterr()
    assert main(["-C", str(site), "build"]) == 2
    err = capsys.readouterr().err
    assert "theme/static/brochure.pdf" in err
    assert "a theme may hold text, fonts and images only" in err
    assert snapshot(site / "public") == before
