"""Split a content file into front matter and body, and parse the front matter.

Invariant: every value handed on carries the 1-based line of the file it came from, so an
error or warning about it can name ``FILE:LINE``. YAML sits between ``---`` lines (closed
by ``---`` or ``...``); TOML between ``+++`` lines (Hugo). A file without front matter has
an empty one (and then fails for its missing title).

Hostile text is bounded before it is parsed: the front matter's size is checked first; a
YAML node graph is checked before it becomes Python values — no aliases (an alias bomb
expands a few hundred bytes into gigabytes), bounded depth and count — and every string
passes :func:`tamizdat.content.values.check_text` (no control characters feeds refuse).
The same YAML loader reads the data files (:func:`load_yaml`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

import yaml

from tamizdat.content.limits import DEFAULT_LIMITS, ContentLimits, format_size
from tamizdat.content.values import check_text, check_value, key_path
from tamizdat.errors import ContentError

__all__ = ["FrontMatter", "YamlLoader", "decode_source", "load_yaml", "parse_front_matter"]

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
    warnings: tuple[str, ...] = ()  # ``FILE:LINE: …`` lines about values that still passed

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


def _check_nodes(root: yaml.Node, first_line: int, where: str, limits: ContentLimits) -> list[str]:
    """Walk the composed YAML graph: no aliases, bounded depth and count, clean strings.

    An alias makes one node reachable twice; refusing a second visit refuses every alias
    (and merge keys, ``<<: *base``, which are aliases too) before anything is expanded.
    """
    seen: set[int] = set()
    warnings: list[str] = []
    count = 0
    # (node, key path, depth, line of the key or item that holds the node)
    stack: list[tuple[yaml.Node, str, int, int]] = [(root, "", 0, first_line)]
    while stack:
        node, path, depth, line = stack.pop()
        label = path or "front matter"
        if id(node) in seen:
            raise ContentError(
                f"'{label}' uses a YAML alias (*name): aliases are not allowed here",
                where=f"{where}:{line}",
                hint="write the value out in full instead of '&name' and '*name'",
            )
        seen.add(id(node))
        count += 1
        if count > limits.max_values or depth > limits.max_depth:
            what = (
                f"more than {limits.max_values} values"
                if count > limits.max_values
                else f"'{label}' is nested more than {limits.max_depth} levels deep"
            )
            raise ContentError(what, where=f"{where}:{line}")
        node_line = first_line + node.start_mark.line
        if isinstance(node, yaml.ScalarNode):
            warning = check_text(str(node.value), label, f"{where}:{node_line}", limits)
            if warning:
                warnings.append(warning)
        elif isinstance(node, yaml.MappingNode):
            children = []
            for key_node, value_node in node.value:
                name = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                child = key_path(path, name)
                key_line = first_line + key_node.start_mark.line
                children.append((key_node, child, depth + 1, key_line))
                children.append((value_node, child, depth + 1, key_line))
            stack.extend(reversed(children))
        elif isinstance(node, yaml.SequenceNode):
            # An alias's own position is lost in the composed graph (its node is the
            # anchor's): an item is placed at its list's line.
            items = [
                (item, key_path(path, index), depth + 1, node_line)
                for index, item in enumerate(node.value)
            ]
            stack.extend(reversed(items))
    return warnings


_HINT_VALUE = 60


def _colon_hint(text: str, index: int) -> str:
    """The fix for the most common YAML mistake in front matter: a value with ``: `` in it
    (``title: Breaking: news``) must be quoted. Shows the line fixed when it can; the value
    is the contributor's text, so it is cut short and stripped of control characters."""
    lines = text.splitlines()
    line = lines[index] if 0 <= index < len(lines) else ""
    match = _YAML_KEY.match(line.lstrip(" -"))
    general = "a value containing ': ' must be in quotes, e.g. title: \"Breaking: the news\""
    if match is None:
        return general
    key = next(g for g in match.groups() if g is not None).strip()
    value = line.lstrip(" -")[match.end() :].split(" #", 1)[0].strip()
    if not value or not key:
        return general
    shown = "".join(c if c.isprintable() else " " for c in value)
    if len(shown) > _HINT_VALUE:
        shown = shown[: _HINT_VALUE - 1] + "…"
    key_shown = "".join(c if c.isprintable() else " " for c in key)[:_HINT_VALUE]
    escaped = shown.replace("\\", "\\\\").replace('"', '\\"')
    return f'a value containing ": " must be in quotes: {key_shown}: "{escaped}"'


