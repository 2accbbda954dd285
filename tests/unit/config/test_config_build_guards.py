"""``[build] budget`` and ``[build.allow_scripts]``: defaults, and errors naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from tamizdat.config import Config, load_config
from tamizdat.errors import ConfigError

MINIMAL = '[site]\ntitle = "Exile Daily"\n'
DIGEST = "sha256:" + "ab" * 32


def load_config_text(tmp_path: Path, build: str) -> Config:
    (tmp_path / "tamizdat.toml").write_text(MINIMAL + build, encoding="utf-8")
    return load_config(tmp_path)


def test_defaults_fail_over_budget_and_allow_no_script(tmp_path: Path) -> None:
    config = load_config_text(tmp_path, "")
    assert config.build.budget == "fail"
    assert config.build.allow_scripts == ()


def test_values_are_read(tmp_path: Path) -> None:
    text = f'[build]\nbudget = "warn"\n[build.allow_scripts]\n"static/a.js" = "{DIGEST}"\n'
    config = load_config_text(tmp_path, text)
    assert config.build.budget == "warn"
    assert config.build.allow_scripts == (("static/a.js", DIGEST),)


@pytest.mark.parametrize(
    ("text", "key", "found"),
    [
        ('[build]\nbudget = "warning"\n', "build.budget", "'warning'"),
        ("[build]\nbudget = true\n", "build.budget", ""),
        (
            '[build.allow_scripts]\n"static/a.js" = "ab12"\n',
            "build.allow_scripts.static/a.js",
            "ab12",
        ),
        ('[build.allow_scripts]\n"a.js" = "SHA256:' + "AB" * 32 + '"\n', "allow_scripts.a.js", ""),
        ('[build.allow_scripts]\n"a.js" = 1\n', "allow_scripts.a.js", ""),
        ('[build]\nallow_scripts = ["a.js"]\n', "build.allow_scripts", ""),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, text: str, key: str, found: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(tmp_path, text)
    assert caught.value.where is not None
    assert key in caught.value.where
    assert found in caught.value.message
