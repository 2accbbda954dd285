"""The authors data file: formats, localised names, pseudonyms, errors with FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.content_site import make_site
from tamizdat.content import Author, load_site
from tamizdat.errors import ContentError


def authors_from(
    tmp_path: Path, name: str, text: str
) -> tuple[tuple[Author, ...], tuple[str, ...]]:
    config = make_site(tmp_path, {f"data/{name}": text}, authors=None)
    site = load_site(config)
    return site.authors, site.warnings


def error_from(tmp_path: Path, name: str, text: str) -> ContentError:
    with pytest.raises(ContentError) as info:
        authors_from(tmp_path, name, text)
    return info.value


def test_yaml_with_localised_names_and_bios(tmp_path: Path) -> None:
    text = (
        "zoya:\n  name: Zoya K.\n  bio: Editor.\n  bio_ru: Редактор.\n  names: {ru: Зоя К.}\n"
        "  pseudonym: true\n  email: z@example.org\nbob: Bob Plain\n"
    )
    authors, warnings = authors_from(tmp_path, "authors.yaml", text)
    assert authors == (
        Author("bob", "Bob Plain"),
        Author("zoya", "Zoya K.", "Editor.", True, (("ru", "Зоя К."),), (("ru", "Редактор."),)),
    )
    assert authors[1].bio_in("ru") == "Редактор."
    assert warnings == ()


def test_toml_and_json_formats(tmp_path: Path) -> None:
    toml = '[anna]\nname = "Anna"\nname_ru = "Анна"\n'
    authors, _ = authors_from(tmp_path / "t", "authors.toml", toml)
    assert authors[0].name_in("ru") == "Анна"
    json = '{"anna": {"name": "Anna", "pseudonym": false}}'
    authors, _ = authors_from(tmp_path / "j", "authors.json", json)
    assert authors == (Author("anna", "Anna"),)


def test_list_form_with_keys(tmp_path: Path) -> None:
    authors, _ = authors_from(tmp_path, "authors.yml", "- key: a\n  name: A\n- id: b\n  name: B\n")
    assert [a.key for a in authors] == ["a", "b"]


def test_missing_name_names_the_author_line(tmp_path: Path) -> None:
    error = error_from(tmp_path, "authors.yaml", "anna:\n  name: Anna\nivan:\n  bio: no name\n")
    assert error.where == "data/authors.yaml:3"
    assert "has no name" in error.message


def test_wrong_field_type_names_the_field_line(tmp_path: Path) -> None:
    error = error_from(tmp_path, "authors.yaml", "anna:\n  name: Anna\n  pseudonym: maybe\n")
    assert error.where == "data/authors.yaml:3"


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    error = error_from(tmp_path, "authors.yaml", "anna:\n  name: Anna\n  bio: [unclosed\n")
    assert error.where is not None
    assert error.where.startswith("data/authors.yaml:")
    assert int(error.where.rsplit(":", 1)[1]) >= 3


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    error = error_from(tmp_path, "authors.json", '{\n  "anna": {"name": "A"},\n  oops\n}')
    assert error.where == "data/authors.json:3"


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    config = make_site(tmp_path, {"data/authors.yaml": b"a: A\nb: \xff\n"}, authors=None)
    with pytest.raises(ContentError) as info:
        load_site(config)
    assert info.value.where == "data/authors.yaml:2"


def test_unknown_field_warns_with_suggestion(tmp_path: Path) -> None:
    _, warnings = authors_from(tmp_path, "authors.yaml", "anna:\n  name: Anna\n  boi: x\n")
    assert warnings == ("data/authors.yaml:3: unknown author field 'boi' (did you mean 'bio'?)",)


def test_two_authors_files_are_refused(tmp_path: Path) -> None:
    config = make_site(tmp_path, {"data/authors.json": "{}"})
    with pytest.raises(ContentError) as info:
        load_site(config)
    assert "data/authors.yaml" in info.value.message
    assert "data/authors.json" in info.value.message
