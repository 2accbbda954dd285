"""The build orchestrator, with a small fake site and renderer behind the real interfaces.

These pin down what the orchestrator itself guarantees: determinism, incremental rebuilds
that render and rewrite only what changed, atomic replacement of public/, the duplicate
output guard, and image placement. The end-to-end tests with the real loader and renderer
live in tests/unit/cli/test_build_cli.py.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import io
import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from support.trees import snapshot, tree
from tamizdat.config import Config, load_config
from tamizdat.content.model import Article, ImageRef, Site, StaticFile
from tamizdat.errors import ContentError, InternalError, PrivacyError
from tamizdat.render import output as output_module
from tamizdat.render.build import BuildLimits, BuildReport, build_from_site
from tamizdat.render.output import recover_output
from tamizdat.render.types import ImageSet, PagePlan

POOL = BuildLimits(serial_below=1, chunk_size=2)  # force the worker pool even for tiny sites


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


class FakeRenderer:
    """Article pages, one home page and tag pages, with honest dependency keys."""

    def __init__(self, site: Site, images: Mapping[str, ImageSet]) -> None:
        self.site = site
        self.images = images
        self.by_source = {a.source: a for a in site.articles}

    def _srcset(self, article: Article) -> str:
        if article.image is None:
            return ""
        return self.images[article.image.source].srcset()

    def plan(self) -> list[PagePlan]:
        plans = []
        for a in self.site.articles:
            key = _digest("article", a.content_hash, self._srcset(a))
            plans.append(PagePlan(f"{a.url_path}index.html", "article", (a.source,), key))
        listing = [(a.title, a.url_path) for a in self.site.articles]
        plans.append(PagePlan("index.html", "home", (), _digest("home", listing)))
        for tag, slug in self.site.tag_slugs:
            tagged = [(a.title, a.url_path) for a in self.site.articles if tag in a.tags]
            plans.append(PagePlan(f"tags/{slug}/index.html", "tag", (tag,), _digest(tag, tagged)))
        return plans

    def render(self, plan: PagePlan) -> bytes:
        if plan.kind == "article":
            a = self.by_source[str(plan.args[0])]
            if "http://evil.example" in a.body:
                raise PrivacyError(
                    "loads http://evil.example/x.js", where=f"{a.source}:{a.body_line}"
                )
            if "CRASH" in a.body:
                raise RuntimeError("renderer bug")
            img = f'<img srcset="{self._srcset(a)}">' if a.image else ""
            return f"<h1>{html.escape(a.title)}</h1>{img}<p>{html.escape(a.body)}</p>".encode()
        if plan.kind == "home":
            return "".join(f"<li>{a.title}</li>" for a in self.site.articles).encode()
        tag = str(plan.args[0])
        return "".join(f"<li>{a.title}</li>" for a in self.site.articles if tag in a.tags).encode()


def article(
    n: int,
    *,
    body: str = "",
    tags: tuple[str, ...] = ("politics",),
    image: str | None = None,
    day: int | None = None,
    desk: str = "news",
) -> Article:
    text = body or f"Body of article {n}."
    return Article(
        source=f"content/a{n}.md",
        lang="en",
        desk=desk,
        slug=f"article-{n}",
        title=f"Article {n}",
        date=datetime(2024, 1 + n % 12, day or 1 + n % 27, 12, tzinfo=UTC),
        updated=None,
        authors=("anna",),
        tags=tags,
        summary="",
        lead="",
        body=text,
        body_line=5,
        draft=False,
        translation_key="",
        image=ImageRef(image) if image else None,
        words=3,
        content_hash=_digest(text, tags, image),
    )


def make_site(articles: list[Article], static: tuple[StaticFile, ...] = ()) -> Site:
    tags = sorted({t for a in articles for t in a.tags})
    ordered = sorted(articles, key=lambda a: (a.date, a.url_path), reverse=True)
    return Site(tuple(ordered), (), static, tuple((t, t) for t in tags))


def make_config(root: Path) -> Config:
    root.mkdir(parents=True, exist_ok=True)
    (root / "tamizdat.toml").write_text(
        '[site]\ntitle = "Test"\n[languages.en]\n[build]\nimage_widths = [16, 32]\n', "utf-8"
    )
    return load_config(root)


def build(config: Config, site: Site, **kwargs: object) -> BuildReport:
    return build_from_site(config, site, FakeRenderer, **kwargs)  # type: ignore[arg-type]


def add_file(root: Path, relative: str, data: bytes) -> StaticFile:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    output = relative.split("/", 1)[1]
    return StaticFile(relative, output, hashlib.sha256(data).hexdigest())


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "LEAKYCAMERA"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 20, 200)).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "site")


ARTICLES = [
    article(1, tags=("politics",)),
    article(2, tags=("culture",)),
    article(3, tags=("politics", "culture")),
]


def test_full_build_then_nothing_to_do(config: Config) -> None:
    site = make_site(ARTICLES)
    first = build(config, site, workers=1)
    public = config.build.output_dir
    assert (public / "en/news/2024/02/article-1/index.html").read_bytes().startswith(b"<h1>")
    assert first.pages_rendered == 6
    assert first.pages_skipped == 0
    assert len(first.written) == 6
    assert first.unchanged == 0
    before = snapshot(public)
    second = build(config, site, workers=1)
    assert second.pages_rendered == 0
    assert second.pages_skipped == 6
    assert second.written == ()
    assert second.unchanged == 6
    assert second.removed == ()
    assert snapshot(public) == before


@pytest.mark.parametrize("limits", [BuildLimits(), POOL], ids=["serial", "pool"])
def test_deterministic_across_directories(tmp_path: Path, limits: BuildLimits) -> None:
    trees = []
    for name in ("one", "two"):
        config = make_config(tmp_path / name)
        static = (
            add_file(config.root, "static/style.css", b"body{}"),
            add_file(config.root, "media/photo.jpg", jpeg_with_gps()),
        )
        site = make_site([*ARTICLES, article(4, image="media/photo.jpg")], static)
        build(config, site, workers=2, limits=limits)
        trees.append(tree(config.build.output_dir))
    assert trees[0] == trees[1]
    assert len(trees[0]) > 7


def test_pool_and_serial_give_the_same_bytes(tmp_path: Path) -> None:
    serial = make_config(tmp_path / "s")
    pooled = make_config(tmp_path / "p")
    site = make_site([article(n, tags=(f"t{n % 3}",)) for n in range(1, 30)])
    build(serial, site, workers=1)
    report = build(pooled, site, workers=2, limits=POOL)
    assert report.pages_rendered == 29 + 1 + 3
    assert tree(serial.build.output_dir) == tree(pooled.build.output_dir)


def test_one_changed_article_rerenders_only_its_dependents(config: Config) -> None:
    build(config, make_site(ARTICLES), workers=1)
    public = config.build.output_dir
    before = snapshot(public)
    changed = dataclasses.replace(ARTICLES[1], body="A corrected body.", content_hash="new")
    report = build(config, make_site([ARTICLES[0], changed, ARTICLES[2]]), workers=1)
    # The article page is re-rendered; the culture tag page and home have the same keys
    # (titles and URLs unchanged), so they are not.
    page = "en/news/2024/03/article-2/index.html"
    assert report.pages_rendered == 1
    assert report.written == (page,)
    after = snapshot(public)
    assert b"A corrected body." in after[page][0]
    assert after[page][1] != before[page][1]
    for name in before:
        if name != page:
            assert after[name] == before[name], name  # same bytes, inode and mtime


def test_changed_key_with_equal_bytes_keeps_the_old_file(config: Config) -> None:
    build(config, make_site(ARTICLES), workers=1)
    before = snapshot(config.build.output_dir)
    retitled = dataclasses.replace(ARTICLES[0], content_hash="different hash, same page")
    report = build(config, make_site([retitled, *ARTICLES[1:]]), workers=1)
    assert report.pages_rendered == 1
    assert report.written == ()
    assert snapshot(config.build.output_dir) == before


def test_new_title_reaches_listing_pages(config: Config) -> None:
    build(config, make_site(ARTICLES), workers=1)
    renamed = dataclasses.replace(ARTICLES[0], title="Renamed", content_hash="r")
    report = build(config, make_site([renamed, *ARTICLES[1:]]), workers=1)
    assert set(report.written) == {
        "en/news/2024/02/article-1/index.html",
        "index.html",
        "tags/politics/index.html",
    }
    assert report.pages_rendered == 3


def test_deleted_article_disappears(config: Config) -> None:
    build(config, make_site(ARTICLES), workers=1)
    public = config.build.output_dir
    gone = "en/news/2024/04/article-3/index.html"
    assert (public / gone).exists()
    report = build(config, make_site(ARTICLES[:2]), workers=1)
    assert not (public / gone).exists()
    assert not (public / "en/news/2024/04/article-3").exists()
    assert gone in report.removed


def test_hand_edited_output_is_repaired(config: Config) -> None:
    build(config, make_site(ARTICLES), workers=1)
    target = config.build.output_dir / "index.html"
    good = target.read_bytes()
    target.write_bytes(b"defaced")
    report = build(config, make_site(ARTICLES), workers=1)
    assert target.read_bytes() == good
    assert report.written == ("index.html",)


def _no_leftovers(config: Config) -> None:
    """Only the kept staging tree may sit beside public/, and it holds no temporary file."""
    parent = config.build.output_dir.parent
    assert [p.name for p in parent.iterdir() if p.name.startswith(".public")] in (
        [],
        [".public-staging"],
    )
    assert not list(parent.glob(".public-staging/**/*.tmp"))


@pytest.mark.parametrize("limits", [BuildLimits(), POOL], ids=["serial", "pool"])
def test_privacy_error_leaves_public_exactly_as_it_was(config: Config, limits: BuildLimits) -> None:
    build(config, make_site(ARTICLES), workers=1)
    before = snapshot(config.build.output_dir)
    bad = article(9, body="<script src=http://evil.example/x.js>")
    with pytest.raises(PrivacyError) as caught:
        build(config, make_site([*ARTICLES, bad]), workers=2, limits=limits)
    assert caught.value.where == "content/a9.md:5"
    assert snapshot(config.build.output_dir) == before
    _no_leftovers(config)


def test_unexpected_worker_exception_leaves_public_intact(config: Config) -> None:
    build(config, make_site(ARTICLES), workers=1)
    before = snapshot(config.build.output_dir)
    with pytest.raises(InternalError, match="renderer bug") as caught:
        build(config, make_site([*ARTICLES, article(9, body="CRASH")]), workers=2, limits=POOL)
    assert caught.value.where == "en/news/2024/10/article-9/index.html"
    assert snapshot(config.build.output_dir) == before
    _no_leftovers(config)


def test_missing_image_is_an_error_naming_the_article(config: Config) -> None:
    build(config, make_site(ARTICLES), workers=1)
    before = snapshot(config.build.output_dir)
    with pytest.raises(ContentError, match="not found") as caught:
        build(config, make_site([article(5, image="media/nope.jpg")]), workers=1)
    assert caught.value.where == "content/a5.md"
    assert snapshot(config.build.output_dir) == before


def test_two_sources_for_one_output_are_refused(config: Config) -> None:
    clash = add_file(config.root, "static/index.html", b"<p>static home</p>")
    with pytest.raises(ContentError, match=r"same output 'index\.html'") as caught:
        build(config, make_site(ARTICLES, (clash,)), workers=1)
    assert "static/index.html" in str(caught.value)
    assert "page home" in str(caught.value)
    assert not config.build.output_dir.exists()


def test_unsafe_output_path_is_refused(config: Config) -> None:
    add_file(config.root, "static/x.css", b"x")  # the file exists: only its output is bad
    escape = StaticFile("static/x.css", "../x.css", _digest("x"))
    with pytest.raises(ContentError, match="unsafe output path"):
        build(config, make_site(ARTICLES, (escape,)), workers=1)


def test_images_are_processed_placed_and_cached(config: Config) -> None:
    photo = jpeg_with_gps()
    static = (
        add_file(config.root, "media/photo.jpg", photo),
        add_file(config.root, "static/unused.jpg", photo),
        add_file(config.root, "static/notes.txt", b"plain text"),
    )
    newer = article(7, image="media/photo.jpg", day=20, desk="culture")
    older = article(6, image="media/photo.jpg", day=2)  # 2024-07-02, desk news
    site = make_site([newer, older], static)
    report = build(config, site, workers=2)
    public = config.build.output_dir
    sha8 = hashlib.sha256(photo).hexdigest()[:8]
    expected = {f"media/news/2024/07/photo-{sha8}-{w}.jpg" for w in (16, 32)}
    assert expected <= set(report.written)
    assert not (public / "photo.jpg").exists()  # used by articles: widths only
    assert (public / "notes.txt").read_bytes() == b"plain text"
    unused = (public / "unused.jpg").read_bytes()
    with Image.open(io.BytesIO(unused)) as image:
        assert image.size == (40, 30)
        assert not image.getexif()
    for path in public.rglob("*"):
        if path.is_file():
            assert b"LEAKYCAMERA" not in path.read_bytes(), path
            assert path.read_bytes() != photo
    page = (public / "en/culture/2024/08/article-7/index.html").read_text()
    assert f"/media/news/2024/07/photo-{sha8}-16.jpg 16w" in page
    assert report.images_processed == 2  # widths of photo.jpg, and unused.jpg
    again = build(config, site, workers=2)
    assert again.images_processed == 0
    assert again.images_cached == 2
    assert again.written == ()


def test_recovery_restores_an_old_tree_left_alone_by_a_crash(tmp_path: Path) -> None:
    public = tmp_path / "public"
    old = tmp_path / ".public-old-abc"
    old.mkdir()
    (old / "index.html").write_text("previous")
    recover_output(public)
    assert (public / "index.html").read_text() == "previous"
    assert not old.exists()
    # A second old tree beside an intact public/ becomes the staging base.
    other = tmp_path / ".public-old-def"
    other.mkdir()
    recover_output(public)
    assert not other.exists()
    assert (tmp_path / ".public-staging").is_dir()


def test_build_after_interrupted_swap(config: Config) -> None:
    build(config, make_site(ARTICLES), workers=1)
    public = config.build.output_dir
    before = tree(public)
    os.rename(public, public.parent / ".public-old-crash")
    report = build(config, make_site(ARTICLES), workers=1)
    assert tree(public) == before
    assert report.pages_rendered == 0  # the restored files are still the manifest's
    _no_leftovers(config)


def test_failed_build_leaves_no_stale_file_for_the_next_one(tmp_path: Path) -> None:
    config = make_config(tmp_path / "site")
    build(config, make_site(ARTICLES), workers=1)
    build(config, make_site(ARTICLES), workers=1)  # the staging tree now holds a generation
    changed = dataclasses.replace(ARTICLES[1], body="Half-built change.", content_hash="h")
    bad = article(0, body="<script src=http://evil.example/x.js>")  # rendered last
    with pytest.raises(PrivacyError):
        build(config, make_site([ARTICLES[0], changed, ARTICLES[2], bad]), workers=1)
    report = build(config, make_site(ARTICLES), workers=1)
    assert report.written == ()
    fresh = make_config(tmp_path / "fresh")
    build(fresh, make_site(ARTICLES), workers=1)
    assert tree(config.build.output_dir) == tree(fresh.build.output_dir)
    build(config, make_site([ARTICLES[0], changed, ARTICLES[2]]), workers=1)
    page = config.build.output_dir / "en/news/2024/03/article-2/index.html"
    assert b"Half-built change." in page.read_bytes()
    _no_leftovers(config)


def test_unreadable_image_in_the_pool_names_its_file(config: Config) -> None:
    """The image pool returns a worker's ContentError intact (type, message and where)."""
    build(config, make_site(ARTICLES), workers=1)
    before = snapshot(config.build.output_dir)
    static = (
        add_file(config.root, "static/good.jpg", jpeg_with_gps()),
        add_file(config.root, "static/broken.jpg", b"\xff\xd8\xff not really a JPEG"),
        add_file(config.root, "static/also-good.jpg", jpeg_with_gps()[:-1] + b"\xd9"),
    )
    with pytest.raises(ContentError, match="not a readable image") as caught:
        build(config, make_site(ARTICLES, static), workers=2, limits=POOL)
    assert caught.value.where == "static/broken.jpg"
    assert snapshot(config.build.output_dir) == before
    _no_leftovers(config)


