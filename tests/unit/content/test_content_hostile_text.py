"""Hostile text in front matter and data files: bounded memory, no characters feeds refuse.

Each class is tested over its variants: every forbidden code-point range (first, middle,
last), every kind of key (top-level, in a list, nested in a table), YAML and TOML front
matter and the authors file; alias bombs in each place YAML is read; each size limit.
"""

from __future__ import annotations

import re
import resource
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from support.content_site import article, make_site
from tamizdat.config import load_config
from tamizdat.content import load_site
from tamizdat.content.authors import load_authors
from tamizdat.content.frontmatter import parse_front_matter
from tamizdat.content.limits import ContentLimits
from tamizdat.content.values import BIDI_CONTROLS, FORBIDDEN_CODE_POINTS, check_text
from tamizdat.errors import ContentError, quoted

LIMITS = ContentLimits()

# (first, middle, last) of every forbidden range: the class, not one character.
FORBIDDEN = sorted(
    {cp for low, high in FORBIDDEN_CODE_POINTS for cp in (low, (low + high) // 2, high)}
)


def _yaml_escape(code: int) -> str:
    return f"\\u{code:04X}"


# (front matter with {bad} where the hostile string goes, key path, line of the value)
YAML_PLACES = [
    ('title: "a{bad}b"\ndate: 2024-01-01\n', "title", 2),
    ('title: t\ndate: 2024-01-01\nsummary: "{bad}"\n', "summary", 4),
    ('title: t\ndate: 2024-01-01\ntags:\n  - fine\n  - "x{bad}"\n', "tags[1]", 6),
    ('title: t\ndate: 2024-01-01\nauthor: "Anna{bad}"\n', "author", 4),
    ('title: t\ndate: 2024-01-01\nimage:\n  src: a.jpg\n  alt: "{bad}"\n', "image.alt", 6),
    ('title: t\ndate: 2024-01-01\nparams:\n  deep:\n    note: "{bad}"\n', "params.deep.note", 6),
    ('title: t\ndate: 2024-01-01\n"k{bad}": 1\n', "k", 4),
]
TOML_PLACES = [
    ('title = "a{bad}b"\ndate = 2024-01-01\n', "title", 2),
    ('title = "t"\ndate = 2024-01-01\nsummary = "{bad}"\n', "summary", 4),
    ('title = "t"\ndate = 2024-01-01\ntags = ["fine", "x{bad}"]\n', "tags[1]", 4),
    ('title = "t"\ndate = 2024-01-01\n[image]\nsrc = "a.jpg"\nalt = "{bad}"\n', "image.alt", 4),
    ('title = "t"\ndate = 2024-01-01\n[params.deep]\nnote = "{bad}"\n', "params.deep.note", 4),
]


@pytest.mark.parametrize("code", FORBIDDEN, ids=lambda c: f"U+{c:04X}")
@pytest.mark.parametrize(("block", "key", "line"), YAML_PLACES, ids=[p[1] for p in YAML_PLACES])
def test_yaml_front_matter_refuses_every_forbidden_code_point(
    code: int, block: str, key: str, line: int
) -> None:
    text = "---\n" + block.replace("{bad}", _yaml_escape(code)) + "---\nbody\n"
    with pytest.raises(ContentError) as info:
        parse_front_matter(text, "content/x.md")
    assert info.value.where == f"content/x.md:{line}"
    if not 0xD800 <= code <= 0xDFFF:  # libyaml itself refuses surrogate escapes
        assert f"U+{code:04X}" in info.value.message
        assert f"'{key}" in info.value.message


@pytest.mark.parametrize("code", FORBIDDEN, ids=lambda c: f"U+{c:04X}")
@pytest.mark.parametrize(("block", "key", "line"), TOML_PLACES, ids=[p[1] for p in TOML_PLACES])
def test_toml_front_matter_refuses_every_forbidden_code_point(
    code: int, block: str, key: str, line: int
) -> None:
    text = "+++\n" + block.replace("{bad}", f"\\u{code:04X}") + "+++\nbody\n"
    with pytest.raises(ContentError) as info:
        parse_front_matter(text, "content/x.md")
    if 0xD800 <= code <= 0xDFFF:  # tomllib itself refuses surrogate escapes, at their line
        assert info.value.where is not None
        assert info.value.where.startswith("content/x.md:")
    else:
        assert info.value.where == f"content/x.md:{line}"
        assert f"U+{code:04X}" in info.value.message
        assert f"'{key}" in info.value.message


@pytest.mark.parametrize("code", FORBIDDEN, ids=lambda c: f"U+{c:04X}")
@pytest.mark.parametrize(
    ("entry", "line"),
    [
        ('anna:\n  name: "Anna{bad}"\n', 2),
        ('anna:\n  name: Anna\n  bio: "{bad}"\n', 3),
        ('anna:\n  name: Anna\n  names:\n    ru: "{bad}"\n', 4),
        ('anna: "Anna{bad}"\n', 1),
    ],
)
def test_authors_file_refuses_every_forbidden_code_point(
    tmp_path: Path, code: int, entry: str, line: int
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "authors.yaml").write_text(entry.replace("{bad}", _yaml_escape(code)), "utf-8")
    with pytest.raises(ContentError) as info:
        load_authors(tmp_path, data)
    assert info.value.where == f"data/authors.yaml:{line}"
    if not 0xD800 <= code <= 0xDFFF:  # libyaml itself refuses surrogate escapes
        assert f"U+{code:04X}" in info.value.message


@pytest.mark.parametrize("suffix", ["toml", "json"])
def test_authors_toml_and_json_refuse_control_characters(tmp_path: Path, suffix: str) -> None:
    data = tmp_path / "data"
    data.mkdir()
    text = (
        '[anna]\nname = "Anna"\nbio = "a\\u001bb"\n'
        if suffix == "toml"
        else '{\n "anna": {\n  "name": "Anna",\n  "bio": "a\\u001bb"\n }\n}\n'
    )
    (data / f"authors.{suffix}").write_text(text, "utf-8")
    with pytest.raises(ContentError, match=r"'anna\.bio' contains U\+001B") as info:
        load_authors(tmp_path, data)
    assert info.value.where == f"data/authors.{suffix}:{3 if suffix == 'toml' else 4}"


def test_refusal_names_file_and_line_through_the_loader(tmp_path: Path) -> None:
    text = article(extra='summary: "bell\\a here"\n')
    with pytest.raises(ContentError) as info:
        load_site(make_site(tmp_path, {"content/x.md": text}))
    assert info.value.where == "content/x.md:4"
    assert "'summary' contains U+0007" in info.value.message


@pytest.mark.parametrize("allowed", ["\t", "\n", "\r", "\u200f", "é", "\U0001f600", "\ufeff"])
def test_tab_newline_and_ordinary_text_pass(allowed: str) -> None:
    assert check_text(f"a{allowed}b", "title", "x.md:2", LIMITS) is None


@pytest.mark.parametrize(
    "code", sorted({cp for low, high in BIDI_CONTROLS for cp in (low, high)}), ids=hex
)
def test_bidi_controls_in_a_title_are_a_warning_with_the_line(tmp_path: Path, code: int) -> None:
    text = article(title=f'"a\\u{code:04X}b"')
    site = load_site(make_site(tmp_path, {"content/x.md": text}))
    assert site.articles[0].title == f"a{chr(code)}b"
    assert any(
        w.startswith("content/x.md:2: 'title'") and f"U+{code:04X}" in w for w in site.warnings
    )


# ---------------------------------------------------------------- alias bombs


def _bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("use", ["tags: *a8\n", "title: *a8\n", "image: *a8\n", "summary: [*a8]\n"])
def test_alias_bomb_in_front_matter_is_refused_at_once(tmp_path: Path, use: str) -> None:
    text = f"---\ntitle: t\ndate: 2024-01-01\n{_bomb()}---\nbody\n".replace("title: t\n", "")
    text = text.replace("---\nbody", use + "---\nbody")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ContentError) as info:
        load_site(make_site(tmp_path, {"content/x.md": text}))
    assert "alias" in info.value.message
    assert len(str(info.value)) < 300
    assert info.value.where == "content/x.md:4"  # the first alias, in a1's list
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000  # KiB


def test_a_single_harmless_alias_is_refused_too(tmp_path: Path) -> None:
    text = "---\ntitle: &t Hello\ndate: 2024-01-01\nsummary: *t\n---\nbody\n"
    with pytest.raises(ContentError, match="'summary' uses a YAML alias") as info:
        parse_front_matter(text, "x.md")
    assert info.value.where == "x.md:4"
    assert info.value.hint is not None


def test_merge_keys_are_aliases_and_refused() -> None:
    text = "---\nbase: &b {x: 1}\nimage:\n  <<: *b\n---\n"
    with pytest.raises(ContentError, match="alias"):
        parse_front_matter(text, "x.md")


def test_alias_bomb_in_the_authors_file_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "authors.yaml").write_text(_bomb() + "anna:\n  name: Anna\n  bio: *a8\n", "utf-8")
    with pytest.raises(ContentError, match="alias") as info:
        load_authors(tmp_path, data)
    assert info.value.where == "data/authors.yaml:2"


