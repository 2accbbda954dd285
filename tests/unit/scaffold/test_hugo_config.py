"""Reading a Hugo configuration: every bad file or value is one error naming file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tamizdat.errors import ConfigError, UserError
from tamizdat.scaffold.hugo import import_hugo


def _site(tmp_path: Path, files: dict[str, str]) -> Path:
    site = tmp_path / "hugo"
    for name, text in files.items():
        path = site / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    (site / "content").mkdir(parents=True, exist_ok=True)
    return site


@pytest.mark.parametrize(
    ("name", "text", "where", "message"),
    [
        ("hugo.toml", 'title = "x\n', "hugo.toml", "invalid TOML"),
        ("hugo.yaml", "title: [x\nbaseURL: y\n", "hugo.yaml:2", "invalid YAML"),
        ("hugo.json", '{"title": }', "hugo.json:1", "invalid JSON"),
        ("hugo.yaml", "a: &a [1]\nb: *a\n", "hugo.yaml:2", "alias"),
        ("hugo.toml", "title = 5\n", "hugo.toml: title", "expected a string"),
        ("hugo.toml", 'baseURL = ["x"]\n', "hugo.toml: baseurl", "expected a string"),
        ("hugo.toml", "[languages]\nru = 1\n", "hugo.toml: languages.ru", "expected a table"),
        (
            "hugo.toml",
            "[languages.ru]\nweight = 'first'\n",
            "hugo.toml: languages.ru.weight",
            "expected an integer",
        ),
        (
            "hugo.toml",
            "[languages.ru]\ncontentDir = 'content/ru'\n",
            "hugo.toml: languages.ru.contentDir",
            "not supported",
        ),
        (
            "hugo.toml",
            "defaultContentLanguage = 'de'\n[languages.ru]\n",
            "hugo.toml: defaultContentLanguage",
            "not one of the languages",
        ),
        ("hugo.toml", "[languages.'Русский']\n", "hugo.toml: languages.русский", "language code"),
        ("hugo.toml", "[params]\ndescription = 3\n", "hugo.toml: params.description", "string"),
        (
            "config/_default/languages.toml",
            "[ru]\ntitle = 1\n",
            "config/_default/languages.toml: languages.ru.title",
            "expected a string",
        ),
    ],
)
def test_unreadable_hugo_config_names_file_and_key(
    tmp_path: Path, name: str, text: str, where: str, message: str
) -> None:
    site = _site(tmp_path, {name: text})
    with pytest.raises(UserError) as info:
        import_hugo(site)
    assert isinstance(info.value, ConfigError)
    assert info.value.where is not None
    assert info.value.where.endswith(where), info.value.where
    assert message in info.value.message
    assert not (site / "tamizdat.toml").exists()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("staticDir", '"/etc"'),
        ("staticDir", '["static", "../../secrets"]'),
        ("contentDir", '"../elsewhere"'),
        ("dataDir", '"/home"'),
    ],
)
def test_folders_outside_the_hugo_site_are_refused(tmp_path: Path, key: str, value: str) -> None:
    site = _site(tmp_path, {"hugo.toml": f"title = 't'\n{key} = {value}\n"})
    with pytest.raises(ConfigError, match="inside the Hugo site") as info:
        import_hugo(site)
    assert info.value.where == f"{site / 'hugo.toml'}: {key.lower()}"


def test_a_linked_folder_that_resolves_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    site = _site(tmp_path, {"hugo.toml": "title = 't'\nstaticDir = 'media'\n"})
    (site / "media").symlink_to(outside)
    with pytest.raises(ConfigError, match="resolves outside the Hugo site"):
        import_hugo(site)


def test_no_hugo_config_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no Hugo configuration found") as info:
        import_hugo(_site(tmp_path, {}))
    assert info.value.hint is not None


def test_hugo_file_wins_over_config_file_and_keys_are_case_insensitive(tmp_path: Path) -> None:
    site = _site(
        tmp_path,
        {
            "hugo.toml": 'TITLE = "From hugo.toml"\nBaseUrl = "https://a.example/"\n',
            "config.toml": 'title = "From config.toml"\n',
        },
    )
    done = import_hugo(site)
    assert done.config_files == ("hugo.toml",)
    text = (site / "tamizdat.toml").read_text("utf-8")
    assert 'title = "From hugo.toml"' in text
    assert 'base_url = "https://a.example/"' in text


def test_a_relative_base_url_is_noted_and_replaced(tmp_path: Path) -> None:
    done = import_hugo(_site(tmp_path, {"hugo.toml": 'title = "t"\nbaseURL = "/"\n'}))
    assert any("baseURL '/' is not an http(s) URL" in note for note in done.notes)