# -- the staging tree is found from its record, and a wrong listing is never unsafe ------


def _fresh_tree(tmp_path: Path, articles: list[Article]) -> dict[str, bytes]:
    fresh = make_config(tmp_path / "fresh")
    build(fresh, make_site(articles), workers=1)
    files: dict[str, bytes] = tree(fresh.build.output_dir)
    return files


def _forbid_listing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(root: Path) -> object:
        raise AssertionError(f"listed {root} although its record holds")

    monkeypatch.setattr(output_module, "_scan", refuse)


def test_rebuilds_use_the_record_instead_of_listing_the_staging_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path / "site")
    build(config, make_site(ARTICLES), workers=1)  # first build: the twin is primed
    _forbid_listing(monkeypatch)
    changed = dataclasses.replace(ARTICLES[1], body="Second edition.", content_hash="h2")
    third = dataclasses.replace(ARTICLES[2], body="Third edition.", content_hash="h3")
    for articles in (
        [ARTICLES[0], changed, ARTICLES[2]],
        [ARTICLES[0], changed, third, article(4, tags=("sport",))],  # a new folder
        [ARTICLES[0], third],  # a page and a tag folder go away
    ):
        build(config, make_site(articles), workers=1)
        assert tree(config.build.output_dir) == _fresh_tree(tmp_path / str(len(articles)), articles)
    _no_leftovers(config)


