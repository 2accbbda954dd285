"""Transliteration and slugs: deterministic, ASCII, bounded, never empty."""

from __future__ import annotations

import pytest

from tamizdat.content import slugify, transliterate
from tamizdat.content.slugs import MAX_SLUG_LENGTH, is_valid_slug


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Москва", None, "Moskva"),
        ("Щёлково", None, "Shchyolkovo"),
        ("ЖУК и щука", None, "ZHUK i shchuka"),
        ("Объявление съезда", None, "Obyavlenie sezda"),
        ("Київ", "uk", "Kyiv"),
        ("Україна", "uk", "Ukraina"),
        ("Юлія Яремчук", "uk", "Yuliia Yaremchuk"),
        ("Хмельницький", "uk", "Khmelnytskyi"),
        ("Ґанок і ґудзик", None, "Ganok i gudzik"),
        ("Гродна", "be", "Hrodna"),
        ("Гродна", None, "Grodna"),
        ("Беларусь ў свеце", None, "Belarus u svetse"),
        ("Łódź — café", None, "Lodz — cafe"),
        ("Straße", None, "Strasse"),
    ],
)
def test_transliterate_examples(text: str, lang: str | None, expected: str) -> None:
    assert transliterate(text, lang) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Суд над журналистами: второй день", "sud-nad-zhurnalistami-vtoroy-den"),
        ("  Hello,   World!!  ", "hello-world"),
        ("Ёлки-палки", "yolki-palki"),
        ("2024: год выборов", "2024-god-vyborov"),
        ("Don't panic", "dont-panic"),
    ],
)
def test_slugify_examples(text: str, expected: str) -> None:
    assert slugify(text) == expected


def test_slugify_uses_language_rules() -> None:
    assert slugify("Гнат", lang="uk") == "hnat"
    assert slugify("Гнат") == "gnat"


def test_slugify_cuts_long_titles_on_a_word_boundary() -> None:
    title = "Независимые журналисты в изгнании продолжают работать несмотря на давление " * 3
    slug = slugify(title)
    assert len(slug) <= MAX_SLUG_LENGTH
    assert not slug.endswith("-")
    # The cut falls between words: the slug is a prefix of the uncut slug up to a hyphen.
    full = slugify(title, max_length=10_000)
    assert full.startswith(slug)
    assert full[len(slug)] == "-"


def test_slugify_cuts_one_giant_word_hard() -> None:
    assert slugify("a" * 200) == "a" * MAX_SLUG_LENGTH


def test_slugify_never_empty() -> None:
    assert slugify("東京", fallback="tokyo-report") == "tokyo-report"
    digest = slugify("東京")
    assert digest
    assert is_valid_slug(digest)
    assert digest == slugify("東京")  # stable
    assert digest != slugify("大阪")
    assert slugify("!!!") != ""


def test_slugify_output_is_always_a_valid_slug() -> None:
    samples = ["Привет, мир", "Ça va?", "—", "a--b", "ÅÄÖ", "x" * 300, "Їжак", "ʼ", ""]
    for sample in samples:
        assert is_valid_slug(slugify(sample)), sample


@pytest.mark.parametrize("slug", ["Upper", "with space", "a--b", "-lead", "trail-", "ünï", ""])
def test_invalid_slugs_are_refused(slug: str) -> None:
    assert not is_valid_slug(slug)
