"""load_site: languages, translations, slugs, desks, authors, images, static files, order."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from support.content_site import BASE_TOML, article, make_site
from tamizdat.content import ImageRef, load_site, resolve_asset
from tamizdat.content.slugs import is_valid_slug
from tamizdat.errors import ContentError

JPEG = b"\xff\xd8\xff\xe0fake-jpeg"


def load(tmp_path: Path, files: dict[str, str | bytes], **kwargs: object):  # type: ignore[no-untyped-def]
    return load_site(make_site(tmp_path, files), **kwargs)  # type: ignore[arg-type]


def raises(tmp_path: Path, files: dict[str, str | bytes]) -> ContentError:
    with pytest.raises(ContentError) as info:
        load(tmp_path, files)
    return info.value


def test_hugo_layout_loads_without_edits(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "content/_index.md": "---\ntitle: Home\n---\n",
        "content/posts/_index.md": "---\ntitle: Posts\n---\n",
        "content/posts/court.md": (
            "---\ntitle: The court hearing\ndate: 2024-02-10T12:00:00+03:00\n"
            "lastmod: 2024-02-11T09:00:00+03:00\nauthor: anna\ntags: [courts, Moscow]\n"
            "categories: [news]\ndescription: A summary.\nimage: /images/court.jpg\n"
            "image_alt: The court\n"
            "weight: 10\naliases: [/old-court/]\ndraft: false\n---\n"
            "Text ![photo](/images/inside.jpg) more.\n"
        ),
        "content/posts/court.ru.md": (
            "---\ntitle: Заседание суда\ndate: 2024-02-10T12:00:00+03:00\nauthor: anna\n"
            "tags: [суды, Москва]\nimage: /images/court.jpg\nimage_alt: Суд\n---\nТекст.\n"
        ),
        "content/posts/trip/index.md": article("A trip", body="![view](view.jpg)"),
        "content/posts/trip/index.ru.md": article("Поездка", body="![вид](view.jpg)"),
        "content/posts/trip/view.jpg": JPEG,
        "static/images/court.jpg": JPEG,
        "static/images/inside.jpg": JPEG,
    }
    site = load(tmp_path, files)
    assert site.warnings == ()
    by_source = {a.source: a for a in site.articles}
    assert set(by_source) == {
        "content/posts/court.md",
        "content/posts/court.ru.md",
        "content/posts/trip/index.md",
        "content/posts/trip/index.ru.md",
    }
    court, court_ru = by_source["content/posts/court.md"], by_source["content/posts/court.ru.md"]
    assert (court.lang, court_ru.lang) == ("en", "ru")
    assert court.translation_key == court_ru.translation_key == "posts/court"
    assert court.slug == "the-court-hearing"
    assert court_ru.slug == "zasedanie-suda"
    assert court.url_path == "en/news/2024/02/the-court-hearing/"
    assert court.tags == ("courts", "Moscow", "news")
    assert court.summary == "A summary."
    assert court.updated is not None
    assert court.updated > court.date
    assert court.image == ImageRef("static/images/court.jpg", "The court")
    assert court.body_images == (("/images/inside.jpg", "static/images/inside.jpg"),)
    trip = by_source["content/posts/trip/index.md"]
    trip_ru = by_source["content/posts/trip/index.ru.md"]
    assert trip.translation_key == trip_ru.translation_key == "posts/trip"
    assert trip.body_images == (("view.jpg", "content/posts/trip/view.jpg"),)
    outputs = {f.output: f for f in site.static_files}
    assert set(outputs) == {"images/court.jpg", "images/inside.jpg"}
    assert outputs["images/court.jpg"].source == "static/images/court.jpg"
    assert len(outputs["images/court.jpg"].content_hash) == 64
    assert site.languages == ("en", "ru")


def test_language_suffix_only_counts_when_configured(tmp_path: Path) -> None:
    site = load(
        tmp_path, {"content/a.v2.md": article("Versioned"), "content/b.ru.md": article("Б")}
    )
    langs = {a.source: (a.lang, a.translation_key) for a in site.articles}
    assert langs == {"content/a.v2.md": ("en", "a.v2"), "content/b.ru.md": ("ru", "b")}


def test_suffix_beats_front_matter_lang_which_beats_the_default(tmp_path: Path) -> None:
    site = load(
        tmp_path,
        {
            "content/a.ru.md": article("A", extra="lang: en\n"),
            "content/b.md": article("B", extra="lang: ru\n"),
            "content/c.md": article("C"),
        },
    )
    langs = {a.source: a.lang for a in site.articles}
    assert langs == {"content/a.ru.md": "ru", "content/b.md": "ru", "content/c.md": "en"}
    assert any("'lang: en' ignored" in w and "content/a.ru.md:4" in w for w in site.warnings)


@pytest.mark.parametrize("lang", ["ru-RU", "rus"])
def test_unconfigured_language_is_an_error_with_line(tmp_path: Path, lang: str) -> None:
    error = raises(tmp_path, {"content/a.md": article(extra=f"lang: {lang}\n")})
    assert error.where == "content/a.md:4"
    assert "not configured" in error.message
    assert error.hint == "did you mean 'ru'?"


def test_translation_key_from_front_matter(tmp_path: Path) -> None:
    site = load(
        tmp_path,
        {
            "content/en-x.md": article("X", extra="translationKey: x\n"),
            "content/ru-x.md": article("Икс", extra="translationKey: x\nlang: ru\n"),
        },
    )
    assert {a.translation_key for a in site.articles} == {"x"}


def test_duplicate_translation_key_in_one_language_names_both(tmp_path: Path) -> None:
    error = raises(
        tmp_path,
        {
            "content/a.md": article("A", extra="translationKey: k\n"),
            "content/b.md": article("B", extra="translationKey: k\n"),
        },
    )
    assert "content/a.md" in error.message
    assert "content/b.md" in error.message
    assert error.where == "content/b.md:4"


def test_front_matter_slug_is_used_and_validated(tmp_path: Path) -> None:
    site = load(tmp_path, {"content/a.md": article("Title", extra="slug: my-slug-2\n")})
    assert site.articles[0].slug == "my-slug-2"
    error = raises(tmp_path / "bad", {"content/a.md": article(extra="slug: My_Slug\n")})
    assert error.where == "content/a.md:4"
    assert error.hint == "for example 'my-slug'"


def test_slug_falls_back_to_the_file_stem(tmp_path: Path) -> None:
    site = load(tmp_path, {"content/tokyo-visit.md": article("東京")})
    assert site.articles[0].slug == "tokyo-visit"


def test_slug_collision_names_both_files(tmp_path: Path) -> None:
    error = raises(
        tmp_path,
        {
            "content/a.md": article("Same title", date="2024-03-01"),
            "content/b.md": article("Same title", date="2024-03-20"),
        },
    )
    assert "content/a.md" in error.message
    assert "content/b.md" in error.message
    assert error.where == "content/b.md:2"


def test_same_slug_in_other_months_or_languages_is_fine(tmp_path: Path) -> None:
    site = load(
        tmp_path,
        {
            "content/a.md": article("Same", date="2024-03-01"),
            "content/b.md": article("Same", date="2024-04-01"),
            "content/c.md": article("Same", date="2024-03-01", extra="lang: ru\n"),
        },
    )
    assert len(site.articles) == 3


DESK_TOML = BASE_TOML + '\n[build]\ndefault_desk = "news"\n\n[desks.news]\n[desks.culture]\n'


def test_desk_from_front_matter_or_default(tmp_path: Path) -> None:
    config = make_site(
        tmp_path,
        {"content/a.md": article("A", extra="desk: culture\n"), "content/b.md": article("B")},
        toml=DESK_TOML,
    )
    desks = {a.source: a.desk for a in load_site(config).articles}
    assert desks == {"content/a.md": "culture", "content/b.md": "news"}


def test_unknown_desk_names_line_and_suggests(tmp_path: Path) -> None:
    config = make_site(tmp_path, {"content/a.md": article(extra="desk: cultur\n")}, toml=DESK_TOML)
    with pytest.raises(ContentError) as info:
        load_site(config)
    assert info.value.where == "content/a.md:4"
    assert info.value.hint == "did you mean 'culture'?"


def test_authors_by_key_by_name_and_merged(tmp_path: Path) -> None:
    site = load(
        tmp_path,
        {
            "content/a.md": article("A", extra="author: anna\nauthors: [Ivan Sidorov, anna]\n"),
            "content/b.ru.md": article("Б", extra="authors: Иван Сидоров\n"),
        },
    )
    by_source = {a.source: a.authors for a in site.articles}
    assert by_source == {"content/a.md": ("anna", "ivan"), "content/b.ru.md": ("ivan",)}
    assert site.author("ivan").pseudonym
    assert site.author("anna").name_in("ru") == "Анна Петрова"
    assert site.author("ivan").name_in("ru") == "Иван Сидоров"
    assert site.author("ivan").name_in("de") == "Ivan Sidorov"


def test_unknown_author_close_to_a_known_one_is_a_new_author_with_a_warning(
    tmp_path: Path,
) -> None:
    site = load(
        tmp_path,
        {
            "content/a.md": article("A", extra="lead: L\nauthor: ana\n"),
            "content/b.md": article("B", extra="author: ana\n"),
        },
    )
    assert {a.authors for a in site.articles} == {("ana",)}
    assert site.author("ana").name == "ana"
    # One warning per name, at the first file (sorted) that names it, with the suggestion.
    typo = [w for w in site.warnings if "'ana'" in w]
    assert typo == [
        "content/a.md:5: author 'ana' is not in the authors file and gets a new author page "
        "(did you mean 'anna'? add it to data/authors.yaml to use the known author)"
    ]


@pytest.mark.parametrize(
    ("names", "keys"),
    [
        (["Maria Curie"], ["maria-curie"]),
        (["Мария Иванова"], ["mariya-ivanova"]),
        (["Łukasz Żółw"], ["lukasz-zolw"]),
        (["李明"], ["u" + hashlib.sha256("李明".encode()).hexdigest()[:10]]),
        # Two names with one slug: both keys get a digest, whatever the order of files.
        (["Maria Curie", "maria curie"], ["maria-curie-", "maria-curie-"]),
        # A slug that is a known author's key: the new author gets a digest.
        (["Anna"], ["anna-"]),
    ],
)
def test_authors_given_only_by_name_get_deterministic_keys(
    tmp_path: Path, names: list[str], keys: list[str]
) -> None:
    files: dict[str, str | bytes] = {
        f"content/{i}.md": article(f"T{i}", extra=f"author: {name}\n")
        for i, name in enumerate(names)
    }
    site = load(tmp_path, files)
    by_source = {a.source: a.authors[0] for a in site.articles}
    got = [by_source[f"content/{i}.md"] for i in range(len(names))]
    for key, expected in zip(got, keys, strict=True):
        assert key.startswith(expected)
        assert is_valid_slug(key)
    assert len(set(got)) == len(got)
    assert {site.author(k).name for k in got} == set(names)
    # Reversed file order gives the same keys.
    reversed_files: dict[str, str | bytes] = {
        f"content/{len(names) - 1 - i}.md": text for i, text in enumerate(files.values())
    }
    again = load(tmp_path / "again", reversed_files)
    assert sorted(a.key for a in again.authors) == sorted(a.key for a in site.authors)


def test_new_authors_without_an_authors_file_build_author_pages(tmp_path: Path) -> None:
    config = make_site(
        tmp_path,
        {"content/a.md": article(extra="authors: [Jane Roe, John Doe]\n")},
        authors=None,
    )
    site = load_site(config)
    assert [(a.key, a.name) for a in site.authors] == [
        ("jane-roe", "Jane Roe"),
        ("john-doe", "John Doe"),
    ]
    assert not site.warnings


def test_image_mapping_and_separate_alt_caption(tmp_path: Path) -> None:
    site = load(
        tmp_path,
        {
            "content/a.md": article(
                "A", extra="image:\n  src: /p.jpg\n  alt: Alt A\n  caption: Cap A\n"
            ),
            "content/b.md": article(
                "B", extra="image: /p.jpg\nimage_alt: Alt B\nimage_caption: Cap B\n"
            ),
            "media/p.jpg": JPEG,
        },
    )
    images = {a.source: a.image for a in site.articles}
    assert images["content/a.md"] == ImageRef("media/p.jpg", "Alt A", "Cap A")
    assert images["content/b.md"] == ImageRef("media/p.jpg", "Alt B", "Cap B")


def test_missing_front_image_names_its_line(tmp_path: Path) -> None:
    error = raises(tmp_path, {"content/a.md": article(extra="image: /nope.jpg\n")})
    assert error.where == "content/a.md:4"
    assert "not found" in error.message
    assert "static/" in error.message


def test_missing_body_image_names_its_line(tmp_path: Path) -> None:
    body = "Intro.\n\nMore.\n\n<p><img alt='x' src=\"gone.png\"></p>\n"
    error = raises(tmp_path, {"content/a.md": article(body=body)})
    assert error.where == "content/a.md:9"


def test_external_images_are_left_unresolved(tmp_path: Path) -> None:
    body = "![a](https://tracker.example/p.gif) ![b](//cdn.example/x.png)"
    site = load(
        tmp_path,
        {"content/a.md": article(extra="image: https://cdn.example/i.jpg\n", body=body)},
    )
    only = site.articles[0]
    assert only.body_images == ()
    assert only.image == ImageRef("https://cdn.example/i.jpg")


def test_images_inside_code_are_not_images(tmp_path: Path) -> None:
    body = "Use `![x](missing.png)` like this:\n\n```\n![y](missing2.png)\n```\n"
    site = load(tmp_path, {"content/a.md": article(body=body)})
    assert site.articles[0].body_images == ()


def test_refs_may_not_climb_out_of_the_site(tmp_path: Path) -> None:
    error = raises(tmp_path, {"content/a.md": article(body="![x](../../../etc/passwd)")})
    assert error.where == "content/a.md:5"
    assert "outside" in error.message


def test_resolve_asset_for_the_renderer(tmp_path: Path) -> None:
    config = make_site(
        tmp_path,
        {"static/img/a.jpg": JPEG, "content/p/index.md": article(), "content/p/b.png": JPEG},
    )
    assert resolve_asset(config, "content/p/index.md", "/img/a.jpg") == "static/img/a.jpg"
    assert resolve_asset(config, "content/p/index.md", "b.png?v=2") == "content/p/b.png"
    assert resolve_asset(config, "content/p/index.md", "https://x.example/a.jpg") is None
    with pytest.raises(ContentError) as info:
        resolve_asset(config, "content/p/index.md", "/img/none.jpg")
    assert info.value.where == "content/p/index.md"


def test_static_dirs_producing_the_same_output_name_both(tmp_path: Path) -> None:
    error = raises(tmp_path, {"static/logo.png": JPEG, "media/logo.png": JPEG})
    assert "static/logo.png" in error.message
    assert "media/logo.png" in error.message


def test_static_files_skip_hidden_and_refuse_the_trust_namespace(tmp_path: Path) -> None:
    site = load(tmp_path, {"static/.DS_Store": b"x", "static/.well-known/security.txt": "hi"})
    assert [f.output for f in site.static_files] == [".well-known/security.txt"]
    error = raises(tmp_path / "b", {"static/.well-known/tamizdat/root.json": "{}"})
    assert "well-known/tamizdat" in error.message


def test_drafts_are_excluded_unless_asked(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "content/a.md": article("A"),
        "content/b.md": article("B", extra="draft: true\n"),
        "content/c.md": article("C", extra="published: false\n"),
    }
    config = make_site(tmp_path, files)
    assert [a.title for a in load_site(config).articles] == ["A"]
    assert len(load_site(config, include_drafts=True).articles) == 3


def test_articles_sorted_newest_first_then_url_path(tmp_path: Path) -> None:
    site = load(
        tmp_path,
        {
            "content/old.md": article("Old", date="2020-01-01"),
            "content/b.md": article("Bbb", date="2024-05-05"),
            "content/a.md": article("Aaa", date="2024-05-05"),
        },
    )
    assert [a.title for a in site.articles] == ["Aaa", "Bbb", "Old"]
    assert site.articles[0].date == datetime(2024, 5, 5, tzinfo=UTC)


def test_tags_with_one_slug_share_one_page(tmp_path: Path) -> None:
    site = load(
        tmp_path,
        {
            "content/a.md": article("A", extra="tags: [Выборы, Courts]\n"),
            "content/b.md": article("B", extra="tags: [выборы]\n"),
        },
    )
    assert site.tag_slugs == (("Courts", "courts"), ("Выборы", "vybory"), ("выборы", "vybory"))
    assert site.tag_slug("выборы") == site.tag_slug("Выборы")


def test_words_and_reading_time(tmp_path: Path) -> None:
    body = (
        "# Heading here\n\n- one two\n- three [link text](https://example.org/long/url)\n\n"
        "![alt words](/x.jpg)\n\n<b>bold</b> — end.\n"
    )
    site = load(tmp_path, {"content/a.md": article(body=body), "static/x.jpg": JPEG})
    # Heading here one two three link text bold end.
    assert site.articles[0].words == 9
    assert site.articles[0].reading_minutes == 1


def test_summary_lead_and_description_fallback(tmp_path: Path) -> None:
    site = load(
        tmp_path,
        {
            "content/a.md": article("A", extra="summary: S\ndescription: D\nlead: L\n"),
            "content/b.md": article("B", extra="description: D\n"),
        },
    )
    got = {a.title: (a.summary, a.lead) for a in site.articles}
    assert got == {"A": ("S", "L"), "B": ("D", "")}


def test_progress_is_reported(tmp_path: Path) -> None:
    calls: list[tuple[str, int, int | None]] = []

    def progress(task: str, done: int, total: int | None, detail: str = "") -> None:
        calls.append((task, done, total))

    load_site(make_site(tmp_path, {"content/a.md": article()}), progress=progress)
    assert calls[-1] == ("load content", 1, 1)


@pytest.mark.parametrize(
    "image",
    [
        "image: /images/court.jpg\n",
        "image:\n  src: /images/court.jpg\n  caption: The court\n",
        "image:\n  src: /images/court.jpg\n  alt: '   '\n",
        "image: /images/court.jpg\nimage_alt: ''\n",
    ],
)
def test_lead_image_without_alt_text_warns_with_file_and_line(tmp_path: Path, image: str) -> None:
    loaded = load(
        tmp_path,
        {
            "content/news/court.md": f"---\ntitle: Court\ndate: 2024-05-12\n{image}---\nText.\n",
            "static/images/court.jpg": JPEG,
        },
    )
    assert len(loaded.warnings) == 1
    assert loaded.warnings[0].startswith("content/news/court.md:4: the lead image")
    assert "no alt text" in loaded.warnings[0]