# ---------------------------------------------------------------- limits


def test_deep_nesting_is_refused_in_yaml_and_toml() -> None:
    deep_yaml = "---\nx: " + "[" * 20 + "]" * 20 + "\n---\n"
    with pytest.raises(ContentError, match="nested"):
        parse_front_matter(deep_yaml, "x.md")
    deep_toml = "+++\nx = " + "[" * 20 + "]" * 20 + "\n+++\n"
    with pytest.raises(ContentError, match="nested"):
        parse_front_matter(deep_toml, "x.md")
    very_deep_toml = "+++\nx = " + "[" * 5000 + "]" * 5000 + "\n+++\n"
    with pytest.raises(ContentError, match="nested too deeply"):
        parse_front_matter(very_deep_toml, "x.md")


@pytest.mark.parametrize("opener", ["---", "+++"])
def test_huge_integer_is_a_content_error_not_a_crash(opener: str) -> None:
    sep = ":" if opener == "---" else " ="
    with pytest.raises(ContentError, match="invalid"):
        parse_front_matter(f"{opener}\nx{sep} {'9' * 5000}\n{opener}\n", "x.md")


def test_front_matter_size_limit() -> None:
    small = ContentLimits(max_front_matter_bytes=1000)
    text = "---\ntitle: t\nsummary: " + "я" * 600 + "\n---\n"  # 600 chars, 1200 bytes
    with pytest.raises(ContentError, match=r"front matter is .*limit of 1000 bytes") as info:
        parse_front_matter(text, "x.md", small)
    assert info.value.where == "x.md:1"