@pytest.mark.parametrize("where", ["public", "staging"])
def test_a_file_added_by_hand_in_a_deep_folder_is_seen_and_removed(
    config: Config, where: str
) -> None:
    """Adding a file changes only its own folder's stamp: the record must check every folder."""
    build(config, make_site(ARTICLES), workers=1)
    build(config, make_site(ARTICLES), workers=1)
    public = config.build.output_dir
    tree_dir = public if where == "public" else public.parent / ".public-staging"
    (tree_dir / "en/news/2024/03/article-2/stray.html").write_bytes(b"<p>not built</p>")
    for _ in range(3):  # through both trees, each swapped in once
        build(config, make_site(ARTICLES), workers=1)
        assert not (public / "en/news/2024/03/article-2/stray.html").exists()
    assert not list(public.parent.glob(".public-staging/**/stray.html"))


def test_a_wrong_record_never_writes_into_a_file_public_shares(config: Config) -> None:
    """A record that forgets a file (forged, or from another tree) costs work, not safety."""
    build(config, make_site(ARTICLES), workers=1)
    build(config, make_site(ARTICLES), workers=1)
    public = config.build.output_dir
    record = config.build.cache_dir / "staging-tree.json"
    data = json.loads(record.read_bytes())
    data["files"] = {}  # "the staging tree holds no file": every one of them is there
    record.write_text(json.dumps(data))
    before = snapshot(public)
    changed = dataclasses.replace(ARTICLES[1], body="Corrected.", content_hash="c")
    bad = article(0, body="<script src=http://evil.example/x.js>")  # fails after writing
    with pytest.raises(PrivacyError):
        build(config, make_site([changed, ARTICLES[2], ARTICLES[0], bad]), workers=1)
    assert snapshot(public) == before
    build(config, make_site([ARTICLES[0], changed, ARTICLES[2]]), workers=1)
    assert tree(public) == _fresh_tree(config.root.parent, [ARTICLES[0], changed, ARTICLES[2]])


