"""Front matter: every malformed input is a ContentError naming FILE:LINE."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from support.content_site import article, make_site
from tamizdat.content import load_site
from tamizdat.errors import ContentError


def load_one(tmp_path: Path, text: str | bytes, name: str = "content/posts/x.md"):  # type: ignore[no-untyped-def]
    return load_site(make_site(tmp_path, {name: text}))


def error_of(tmp_path: Path, text: str | bytes) -> ContentError:
    with pytest.raises(ContentError) as info:
        load_one(tmp_path, text)
    return info.value


def test_invalid_yaml_names_the_line_of_the_problem(tmp_path: Path) -> None:
    text = "---\ntitle: Fine\ndate: 2024-01-01\ntags: [a, b\nlead: x\n---\nbody\n"
    error = error_of(tmp_path, text)
    assert error.where is not None
    file, line = error.where.rsplit(":", 1)
    assert file == "content/posts/x.md"
    assert int(line) in (5, 6)  # libyaml reports where the flow sequence breaks
    assert "invalid YAML" in error.message


def test_yaml_error_on_a_later_line_is_offset_by_the_opening_marker(tmp_path: Path) -> None:
    text = '---\ntitle: Fine\ndate: 2024-01-01\nsummary: "unclosed\n---\nbody\n'
    error = error_of(tmp_path, text)
    assert error.where is not None
    assert error.where.startswith("content/posts/x.md:")
    assert int(error.where.rsplit(":", 1)[1]) >= 4


def test_invalid_toml_front_matter_names_the_line(tmp_path: Path) -> None:
    text = '+++\ntitle = "Fine"\ndate = 2024-01-01\ntags = [1,\n+++\nbody\n'
    error = error_of(tmp_path, text)
    assert error.where is not None
    assert error.where.startswith("content/posts/x.md:")
    assert int(error.where.rsplit(":", 1)[1]) >= 4
    assert "invalid TOML" in error.message


def test_unclosed_front_matter(tmp_path: Path) -> None:
    error = error_of(tmp_path, "---\ntitle: x\ndate: 2024-01-01\nbody\n")
    assert error.where == "content/posts/x.md:1"
    assert "never closed" in error.message


def test_front_matter_that_is_not_a_mapping(tmp_path: Path) -> None:
    error = error_of(tmp_path, "---\n- a\n- b\n---\nbody\n")
    assert error.where == "content/posts/x.md:2"


def test_invalid_utf8_names_the_line_of_the_first_bad_byte(tmp_path: Path) -> None:
    raw = article().encode() + b"line six\nbad \xff byte\n"
    error = error_of(tmp_path, raw)
    assert error.where == "content/posts/x.md:7"
    assert "UTF-8" in error.message


def test_missing_title(tmp_path: Path) -> None:
    error = error_of(tmp_path, "---\ndate: 2024-01-01\n---\nbody\n")
    assert error.where == "content/posts/x.md:1"
    assert "missing title" in error.message


def test_missing_title_points_at_a_misspelt_title_key(tmp_path: Path) -> None:
    error = error_of(tmp_path, "---\ndate: 2024-01-01\ntitel: Hello\n---\nbody\n")
    assert error.where == "content/posts/x.md:3"
    assert "missing title" in error.message
    assert error.hint is not None
    assert "did you mean 'title'" in error.hint


def test_empty_title_names_its_line(tmp_path: Path) -> None:
    error = error_of(tmp_path, '---\ndate: 2024-01-01\ntitle: ""\n---\nbody\n')
    assert error.where == "content/posts/x.md:3"


def test_no_front_matter_at_all_is_a_missing_title(tmp_path: Path) -> None:
    error = error_of(tmp_path, "Just text.\n")
    assert error.where == "content/posts/x.md:1"
    assert "missing title" in error.message


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "01.02.2024", "[2024]"])
def test_bad_date_names_its_line(tmp_path: Path, value: str) -> None:
    error = error_of(tmp_path, f"---\ntitle: T\nlead: L\ndate: {value}\n---\nbody\n")
    assert error.where == "content/posts/x.md:4"
    assert "'date' is not a date" in error.message


def test_bad_lastmod_names_its_line(tmp_path: Path) -> None:
    error = error_of(tmp_path, "---\ntitle: T\ndate: 2024-01-01\nlastmod: soon\n---\nb\n")
    assert error.where == "content/posts/x.md:4"


# A page without 'date' builds as Hugo builds it (docs/migrating-from-hugo.md): the first of
# Hugo's other date keys, else a date opening the file or bundle name, else Hugo's zero
# date; never the file's mtime or git history, so every checkout builds the same site.
UNDATED_CASES = [
    ("content/posts/x.md", "publishDate: 2024-02-03", datetime(2024, 2, 3, tzinfo=UTC)),
    ("content/posts/x.md", "pubdate: 2024-02-04", datetime(2024, 2, 4, tzinfo=UTC)),
    ("content/posts/x.md", "published: 2024-02-05", datetime(2024, 2, 5, tzinfo=UTC)),
    ("content/posts/x.md", "lastmod: 2024-02-06", datetime(2024, 2, 6, tzinfo=UTC)),
    ("content/posts/x.md", "modified: 2024-02-07", datetime(2024, 2, 7, tzinfo=UTC)),
    ("content/posts/2023-04-05-hello.md", "", datetime(2023, 4, 5, tzinfo=UTC)),
    ("content/posts/2023-04-06_hello.ru.md", "", datetime(2023, 4, 6, tzinfo=UTC)),
    ("content/posts/2023-04-07-trip/index.md", "", datetime(2023, 4, 7, tzinfo=UTC)),
    ("content/posts/2023-13-40-bad.md", "", datetime(1, 1, 1, tzinfo=UTC)),
    ("content/posts/20230405-no-dashes.md", "", datetime(1, 1, 1, tzinfo=UTC)),
    ("content/posts/x.md", "", datetime(1, 1, 1, tzinfo=UTC)),
]


@pytest.mark.parametrize(("name", "line", "expected"), UNDATED_CASES)
def test_page_without_date_is_dated_as_hugo_does(
    tmp_path: Path, name: str, line: str, expected: datetime
) -> None:
    text = f"---\ntitle: T\n{line}\n---\nbody\n"
    site = load_site(make_site(tmp_path, {name: text}))
    (only,) = site.articles
    assert only.date == expected
    warned = [w for w in site.warnings if w.startswith(f"{name}:1: no date")]
    assert bool(warned) is (not line), site.warnings  # warned only when no key dates it


def test_undated_page_does_not_depend_on_the_file_system(tmp_path: Path) -> None:
    config = make_site(tmp_path, {"content/posts/x.md": "---\ntitle: T\n---\nbody\n"})
    first = load_site(config).articles[0].date
    os.utime(config.root / "content/posts/x.md", (1_700_000_000, 1_700_000_000))
    shutil.rmtree(config.build.cache_dir, ignore_errors=True)
    assert load_site(config).articles[0].date == first == datetime(1, 1, 1, tzinfo=UTC)


def test_published_false_is_still_a_draft_flag_not_a_date(tmp_path: Path) -> None:
    site = load_site(
        make_site(tmp_path, {"content/posts/x.md": "---\ntitle: T\npublished: false\n---\nb\n"}),
        include_drafts=True,
    )
    assert site.articles[0].draft
    assert site.articles[0].date == datetime(1, 1, 1, tzinfo=UTC)


MSK = timezone(timedelta(hours=3))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-01 09:30:00", datetime(2024, 3, 1, 9, 30, tzinfo=UTC)),
        ("2024-03-01T09:30:00+03:00", datetime(2024, 3, 1, 9, 30, tzinfo=MSK)),
        ("2024-03-01T06:30:00Z", datetime(2024, 3, 1, 6, 30, tzinfo=UTC)),
        ('"2024-03-01T09:30"', datetime(2024, 3, 1, 9, 30, tzinfo=UTC)),
        ('"2024-03-01T09:30:00+0300"', datetime(2024, 3, 1, 9, 30, tzinfo=MSK)),
    ],
)
def test_accepted_dates_are_timezone_aware(tmp_path: Path, value: str, expected: datetime) -> None:
    site = load_one(tmp_path, article(date=value))
    moment = site.articles[0].date
    assert moment.tzinfo is not None
    assert moment == expected


def test_toml_front_matter_with_native_dates(tmp_path: Path) -> None:
    text = '+++\ntitle = "Из TOML"\ndate = 2023-11-05T08:00:00+03:00\ntags = ["a"]\n+++\nbody\n'
    site = load_one(tmp_path, text)
    only = site.articles[0]
    assert only.title == "Из TOML"
    assert only.date == datetime(2023, 11, 5, 5, 0, tzinfo=UTC)
    assert only.body_line == 6


def test_unknown_key_warns_with_file_line_and_suggestion(tmp_path: Path) -> None:
    site = load_one(tmp_path, "---\ntitle: T\ndate: 2024-01-01\ntitel: Oops\n---\nbody\n")
    assert site.warnings == (
        "content/posts/x.md:4: unknown front-matter key 'titel' (did you mean 'title'?)",
    )


def test_unknown_key_without_a_close_match_warns_without_suggestion(tmp_path: Path) -> None:
    site = load_one(tmp_path, article(extra="zzqqx: 1\n"))
    assert site.warnings == ("content/posts/x.md:4: unknown front-matter key 'zzqqx'",)


def test_known_hugo_and_jekyll_keys_do_not_warn(tmp_path: Path) -> None:
    extra = (
        "weight: 3\naliases: [/old/]\nurl: /x/\nlayout: post\ntype: post\nkeywords: [k]\n"
        "permalink: /p/\nseries: [s]\ntoc: true\n"
    )
    site = load_one(tmp_path, article(extra=extra))
    assert site.warnings == ()


def test_wrong_types_name_the_key_line(tmp_path: Path) -> None:
    error = error_of(tmp_path, article(extra="draft: maybe\n"))
    assert error.where == "content/posts/x.md:4"
    error = error_of(tmp_path, article(extra="summary:\n  a: b\n"))
    assert error.where == "content/posts/x.md:4"
    error = error_of(tmp_path, article(extra="tags:\n  - a\n  - {b: c}\n"))
    assert error.where == "content/posts/x.md:4"


def test_body_line_and_body(tmp_path: Path) -> None:
    site = load_one(tmp_path, article(body="First line.\n\nSecond."))
    only = site.articles[0]
    assert only.body_line == 5
    assert only.body.startswith("First line.")
