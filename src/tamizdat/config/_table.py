"""Typed, key-naming access to one TOML table.

Every accessor raises :class:`~tamizdat.errors.ConfigError` whose ``where`` is
``FILE: dotted.key``; unknown keys are reported with a "did you mean …" suggestion.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from tamizdat.errors import ConfigError

T = TypeVar("T")

__all__ = ["Table", "suggest"]


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """Return a "did you mean …" hint for a misspelt ``word``, or ``None``."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


class Table:
    """One TOML table with the file and dotted prefix it came from."""

    def __init__(self, data: Mapping[str, Any], file: Path, prefix: str = "") -> None:
        self.data = data
        self.file = file
        self.prefix = prefix

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def error(self, name: str, message: str, hint: str | None = None) -> ConfigError:
        return ConfigError(message, where=f"{self.file}: {self.key(name)}", hint=hint)

    def reject_unknown(self, known: Iterable[str]) -> None:
        """Raise for the first key not in ``known``, suggesting the closest known one."""
        known = list(known)
        for name in self.data:
            if name not in known:
                raise self.error(name, "unknown key", suggest(name, known))

    def _typed(self, name: str, default: T, kind: type | tuple[type, ...], label: str) -> T:
        if name not in self.data:
            return default
        value = self.data[name]
        if (
            isinstance(value, bool)
            and kind is not bool
            and bool not in (kind if isinstance(kind, tuple) else (kind,))
        ):
            raise self.error(name, f"expected {label}, found a boolean")
        if not isinstance(value, kind):
            raise self.error(name, f"expected {label}, found {type(value).__name__}")
        return value  # type: ignore[return-value]

    def string(self, name: str, default: str) -> str:
        return self._typed(name, default, str, "a string")

    def optional_string(self, name: str) -> str | None:
        if name not in self.data:
            return None
        return self.string(name, "")

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        value = self._typed(name, default, int, "an integer")
        if minimum is not None and value < minimum:
            raise self.error(name, f"expected an integer ≥ {minimum}, found {value}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        return self._typed(name, default, bool, "true or false")

    def strings(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self._typed(name, list(default), list, "a list of strings")
        for item in value:
            if not isinstance(item, str):
                raise self.error(name, f"expected a list of strings, found item {item!r}")
        return tuple(value)

    def integers(self, name: str, default: tuple[int, ...]) -> tuple[int, ...]:
        value = self._typed(name, list(default), list, "a list of integers")
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int):
                raise self.error(name, f"expected a list of integers, found item {item!r}")
        return tuple(value)

    def table(self, name: str) -> Table:
        value: dict[str, Any] = self._typed(name, {}, dict, "a table")
        return Table(value, self.file, self.key(name))

    def tables(self, name: str) -> list[Table]:
        """An array of tables (``[[name]]``), each with an indexed prefix."""
        value: list[Any] = self._typed(name, [], list, "an array of tables")
        out = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(f"{name}[{index}]", "expected a table")
            out.append(Table(item, self.file, f"{self.key(name)}[{index}]"))
        return out

    def choice(self, name: str, default: str, choices: Iterable[str]) -> str:
        value = self.string(name, default)
        options = list(choices)
        if value not in options:
            raise self.error(
                name,
                f"expected one of {', '.join(options)}, found {value!r}",
                suggest(value, options),
            )
        return value
