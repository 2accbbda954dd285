"""The authors data file: ``data/authors.yaml`` (or ``.yml``, ``.toml``, ``.json``).

Invariant: every author has a key and a non-empty name; every error and warning names
``FILE:LINE``. The file is bounded like front matter (:mod:`tamizdat.content.limits`): its
size is checked before it is read, YAML aliases are refused, and every string passes
:func:`tamizdat.content.values.check_text`. The file maps an author key to a name or to a table::

    anna:
      name: Anna Petrova
      name_ru: Анна Петрова        # or names: {ru: Анна Петрова}
      bio: Covers the courts.
      bio_ru: Пишет о судах.        # or bios: {ru: …}
      pseudonym: true
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from tamizdat.config import suggest
from tamizdat.content.assets import site_relative
from tamizdat.content.frontmatter import decode_source, load_yaml
from tamizdat.content.limits import DEFAULT_LIMITS, ContentLimits, format_size
from tamizdat.content.model import Author
from tamizdat.content.values import check_value
from tamizdat.errors import ContentError, quoted
from tamizdat.files import read_regular

__all__ = ["AUTHOR_FILES", "load_authors"]

AUTHOR_FILES = ("authors.yaml", "authors.yml", "authors.toml", "authors.json")
_FIELDS = ("name", "bio", "pseudonym", "names", "bios")
# Profile fields other tools keep in the same file; tamizdat does not use them yet.
_TOLERATED = (
    "email",
    "url",
    "website",
    "links",
    "social",
    "avatar",
    "image",
    "photo",
    "role",
    "title",
    "twitter",
    "telegram",
    "mastodon",
)
_LOCALISED = re.compile(r"^(name|bio)_([a-z]{2,3}(?:-[A-Za-z0-9]{2,8})?)$")


class _Lines:
    """Finds the line a key sits on, in YAML, TOML or JSON text alike."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")

    def find(self, key: str, start: int = 1) -> int:
        pattern = re.compile(rf"(?:^|[\s\"'\[.{{,]){re.escape(key)}[\"']?\s*[:=\]]")
        for number in range(start, len(self.lines) + 1):
            if pattern.search(self.lines[number - 1]):
                return number
        return start


def _parse(
    path: Path, text: str, where: str, lines: _Lines, limits: ContentLimits
) -> tuple[Any, list[str]]:
    suffix = path.suffix
    try:
        if suffix == ".json":
            data = json.loads(text)
        elif suffix == ".toml":
            data = tomllib.loads(text)
        else:
            return load_yaml(text, where, limits=limits)
    except json.JSONDecodeError as exc:
        raise ContentError(f"invalid JSON: {exc.msg}", where=f"{where}:{exc.lineno}") from None
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        line = found.group(1) if found else "1"
        raise ContentError(f"invalid TOML: {exc}", where=f"{where}:{line}") from None
    except RecursionError:  # both parsers recurse once per nested list or table
        raise ContentError("nested too deeply", where=f"{where}:1") from None
    except ValueError as exc:  # an integer of more than 4300 digits
        raise ContentError(f"invalid {suffix[1:].upper()}: {exc}", where=f"{where}:1") from None

    def line_of(key: str) -> str:
        # The line of the deepest plain key of the path that the text shows.
        names = [n for n in re.split(r"[.\[\]]", key) if n and not n.isdigit()]
        line = 1
        for name in names:
            line = lines.find(name.strip("'\""), line)
        return f"{where}:{line}"

    return data, check_value(data, "", line_of, limits)


def _localised(key: str, field: str, value: Any, where: str) -> list[tuple[str, str]]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ContentError(
            f"author {quoted(key)}: {quoted(str(field))} must map language codes to text, "
            f"found {type(value).__name__}",
            where=where,
        )
    return list(value.items())


