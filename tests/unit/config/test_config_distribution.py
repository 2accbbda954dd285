"""``[distribution]`` in tamizdat.toml: defaults, every key, and each mistake named by key."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from tamizdat.config import DistributionConfig, load_config
from tamizdat.errors import ConfigError, UserError

MINIMAL = '[site]\ntitle = "Exile Daily"\n'
SCAFFOLD = Path(__file__).parents[3] / "src/tamizdat/scaffold/files/tamizdat.toml.in"


def _load(tmp_path: Path, table: str) -> DistributionConfig:
    (tmp_path / "tamizdat.toml").write_text(MINIMAL + "[distribution]\n" + table)
    return load_config(tmp_path).distribution


def test_defaults_without_the_table(tmp_path: Path) -> None:
    (tmp_path / "tamizdat.toml").write_text(MINIMAL)
    assert load_config(tmp_path).distribution == DistributionConfig()


def test_every_key(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        'channels = ["email"]\ngroups = 30\nanswer_size = 2\npool_size = 4\n'
        "period_hours = 12\nrate_limit = 1\nrate_window_hours = 6\n",
    )
    assert config == DistributionConfig(
        channels=("email",),
        groups=30,
        answer_size=2,
        pool_size=4,
        period=timedelta(hours=12),
        rate_limit=1,
        rate_window=timedelta(hours=6),
    )


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("group = 3\n", "distribution.group"),
        ("groups = 0\n", "distribution.groups"),
        ('groups = "4"\n', "distribution.groups"),
        ("answer_size = -1\n", "distribution.answer_size"),
        ("pool_size = 0\n", "distribution.pool_size"),
        ("period_hours = 0\n", "distribution.period_hours"),
        ("rate_limit = 0\n", "distribution.rate_limit"),
        ("rate_window_hours = 0\n", "distribution.rate_window_hours"),
        ("channels = []\n", "distribution.channels"),
        ('channels = ["email", "email"]\n', "distribution.channels"),
        ('channels = ["E-Mail!"]\n', "distribution.channels"),
        ('channels = ["a/b"]\n', "distribution.channels"),
        ("channels = [1]\n", "distribution.channels"),
    ],
)
def test_each_mistake_names_the_key(tmp_path: Path, table: str, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, table)
    assert info.value.where is not None
    assert info.value.where.endswith(key)


def test_made_in_code_it_is_checked_too() -> None:
    with pytest.raises(UserError, match="distinct"):
        DistributionConfig(channels=("email", "email"))


def test_the_scaffold_documents_every_key_and_its_defaults(tmp_path: Path) -> None:
    text = SCAFFOLD.read_text(encoding="utf-8")
    block = text[text.index("# [distribution]") :]
    lines = [re.sub(r"\s+#.*$", "", line[2:]) for line in block.splitlines()]
    (tmp_path / "tamizdat.toml").write_text(MINIMAL + "\n".join(lines) + "\n")
    assert load_config(tmp_path).distribution == DistributionConfig()
    for key in ("channels", "groups", "answer_size", "pool_size", "period_hours", "rate_limit"):
        assert f"# {key} = " in block