def test_string_length_limit_quotes_only_the_start() -> None:
    text = "---\nsummary: " + "x" * 30_000 + "\n---\n"
    with pytest.raises(ContentError, match="30000 characters long") as info:
        parse_front_matter(text, "x.md")
    assert len(str(info.value)) < 300


def test_value_count_limit() -> None:
    text = "---\ntags: [" + ", ".join(["t"] * 50) + "]\n---\n"
    with pytest.raises(ContentError, match="more than 40 values"):
        parse_front_matter(text, "x.md", ContentLimits(max_values=40))


@pytest.mark.parametrize(("key", "count"), [("tags", 101), ("categories", 101), ("authors", 21)])
def test_too_many_tags_or_authors(tmp_path: Path, key: str, count: int) -> None:
    names = ", ".join(f"n{i}" for i in range(count))
    text = article(extra=f"{key}: [{names}]\n")
    with pytest.raises(ContentError, match="more than the limit") as info:
        load_site(make_site(tmp_path, {"content/x.md": text}))
    assert info.value.where == "content/x.md:4"


def test_article_size_limit_is_configurable_and_checked_before_reading(tmp_path: Path) -> None:
    toml = "[site]\ntitle = 'T'\n[build]\nmax_article_bytes = 2048\n"
    config = make_site(tmp_path, {"content/x.md": article(body="word " * 1000)}, toml=toml)
    with pytest.raises(ContentError) as info:
        load_site(config)
    assert info.value.where == "content/x.md:1"
    assert re.search(r"the file is 4\.\d KiB, more than the limit of 2\.0 KiB", str(info.value))
    assert info.value.hint is not None
    assert "max_article_bytes" in info.value.hint
    (tmp_path / "tamizdat.toml").write_text("[site]\ntitle = 'T'\n", "utf-8")
    assert len(load_site(load_config(tmp_path)).articles) == 1


def test_quoted_is_bounded_for_every_shape() -> None:
    bomb: object = ["lol"] * 9
    for _ in range(9):
        bomb = [bomb] * 9
    for value in (bomb, "x" * 10**6, {"k": {"k": {"k": "v" * 10**5}}}, b"\x00" * 10**5):
        assert len(quoted(value)) <= 100
    assert quoted("a\x1b[31mb") == "'a\\x1b[31mb'"


def test_a_30_mb_article_is_refused_in_little_memory(tmp_path: Path) -> None:
    """Peak memory of a build given a 30 MB Markdown file, measured in a fresh process and
    compared with the same build without it (so the interpreter and its imports cancel out)."""
    body = ("Lorem *ipsum* dolor sit amet, [link](/x) consectetur. " * 20 + "\n\n") * 30_000
    small, big = tmp_path / "small", tmp_path / "big"
    make_site(small, {"content/ok.md": article()})
    make_site(big, {"content/big.md": article(body=body), "content/ok.md": article()})
    assert (big / "content/big.md").stat().st_size > 30 * 2**20

    def peak(site: Path) -> tuple[str, int, str]:
        script = textwrap.dedent(
            f"""
            import resource, sys
            from tamizdat.cli import main
            code = main(["-q", "-C", {str(site)!r}, "build", "--workers", "1"])
            print(code, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
            """
        )
        done = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        code, kib = done.stdout.splitlines()[-1].split()
        return code, int(kib), done.stderr

    _, baseline_kib, _ = peak(small)
    code, peak_kib, stderr = peak(big)
    assert code == "2"
    assert re.search(
        r"content/big.md:1: the file is 3\d\.\d MiB, more than the limit of 4\.0 MiB", stderr
    )
    grown = (peak_kib - baseline_kib) // 1024
    assert grown < 64, f"the refused article grew peak RSS by {grown} MiB"