def _author(key: str, value: Any, where: str, line_of: Any) -> tuple[Author, list[str]]:
    if isinstance(value, str):
        value = {"name": value}
    if not isinstance(value, dict):
        raise ContentError(
            f"author {quoted(key)} must be a name or a table of fields, found {type(value).__name__}",
            where=where,
        )
    warnings: list[str] = []
    names: dict[str, str] = {}
    bios: dict[str, str] = {}
    for field, item in value.items():
        field_where = f"{where.rsplit(':', 1)[0]}:{line_of(field)}"
        localised = _LOCALISED.match(str(field))
        if localised:
            if not isinstance(item, str):
                raise ContentError(
                    f"author {quoted(key)}: {quoted(str(field))} must be text, found {type(item).__name__}",
                    where=field_where,
                )
            (names if localised.group(1) == "name" else bios)[localised.group(2)] = item
        elif field in ("names", "bios"):
            (names if field == "names" else bios).update(_localised(key, field, item, field_where))
        elif field in ("name", "bio") and not isinstance(item, str):
            raise ContentError(
                f"author {quoted(key)}: {quoted(str(field))} must be text, found {type(item).__name__}",
                where=field_where,
            )
        elif field == "pseudonym" and not isinstance(item, bool):
            raise ContentError(
                f"author {quoted(key)}: 'pseudonym' must be true or false, found {quoted(item)}",
                where=field_where,
            )
        elif field not in _FIELDS and field not in _TOLERATED:
            hint = suggest(str(field), _FIELDS)
            warnings.append(
                f"{field_where}: unknown author field {quoted(str(field))}"
                + (f" ({hint})" if hint else "")
            )
    name = value.get("name", "")
    if not isinstance(name, str) or not name.strip():
        raise ContentError(f"author {quoted(key)} has no name", where=where, hint="add 'name: …'")
    author = Author(
        key=key,
        name=name.strip(),
        bio=str(value.get("bio", "")).strip(),
        pseudonym=bool(value.get("pseudonym", False)),
        names=tuple(sorted(names.items())),
        bios=tuple(sorted(bios.items())),
    )
    return author, warnings


def _entries(data: Any, where: str) -> list[tuple[str, Any]]:
    """Accept a mapping (key → fields) or a list of tables that carry ``key`` or ``id``."""
    if data is None:
        return []
    if isinstance(data, dict):
        inner = data.get("authors")
        if len(data) == 1 and isinstance(inner, (dict, list)):
            return _entries(inner, where)
        return [(str(k), v) for k, v in data.items()]
    if isinstance(data, list):
        out = []
        for index, item in enumerate(data):
            key = item.get("key", item.get("id")) if isinstance(item, dict) else None
            if not isinstance(key, str) or not key:
                raise ContentError(f"author entry {index + 1} has no 'key'", where=f"{where}:1")
            out.append((key, {k: v for k, v in item.items() if k not in ("key", "id")}))
        return out
    raise ContentError(
        f"expected a mapping of author keys to names, found {type(data).__name__}",
        where=f"{where}:1",
    )


def load_authors(
    root: Path,
    data_dir: Path,
    limits: ContentLimits = DEFAULT_LIMITS,
    *,
    links_inside: Path | None = None,
) -> tuple[tuple[Author, ...], list[str]]:
    """Read the authors file in ``data_dir``; no file means no authors.

    Returns the authors sorted by key and the warnings found. Raises:
        ContentError: the file is larger than ``limits.max_data_file_bytes``, is not
            valid YAML/TOML/JSON or UTF-8, uses a YAML alias, nests too deep or holds a
            string with a forbidden character; an author has no name or a field of the
            wrong type, a key appears twice, or two authors files exist; ``where`` is
            ``FILE:LINE``.
        UnsafeFileError: the file is a link (unless it stays inside ``links_inside``).
    """
    present = [data_dir / name for name in AUTHOR_FILES if (data_dir / name).is_file()]
    if not present:
        return (), []
    if len(present) > 1:
        names = " and ".join(site_relative(root, p) for p in present)
        raise ContentError(f"two authors files: {names}", where=site_relative(root, present[1]))
    path = present[0]
    where = site_relative(root, path)
    size = path.stat().st_size
    if size > limits.max_data_file_bytes:
        raise ContentError(
            f"the file is {format_size(size)}, more than the limit of "
            f"{format_size(limits.max_data_file_bytes)} for a data file",
            where=f"{where}:1",
        )
    text = decode_source(read_regular(path, where=where, links_inside=links_inside), where)
    lines = _Lines(text)
    authors: dict[str, Author] = {}
    data, warnings = _parse(path, text, where, lines, limits)
    for key, value in _entries(data, where):
        line = lines.find(key)
        if key in authors:
            raise ContentError(f"author key {quoted(key)} appears twice", where=f"{where}:{line}")
        author, found = _author(
            key, value, f"{where}:{line}", lambda field, start=line: lines.find(str(field), start)
        )
        authors[key] = author
        warnings.extend(found)
    return tuple(sorted(authors.values(), key=lambda a: a.key)), warnings