def test_an_unreadable_record_is_ignored(config: Config) -> None:
    build(config, make_site(ARTICLES), workers=1)
    for junk in (b"", b"{", b'{"version": 1, "files": [], "dirs": 3}', b"[1]"):
        (config.build.cache_dir / "staging-tree.json").write_bytes(junk)
        report = build(config, make_site(ARTICLES), workers=1)
        assert report.pages_rendered == 0
    assert tree(config.build.output_dir) == _fresh_tree(config.root.parent, ARTICLES)


# -- silent corrections (render/corrections.py, recorded in the manifest) -------------------


def _corrections(report: BuildReport) -> list[str]:
    return [w for w in report.warnings if "did not move forward" in w]


def _corrected(n: int, body: str, updated: datetime | None = None) -> Article:
    # content_hash stands for the source file, which changes with the body and the date.
    base = article(n, body=body)
    return dataclasses.replace(base, updated=updated, content_hash=_digest(body, updated))


def test_first_build_and_unchanged_rebuild_report_no_correction(config: Config) -> None:
    assert _corrections(build(config, make_site(ARTICLES), workers=1)) == []
    assert _corrections(build(config, make_site(ARTICLES), workers=1)) == []


def test_a_correction_needs_a_newer_updated_date(config: Config) -> None:
    build(config, make_site(ARTICLES), workers=1)
    silent = build(config, make_site([_corrected(1, "Fixed."), *ARTICLES[1:]]), workers=1)
    (warning,) = _corrections(silent)
    assert warning.startswith("content/a1.md: ")
    assert "en/news/2024/02/article-1/index.html" in warning
    later = datetime(2024, 3, 1, tzinfo=UTC)
    dated = build(config, make_site([_corrected(1, "Fixed.", later), *ARTICLES[1:]]), workers=1)
    assert _corrections(dated) == []


