"""The shared catalogs, and reading the browser's Accept-Language (a header anyone sends)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tamizdat.catalogs import (
    accepted_languages,
    catalog_languages,
    preferred_language,
    translations_for,
)

SAFE_TAG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8}){0,3}$")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ru-RU,ru;q=0.9,en-US;q=0.8,en;q=0.7", ["ru-ru", "ru", "en-us", "en"]),
        ("en;q=0.1, ru", ["ru", "en"]),
        ("de;q=0, fr", ["fr"]),
        ("*, ../../etc, ru/../x, <script>", []),
        ("ru;q=abc, en", ["en"]),
        ("", []),
        (None, []),
    ],
)
def test_accept_language_is_ordered_by_quality(header: str | None, expected: list[str]) -> None:
    assert accepted_languages(header) == expected


def test_preferred_language_picks_the_first_the_site_has() -> None:
    assert preferred_language("fr, ru-RU;q=0.5, en;q=0.4", ["en", "ru"]) == "ru"
    assert preferred_language("fr", ["en", "ru"]) is None
    assert preferred_language("EN-gb", ["en"]) == "en"


@given(st.text(max_size=2000))
def test_any_header_gives_only_path_safe_tags_and_few_of_them(header: str) -> None:
    tags = accepted_languages(header)
    assert len(tags) <= 16
    assert all(SAFE_TAG.match(tag) for tag in tags)


def test_ru_and_en_catalogs_ship_and_unknown_languages_fall_back_to_english() -> None:
    assert {"en", "ru"} <= set(catalog_languages())
    assert translations_for("ru").gettext("Page not found") == "Страница не найдена"
    assert translations_for("xx").gettext("Page not found") == "Page not found"