def load_yaml(
    text: str, where: str, *, first_line: int = 1, limits: ContentLimits = DEFAULT_LIMITS
) -> tuple[Any, list[str]]:
    """Parse YAML ``text`` (front matter or a data file) safely; return value and warnings.

    ``first_line`` is the file line ``text`` starts on. Raises:
        ContentError: invalid YAML, an alias, too deep or too many values, an integer too
            long to convert, or a string with a forbidden character; ``where`` gets
            ``:LINE``.
    """
    loader = YamlLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, []
        warnings = _check_nodes(node, first_line, where, limits)
        return loader.construct_document(node), warnings
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark is not None else 0)
        problem = exc.problem or exc.context or "syntax error"
        hint = (
            _colon_hint(text, mark.line)
            if mark is not None and "mapping values" in problem
            else None
        )
        raise ContentError(f"invalid YAML: {problem}", where=f"{where}:{line}", hint=hint) from None
    except yaml.YAMLError as exc:
        raise ContentError(f"invalid YAML: {exc}", where=f"{where}:{first_line}") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ContentError(f"invalid YAML: {exc}", where=f"{where}:{first_line}") from None
    finally:
        loader.dispose()


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
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise ContentError(
            "invalid TOML front matter: nested too deeply", where=f"{where}:{first_line}"
        ) from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise ContentError(
            f"invalid TOML front matter: {exc}", where=f"{where}:{first_line}"
        ) from None


def parse_front_matter(
    text: str, where: str, limits: ContentLimits = DEFAULT_LIMITS
) -> FrontMatter:
    """Split ``text`` and parse its front matter; ``where`` is the file for messages.

    Raises:
        ContentError: the front matter is never closed, is larger than
            ``limits.max_front_matter_bytes``, is not valid YAML/TOML (names the line of
            the problem), uses a YAML alias, nests too deep, holds too many values or a
            string with a forbidden character (names the key), or is not a mapping.
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
    # Characters never outnumber bytes: count bytes only when the characters fit.
    size = len(block)
    if size <= limits.max_front_matter_bytes:
        size = len(block.encode("utf-8", "surrogatepass"))
    if size > limits.max_front_matter_bytes:
        raise ContentError(
            f"the front matter is at least {format_size(size)}, more than the "
            f"limit of {format_size(limits.max_front_matter_bytes)}",
            where=f"{where}:1",
            hint="move long text into the body",
        )
    body_start = text.find("\n", closer.end())
    body_start = len(text) if body_start < 0 else body_start + 1
    body_line = text.count("\n", 0, body_start) + 1
    key_lines = _key_lines(block, 2, toml)
    warnings: list[str] = []
    if toml:
        data = _load_toml(block, 2, where)
    else:
        try:
            data, warnings = load_yaml(block, where, first_line=2, limits=limits)
        except ContentError as exc:
            raise ContentError(
                exc.message.replace("invalid YAML", "invalid YAML front matter", 1),
                where=exc.where,
                hint=exc.hint,
            ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ContentError(
            f"front matter must be a mapping of keys to values, found {type(data).__name__}",
            where=f"{where}:2",
        )
    data = {str(key): value for key, value in data.items()}
    if toml:
        # TOML has no aliases; its strings and shape are checked once parsed. Nested keys
        # are reported at the line of their top-level key (the only lines tracked).
        def line_of(path: str) -> str:
            top = re.split(r"[.\[]", path, maxsplit=1)[0].strip("'\"")
            return f"{where}:{key_lines.get(top, 1)}"

        warnings = check_value(data, "", line_of, limits)
    return FrontMatter(data, key_lines, text[body_start:], body_line, tuple(warnings))
