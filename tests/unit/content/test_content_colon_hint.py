"""An unquoted ': ' in a front matter value gets a hint that shows the line fixed — and the
fixed line really parses to the text the author meant."""

from __future__ import annotations

import re

import pytest
import yaml

from tamizdat.content.frontmatter import load_yaml
from tamizdat.errors import ContentError

_FIXED = re.compile(r"must be in quotes: (.*)$")


@pytest.mark.parametrize(
    ("line", "key", "meant"),
    [
        ("title: Breaking: the news", "title", "Breaking: the news"),
        ("title: Время: 10:30", "title", "Время: 10:30"),
        ('summary: He said "no": twice', "summary", 'He said "no": twice'),
        ("summary: a\\b: c", "summary", "a\\b: c"),
        ("author: Ann: Smith # a comment", "author", "Ann: Smith"),
    ],
)
@pytest.mark.parametrize("before", ["lang: en\n", ""])
def test_the_hint_is_a_line_that_parses(line: str, key: str, meant: str, before: str) -> None:
    with pytest.raises(ContentError) as caught:
        load_yaml(f"{before}{line}\n", "content/a.md", first_line=2)
    assert caught.value.where == f"content/a.md:{2 + before.count(chr(10))}"
    match = _FIXED.search(caught.value.hint or "")
    assert match, caught.value.hint
    assert yaml.safe_load(match.group(1)) == {key: meant}


def test_a_list_item_gets_the_hint_too() -> None:
    with pytest.raises(ContentError) as caught:
        load_yaml("- tag: a: b\n", "data/tags.yaml")
    match = _FIXED.search(caught.value.hint or "")
    assert match, caught.value.hint
    assert yaml.safe_load(match.group(1)) == {"tag": "a: b"}


def test_hostile_values_are_cut_and_cleaned_in_the_hint() -> None:
    with pytest.raises(ContentError) as caught:
        load_yaml("title: " + "x" * 500 + ": y\n", "a.md")
    assert len(caught.value.hint or "") < 150
    with pytest.raises(ContentError) as caught:
        load_yaml("title: a\u202eb: c\n", "a.md")  # a right-to-left override in the value
    assert "\u202e" not in (caught.value.hint or "")


def test_other_yaml_errors_get_no_quoting_hint() -> None:
    with pytest.raises(ContentError) as caught:
        load_yaml("title: [unclosed\n", "a.md")
    assert "quotes" not in (caught.value.hint or "")
