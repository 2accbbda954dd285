"""Split a content file into front matter and body, and parse the front matter.

Invariant: every value handed on carries the 1-based line of the file it came from, so an
error or warning about it can name ``FILE:LINE``. YAML sits between ``---`` lines (closed
by ``---`` or ``...``); TOML between ``+++`` lines (Hugo). A file without front matter has
an empty one (and then fails for its missing title).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

import yaml

from tamizdat.errors import ContentError

__all__ = ["FrontMatter", "YamlLoader", "decode_source", "parse_front_matter"]

# libyaml's loader is ~10x faster; fall back to the pure-Python one where it is missing.
_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlLoader(_Base):  # type: ignore[misc]
    """A safe loader whose impossible timestamps (2024-13-01) stay text.

    PyYAML raises a bare ValueError for them, without a line; kept as text, the date
    check reports them with the line of their key.
    """


def _timestamp(loader: Any, node: yaml.ScalarNode) -> Any:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return str(node.value)


YamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)

_YAML_CLOSE = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.MULTILINE)
_TOML_CLOSE = re.compile(r"^\+\+\+[ \t]*\r?$", re.MULTILINE)
_YAML_KEY = re.compile(r"""^(?:"([^"]+)"|'([^']+)'|([^\s#'"\-?:][^:#]*?))[ \t]*:(?:[ \t]|\r?$)""")
_TOML_KEY = re.compile(r"""^[ \t]*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))[ \t]*=""")
_TOML_TABLE = re.compile(r"^[ \t]*\[\[?[ \t]*([A-Za-z0-9_\"'-]+)")
_TOML_LINE = re.compile(r"\s*\(at line (\d+), column (\d+)\)")
_TOML_END = re.compile(r"\s*\(at end of document\)")


@dataclass(frozen=True, slots=True)
class FrontMatter:
    """Parsed front matter: values, the line of each top-level key, and the body."""

    data: dict[str, Any]
    lines: dict[str, int]  # top-level key → 1-based line in the file
    body: str
    body_line: int  # 1-based line where the body starts

    def line(self, key: str) -> int:
        """The line of ``key``, or line 1 when the key is absent."""
        return self.lines.get(key, 1)


def decode_source(raw: bytes, where: str) -> str:
    """Decode UTF-8 (a leading BOM is dropped).

    Raises:
        ContentError: not valid UTF-8; ``where`` gets the line of the first bad byte.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ContentError(
            f"not valid UTF-8: byte 0x{raw[exc.start]:02x} cannot start or continue a character",
            where=f"{where}:{line}",
            hint="save the file as UTF-8",
        ) from None
    return text[1:] if text.startswith("\ufeff") else text


def _key_lines(block: str, first_line: int, toml: bool) -> dict[str, int]:
    lines: dict[str, int] = {}
    for offset, line in enumerate(block.split("\n")):
        if toml:
            table = _TOML_TABLE.match(line)
            if table:
                # Keys below a [table] header belong to that table, not the top level.
                lines.setdefault(table.group(1).strip("\"'"), first_line + offset)
                break
            match = _TOML_KEY.match(line)
        else:
            match = _YAML_KEY.match(line)
        if match:
            key = next(g for g in match.groups() if g is not None).strip()
            lines.setdefault(key, first_line + offset)
    return lines


def _load_yaml(block: str, first_line: int, where: str) -> Any:
    try:
        return yaml.load(block, Loader=YamlLoader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark is not None else 0)
        problem = exc.problem or exc.context or "syntax error"
        raise ContentError(
            f"invalid YAML front matter: {problem}", where=f"{where}:{line}"
        ) from None
    except yaml.YAMLError as exc:
        raise ContentError(
            f"invalid YAML front matter: {exc}", where=f"{where}:{first_line}"
        ) from None


def _load_toml(block: str, first_line: int, where: str) -> Any:
    try:
        return tomllib.loads(block)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        found = _TOML_LINE.search(message)
        # Without a line, tomllib means "at end of document": the closing +++ line.
        line = first_line + (int(found.group(1)) - 1 if found else block.count("\n"))
        raise ContentError(
            f"invalid TOML front matter: {_TOML_END.sub('', _TOML_LINE.sub('', message))}",
            where=f"{where}:{line}",
        ) from None


def parse_front_matter(text: str, where: str) -> FrontMatter:
    """Split ``text`` and parse its front matter; ``where`` is the file for messages.

    Raises:
        ContentError: the front matter is never closed, is not valid YAML/TOML (names the
            line of the problem), or is not a mapping.
    """
    first_end = text.find("\n")
    opener = (text if first_end < 0 else text[:first_end]).rstrip()
    if opener not in ("---", "+++"):
        return FrontMatter({}, {}, text, 1)
    toml = opener == "+++"
    closer = (_TOML_CLOSE if toml else _YAML_CLOSE).search(text, first_end + 1)
    if first_end < 0 or closer is None:
        raise ContentError(
            f"front matter opened with '{opener}' on line 1 is never closed",
            where=f"{where}:1",
            hint=f"end the front matter with a line holding only '{opener}'",
        )
    block = text[first_end + 1 : closer.start()]
    body_start = text.find("\n", closer.end())
    body_start = len(text) if body_start < 0 else body_start + 1
    body_line = text.count("\n", 0, body_start) + 1
    data = _load_toml(block, 2, where) if toml else _load_yaml(block, 2, where)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ContentError(
            f"front matter must be a mapping of keys to values, found {type(data).__name__}",
            where=f"{where}:2",
        )
    data = {str(key): value for key, value in data.items()}
    return FrontMatter(data, _key_lines(block, 2, toml), text[body_start:], body_line)