@pytest.mark.parametrize("limits", [BuildLimits(), POOL], ids=["serial", "pool"])
def test_strict_corrections_refuse_the_build_and_keep_public(
    config: Config, limits: BuildLimits
) -> None:
    build(config, make_site(ARTICLES), workers=1)
    before = snapshot(config.build.output_dir)
    manifest = (config.build.cache_dir / "manifest.json").read_bytes()
    site = make_site([_corrected(1, "Fixed."), *ARTICLES[1:]])
    with pytest.raises(ContentError, match=re.escape("en/news/2024/02/article-1/")) as caught:
        build(config, site, workers=2, limits=limits, corrections="fail")
    assert caught.value.where == "content/a1.md"
    assert snapshot(config.build.output_dir) == before
    assert (config.build.cache_dir / "manifest.json").read_bytes() == manifest
    _no_leftovers(config)
    # The refusal holds on the next try too: nothing recorded the undated version.
    with pytest.raises(ContentError):
        build(config, site, workers=1, corrections="fail")


class RethemedRenderer(FakeRenderer):
    """The same site under a new template: every page's bytes and key change."""

    def plan(self) -> list[PagePlan]:
        return [dataclasses.replace(p, key=_digest("v2", p.key)) for p in super().plan()]

    def render(self, plan: PagePlan) -> bytes:
        return b"<!-- theme v2 -->" + super().render(plan)


def test_a_template_change_is_not_a_correction(config: Config) -> None:
    build(config, make_site(ARTICLES), workers=1)
    report = build_from_site(config, make_site(ARTICLES), RethemedRenderer, workers=1)  # type: ignore[arg-type]
    assert len(report.written) == 6  # every page changed
    assert _corrections(report) == []


def test_a_manifest_without_records_starts_them_unreported(config: Config) -> None:
    build(config, make_site(ARTICLES), workers=1)
    path = config.build.cache_dir / "manifest.json"
    data = json.loads(path.read_bytes())
    del data["articles"]  # as a format-2 manifest written before the check moved here
    path.write_text(json.dumps(data))
    site = make_site([_corrected(1, "Fixed."), *ARTICLES[1:]])
    first = build(config, site, workers=1)
    assert _corrections(first) == []
    assert first.pages_skipped > 0  # the rest of the manifest was still used
    assert len(_corrections(build(config, make_site(ARTICLES), workers=1))) == 1
