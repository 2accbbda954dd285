"""tamizdat.toml: every mistake is a ConfigError naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tamizdat.config import load_config
from tamizdat.errors import ConfigError

MINIMAL = '[site]\ntitle = "Exile Daily"\n'


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "tamizdat.toml").write_text(text, encoding="utf-8")
    return tmp_path


def config_error(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return info.value


def test_minimal_config_has_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.site.language_codes == ("en",)
    assert config.site.desk_names == ("news",)
    assert config.build.content_dir == tmp_path.resolve() / "content"
    assert config.build.static_dirs == (tmp_path.resolve() / "static", tmp_path.resolve() / "media")
    assert config.signing.root_threshold == 2
    assert config.signing.root_holders == 3
    assert config.mirrors == ()


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert info.value.hint is not None
    assert "tamizdat init" in info.value.hint
    error = config_error(tmp_path, '[site]\ntitle = "x\n')
    assert "invalid TOML" in error.message
    assert "line 2" in error.message


@pytest.mark.parametrize(
    ("text", "key", "hint"),
    [
        ('[site]\ntitel = "x"\n', "site.titel", "did you mean 'title'?"),
        (MINIMAL + "[biuld]\n", "biuld", "did you mean 'build'?"),
        (
            MINIMAL + "[build]\ncontent_dri = 'c'\n",
            "build.content_dri",
            "did you mean 'content_dir'?",
        ),
        (
            MINIMAL + "[signing]\nroot_treshold = 2\n",
            "signing.root_treshold",
            "did you mean 'root_threshold'?",
        ),
    ],
)
def test_unknown_keys_name_the_key_and_suggest(
    tmp_path: Path, text: str, key: str, hint: str
) -> None:
    error = config_error(tmp_path, text)
    assert error.where == f"{tmp_path.resolve() / 'tamizdat.toml'}: {key}"
    assert error.message == "unknown key"
    assert error.hint == hint


@pytest.mark.parametrize(
    ("text", "key", "found"),
    [
        (MINIMAL + "[build]\npage_size = 'ten'\n", "build.page_size", "found str"),
        (MINIMAL + "[build]\npage_size = true\n", "build.page_size", "found a boolean"),
        (MINIMAL + "[build]\npage_size = 0\n", "build.page_size", "found 0"),
        (MINIMAL + "[build]\nstatic_dirs = 'static'\n", "build.static_dirs", "found str"),
        (MINIMAL + "[build]\nimage_widths = [480, 'x']\n", "build.image_widths", "'x'"),
        (MINIMAL + "[build]\nimage_quality = 101\n", "build.image_quality", "found 101"),
        (MINIMAL + "[build]\ncorrections = 'strict'\n", "build.corrections", "found 'strict'"),
        (MINIMAL + "[build]\ncorrections = true\n", "build.corrections", "found a boolean"),
        ("[site]\ntitle = 5\n", "site.title", "found int"),
        (
            MINIMAL + "[signing]\nstrict_corrections = 'yes'\n",
            "signing.strict_corrections",
            "found str",
        ),
    ],
)
def test_wrong_types_name_the_key(tmp_path: Path, text: str, key: str, found: str) -> None:
    error = config_error(tmp_path, text)
    assert error.where is not None
    assert error.where.endswith(f": {key}")
    assert found in error.message


def test_corrections_default_to_warn_without_warnings(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.build.corrections == "warn"
    assert config.warnings == ()
    strict = load_config(write(tmp_path, MINIMAL + '[build]\ncorrections = "fail"\n'))
    assert strict.build.corrections == "fail"


@pytest.mark.parametrize(
    ("legacy", "build", "mode"),
    [("true", "", "fail"), ("false", "", "warn"), ("true", 'corrections = "fail"', "fail")],
)
def test_signing_strict_corrections_is_a_deprecated_alias(
    tmp_path: Path, legacy: str, build: str, mode: str
) -> None:
    text = f"{MINIMAL}[build]\n{build}\n[signing]\nstrict_corrections = {legacy}\n"
    config = load_config(write(tmp_path, text))
    assert config.build.corrections == mode
    (warning,) = config.warnings
    assert "signing.strict_corrections is deprecated" in warning
    assert f'corrections = "{mode}"' in warning


def test_signing_strict_corrections_may_not_contradict_the_build(tmp_path: Path) -> None:
    text = f'{MINIMAL}[build]\ncorrections = "warn"\n[signing]\nstrict_corrections = true\n'
    error = config_error(tmp_path, text)
    assert error.where is not None
    assert error.where.endswith(": signing.strict_corrections")
    assert "contradicts" in error.message


def test_threshold_above_holders_is_refused(tmp_path: Path) -> None:
    error = config_error(tmp_path, MINIMAL + "[signing]\nroot_threshold = 4\nroot_holders = 3\n")
    assert error.where is not None
    assert error.where.endswith(": signing.root_threshold")
    assert "exceeds" in error.message


MIRROR = '[[mirrors]]\nname = "cdn"\nurl = "s3://bucket/site"\n'


@pytest.mark.parametrize(
    "option", ["secret_access_key", "password", "aws_access_key_id", "api_key", "session_token"]
)
def test_secrets_in_mirror_options_are_refused(tmp_path: Path, option: str) -> None:
    error = config_error(tmp_path, MINIMAL + MIRROR + f'[mirrors.options]\n{option} = "x"\n')
    assert error.where is not None
    assert error.where.endswith(f"mirrors[0].options.{option}")
    assert "credentials" in error.message


def test_passwords_in_mirror_urls_are_refused(tmp_path: Path) -> None:
    text = MINIMAL + '[[mirrors]]\nname = "box"\nurl = "sftp://me:hunter2@host/site"\n'
    error = config_error(tmp_path, text)
    assert error.where is not None
    assert error.where.endswith("mirrors[0].url")


def test_harmless_mirror_options_are_kept(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path, MINIMAL + MIRROR + '[mirrors.options]\nendpoint_url = "http://127.0.0.1:9"\n'
        )
    )
    assert config.mirrors[0].options == {"endpoint_url": "http://127.0.0.1:9"}


def test_duplicate_mirror_names_are_refused(tmp_path: Path) -> None:
    error = config_error(tmp_path, MINIMAL + MIRROR + MIRROR)
    assert "used twice" in error.message


def test_languages_default_first_in_file_order(tmp_path: Path) -> None:
    text = (
        '[site]\ntitle = "T"\ndefault_language = "ru"\n'
        '[languages.en]\ntitle = "English"\n[languages.uk]\n[languages.ru]\ntitle = "Русский"\n'
    )
    config = load_config(write(tmp_path, text))
    assert config.site.language_codes == ("ru", "en", "uk")
    assert config.site.language("uk").title == "T"
    assert config.site.default_language == "ru"


def test_default_language_must_be_configured(tmp_path: Path) -> None:
    text = '[site]\ntitle = "T"\ndefault_language = "de"\n[languages.en]\n[languages.ru]\n'
    error = config_error(tmp_path, text)
    assert error.where is not None
    assert error.where.endswith(": site.default_language")
    assert "'de'" in error.message


@pytest.mark.parametrize("code", ["English", "r", "ru_RU"])
def test_language_codes_are_checked(tmp_path: Path, code: str) -> None:
    error = config_error(tmp_path, f'[site]\ntitle = "T"\ndefault_language = "{code}"\n')
    assert error.where is not None
    assert error.where.endswith(": site.default_language")
    error = config_error(tmp_path, f'{MINIMAL}[languages.en]\n[languages."{code}"]\n')
    assert error.where is not None
    assert error.where.endswith(f": languages.{code}")


def test_desks_and_default_desk(tmp_path: Path) -> None:
    text = (
        MINIMAL
        + '[build]\ndefault_desk = "world"\n[desks.world]\ntitle = "World"\n[desks.culture]\n'
    )
    config = load_config(write(tmp_path, text))
    assert config.site.desk_names == ("world", "culture")
    error = config_error(tmp_path, MINIMAL + "[desks.world]\n[desks.culture]\n")
    assert error.where is not None
    assert error.where.endswith(": build.default_desk")


@pytest.mark.parametrize("key", ["content_dir", "data_dir", "theme_dir"])
@pytest.mark.parametrize("value", ["../elsewhere", "/etc", "sub/../../up"])
def test_input_folders_outside_the_site_are_refused(tmp_path: Path, key: str, value: str) -> None:
    site = tmp_path / "site"
    site.mkdir()
    error = config_error(site, MINIMAL + f"[build]\n{key} = {value!r}\n")
    assert error.where is not None
    assert error.where.endswith(f"build.{key}")
    assert "inside the site folder" in error.message


@pytest.mark.parametrize("opt_in", [False, True])
def test_input_folder_reached_through_a_link(tmp_path: Path, opt_in: bool) -> None:
    """A link out is refused either way; a link inside only with the opt-in."""
    site = tmp_path / "site"
    (site / "real-media").mkdir(parents=True)
    (tmp_path / "keys").mkdir()
    (site / "media").symlink_to("real-media", target_is_directory=True)
    (site / "static").symlink_to(tmp_path / "keys", target_is_directory=True)
    flag = f"follow_links_inside_site = {str(opt_in).lower()}\n"
    out = config_error(site, MINIMAL + f"[build]\n{flag}static_dirs = ['static']\n")
    assert out.where is not None
    assert out.where.endswith("build.static_dirs")
    text = MINIMAL + f"[build]\n{flag}static_dirs = ['media']\n"
    if opt_in:
        config = load_config(write(site, text))
        assert config.build.static_dirs == (site.resolve() / "real-media",)
        assert config.build.links_inside == site.resolve()
    else:
        assert "symbolic link" in config_error(site, text).message
        (site / "static").unlink()
        (site / "media").unlink()
        assert load_config(write(site, MINIMAL)).build.links_inside is None
