"""The silent-correction check on its own: which changes count, and how records evolve."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tamizdat.content.model import Article, ImageRef
from tamizdat.errors import ContentError
from tamizdat.render.corrections import (
    DIGEST_SCHEME,
    ArticleRecord,
    check_corrections,
    read_records,
    records_to_json,
)

PAGE = "en/news/2024/05/story/index.html"
MAY = datetime(2024, 5, 12, 14, 30, tzinfo=UTC)
HASHES = {"media/photo.jpg": "a" * 64, "media/chart.png": "b" * 64}


def story(**fields: Any) -> Article:
    values: dict[str, Any] = {
        "source": "content/story.md",
        "lang": "en",
        "desk": "news",
        "slug": "story",
        "title": "Dam breaks",
        "date": MAY,
        "updated": None,
        "authors": ("anna",),
        "tags": ("water",),
        "summary": "A summary.",
        "lead": "The lead.",
        "body": "The body.\n\n![chart](chart.png)\n",
        "body_line": 6,
        "draft": False,
        "translation_key": "story",
        "image": ImageRef("media/photo.jpg", "the dam", "Photo: Anna"),
        "words": 3,
        "content_hash": "",
        "body_images": (("chart.png", "media/chart.png"),),
        "extra": (("place", "Nova Kakhovka"),),
    }
    values.update(fields)
    # As the loader does: the source file's hash covers every field (here: all of them).
    values["content_hash"] = hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest()
    return Article(**values)


def check(
    article: Article,
    previous: dict[str, ArticleRecord],
    hashes: dict[str, str] = HASHES,
    mode: str = "warn",
) -> tuple[dict[str, ArticleRecord], tuple[str, ...]]:
    records, found = check_corrections([(PAGE, article)], previous, hashes, mode)  # type: ignore[arg-type]
    return records, tuple(c.message() for c in found)


def first(article: Article) -> dict[str, ArticleRecord]:
    records, warnings = check(article, {})
    assert warnings == ()
    return records


# Every change a reader would see in the article itself.
CONTENT_CHANGES: dict[str, dict[str, Any]] = {
    "title": {"title": "Dam broken"},
    "body": {"body": "The body, corrected.\n\n![chart](chart.png)\n"},
    "lead": {"lead": "Another lead."},
    "summary": {"summary": "Another summary."},
    "tags": {"tags": ("water", "war")},
    "authors": {"authors": ("anna", "boris")},
    "date": {"date": MAY + timedelta(hours=2)},
    "image": {"image": ImageRef("media/chart.png", "the dam", "Photo: Anna")},
    "image alt": {"image": ImageRef("media/photo.jpg", "a dam", "Photo: Anna")},
    "image caption": {"image": ImageRef("media/photo.jpg", "the dam", "Photo: Boris")},
    "image removed": {"image": None},
    "body image": {"body_images": (("chart.png", "media/photo.jpg"),)},
    "extra": {"extra": (("place", "Kherson"),)},
}

# Changes that are not the article's own content (the page path is the record's key).
NOT_CONTENT: dict[str, dict[str, Any]] = {
    "body line": {"body_line": 9},
    "translation key": {"translation_key": "other"},
    "words": {"words": 4},
}


@pytest.mark.parametrize("change", sorted(CONTENT_CHANGES))
def test_a_content_change_without_a_newer_updated_is_reported(change: str) -> None:
    records = first(story())
    _, warnings = check(story(**CONTENT_CHANGES[change]), records)
    assert len(warnings) == 1
    assert warnings[0].startswith("content/story.md: the article changed")
    assert PAGE in warnings[0]


@pytest.mark.parametrize("change", sorted(CONTENT_CHANGES))
def test_a_content_change_with_a_newer_updated_is_not(change: str) -> None:
    records = first(story())
    dated = story(**CONTENT_CHANGES[change], updated=MAY + timedelta(days=1))
    new, warnings = check(dated, records)
    assert warnings == ()
    assert new[PAGE].updated == MAY + timedelta(days=1)


@pytest.mark.parametrize("change", sorted(NOT_CONTENT))
def test_other_fields_are_not_corrections(change: str) -> None:
    records = first(story())
    assert check(story(**NOT_CONTENT[change]), records)[1] == ()


@pytest.mark.parametrize("source", sorted(HASHES))
def test_replacing_an_image_file_is_a_correction(source: str) -> None:
    records = first(story())
    swapped = {**HASHES, source: "c" * 64}
    assert len(check(story(), records, swapped)[1]) == 1
    dated = story(updated=MAY + timedelta(days=1))
    assert check(dated, records, swapped)[1] == ()


@pytest.mark.parametrize(
    ("recorded", "now"),
    [
        (None, None),
        (MAY + timedelta(days=2), MAY + timedelta(days=2)),  # the same date: not forward
        (MAY + timedelta(days=2), MAY + timedelta(days=1)),  # moved back
        (MAY + timedelta(days=2), None),  # removed
    ],
    ids=["never", "same", "earlier", "removed"],
)
def test_updated_must_move_forward(recorded: datetime | None, now: datetime | None) -> None:
    records = first(story(updated=recorded))
    _, warnings = check(story(updated=now, lead="Corrected lead."), records)
    assert len(warnings) == 1


def test_moving_only_the_date_is_not_a_correction() -> None:
    records = first(story(updated=MAY + timedelta(days=2)))
    for updated in (MAY + timedelta(days=3), MAY + timedelta(days=1), None):
        records, warnings = check(story(updated=updated), records)
        assert warnings == ()


def test_no_record_means_no_report() -> None:
    assert check(story(title="Anything"), {})[1] == ()


def test_a_silent_correction_is_reported_until_it_is_dated() -> None:
    records = first(story())
    corrected = story(lead="Corrected lead.")
    for _ in range(3):  # e.g. a preview build in 'serve', then the real one
        records, warnings = check(corrected, records)
        assert len(warnings) == 1
    records, warnings = check(dataclasses.replace(corrected, updated=MAY + timedelta(1)), records)
    assert warnings == ()
    assert check(dataclasses.replace(corrected, updated=MAY + timedelta(1)), records)[1] == ()


def test_reverting_a_silent_correction_clears_it() -> None:
    records = first(story())
    records, warnings = check(story(lead="Corrected lead."), records)
    assert warnings
    assert check(story(), records)[1] == ()


def test_fail_mode_names_every_file_and_page() -> None:
    other = "en/news/2024/05/other/index.html"
    a, b = story(), story(source="content/other.md", slug="other")
    records, _ = check_corrections([(PAGE, a), (other, b)], {}, HASHES, "fail")
    changed = [(PAGE, story(lead="x")), (other, story(source="content/other.md", lead="y"))]
    with pytest.raises(ContentError) as caught:
        check_corrections(changed, records, HASHES, "fail")
    error = caught.value
    assert error.where == "content/story.md"
    assert "content/story.md (page " + PAGE in error.message
    assert "content/other.md (page " + other in error.message
    assert error.hint is not None
    assert "updated" in error.hint


def test_records_survive_the_manifest_round_trip() -> None:
    records = first(story(updated=MAY + timedelta(days=1)))
    assert read_records(records_to_json(records)) == records
    records, _ = check(story(lead="Corrected lead."), records)  # a pending silent correction
    assert records[PAGE].digest != records[PAGE].dated
    assert read_records(records_to_json(records)) == records


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"scheme": DIGEST_SCHEME + 1, "pages": {PAGE: [None, "a", "b", "c"]}},
        {"scheme": DIGEST_SCHEME},
        {"scheme": DIGEST_SCHEME, "pages": []},
        {"scheme": DIGEST_SCHEME, "pages": {PAGE: [None, "a", "b"]}},
        {"scheme": DIGEST_SCHEME, "pages": {PAGE: [None, 1, "b", "c"]}},
        {"scheme": DIGEST_SCHEME, "pages": {PAGE: ["yesterday", "a", "b", "c"]}},
        {"scheme": DIGEST_SCHEME, "pages": {PAGE: ["2024-05-01T10:00:00", "a", "b", "c"]}},
        {"scheme": DIGEST_SCHEME, "pages": {PAGE: [5, "a", "b", "c"]}},
    ],
    ids=[
        "absent",
        "a list",
        "other scheme",
        "no pages",
        "pages a list",
        "short",
        "digest a number",
        "not a date",
        "naive date",
        "date a number",
    ],
)
def test_damaged_records_are_dropped_not_trusted(data: object) -> None:
    assert read_records(data) == {}
