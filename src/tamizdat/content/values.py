"""Text and values from front matter and data files, checked before anything uses them.

Invariant: a string that passes :func:`check_text` holds no code point XML 1.0 forbids
(C0 controls other than tab, line feed and carriage return; lone surrogates; U+FFFE,
U+FFFF) and no C1 control or DEL, so every title, summary, tag and name can go into an
Atom, RSS or JSON feed that a strict parser accepts; and it is at most
``max_string_chars`` long. A value that passes :func:`check_value` also nests no deeper
and holds no more items than :class:`ContentLimits` allow. Every refusal names
``FILE:LINE`` and the key (``image.alt``, ``tags[2]``); bidirectional controls (which can
make a headline read differently from its bytes) are a warning, since right-to-left
newsrooms use them on purpose.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from tamizdat.content.limits import ContentLimits
from tamizdat.errors import ContentError, quoted

__all__ = ["BIDI_CONTROLS", "FORBIDDEN_CODE_POINTS", "check_text", "check_value", "key_path"]

# Ranges, inclusive. Tab (09), line feed (0A) and carriage return (0D) are allowed.
FORBIDDEN_CODE_POINTS = (
    (0x00, 0x08),
    (0x0B, 0x0C),
    (0x0E, 0x1F),
    (0x7F, 0x9F),  # DEL and the C1 controls: never text, and XML 1.1-only in feeds
    (0xD800, 0xDFFF),  # lone surrogates: cannot even be written as UTF-8
    (0xFFFE, 0xFFFF),  # noncharacters XML 1.0 forbids
)
BIDI_CONTROLS = ((0x202A, 0x202E), (0x2066, 0x2069))


def _char_class(ranges: tuple[tuple[int, int], ...]) -> re.Pattern[str]:
    return re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in ranges) + "]")


_FORBIDDEN = _char_class(FORBIDDEN_CODE_POINTS)
_BIDI = _char_class(BIDI_CONTROLS)
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _describe(char: str) -> str:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        kind = "a lone surrogate"
    elif code in (0xFFFE, 0xFFFF):
        kind = "a noncharacter"
    else:
        kind = f"the control character {unicodedata.name(char, '')}".rstrip()
        if code < 0x20 or 0x7F <= code <= 0x9F:
            kind = "a control character"
    return f"U+{code:04X} ({kind})"


def key_path(parent: str, key: object) -> str:
    """``image`` + ``alt`` → ``image.alt``; ``tags`` + 2 → ``tags[2]``; odd keys quoted."""
    if isinstance(key, int) and not isinstance(key, bool):
        return f"{parent}[{key}]"
    name = str(key)
    if not _PLAIN_KEY.match(name):
        # Escaped, so a key cannot put control characters or a screenful into a message.
        name = name[:40].encode("unicode_escape").decode("ascii") + ("…" if len(name) > 40 else "")
    return f"{parent}.{name}" if parent else name


def check_text(text: str, key: str, where: str, limits: ContentLimits) -> str | None:
    """Check one string found under ``key``; return a warning or ``None``.

    Raises:
        ContentError: ``text`` holds a forbidden code point (the message names it and the
            key) or is longer than ``limits.max_string_chars``; ``where`` is ``FILE:LINE``.
    """
    if len(text) > limits.max_string_chars:
        raise ContentError(
            f"'{key}' is {len(text)} characters long, more than the limit of "
            f"{limits.max_string_chars}: {quoted(text)}",
            where=where,
        )
    bad = _FORBIDDEN.search(text)
    if bad:
        raise ContentError(
            f"'{key}' contains {_describe(bad.group())} at character {bad.start() + 1}: "
            f"{quoted(text)}; feed readers refuse the whole feed for it",
            where=where,
            hint="delete the invisible character (retype the text if unsure)",
        )
    bidi = _BIDI.search(text)
    if bidi:
        return (
            f"{where}: '{key}' contains the bidirectional control U+{ord(bidi.group()):04X}, "
            "which can make it display differently from what it says"
        )
    return None


class _Budget:
    """Counts values against ``max_values`` while a tree is walked."""

    def __init__(self, limits: ContentLimits, where: Callable[[str], str]) -> None:
        self.limits = limits
        self.where = where
        self.count = 0

    def take(self, key: str, depth: int) -> None:
        self.count += 1
        if self.count > self.limits.max_values:
            raise ContentError(f"more than {self.limits.max_values} values", where=self.where(key))
        if depth > self.limits.max_depth:
            raise ContentError(
                f"'{key}' is nested {depth} levels deep, more than the limit of "
                f"{self.limits.max_depth}",
                where=self.where(key),
            )


def check_value(
    value: Any, key: str, where: Callable[[str], str], limits: ContentLimits
) -> list[str]:
    """Check every string (keys too), the depth and the size of ``value``, found at ``key``.

    ``where`` maps a key path to ``FILE:LINE``. Returns warnings. Raises:
        ContentError: see :func:`check_text`; or the value nests deeper than
            ``max_depth`` or holds more than ``max_values`` values.
    """
    budget = _Budget(limits, where)
    warnings: list[str] = []
    stack: list[tuple[Any, str, int]] = [(value, key, 0)]
    while stack:
        item, path, depth = stack.pop()
        budget.take(path, depth)
        if isinstance(item, str):
            warning = check_text(item, path, where(path), limits)
            if warning:
                warnings.append(warning)
        elif isinstance(item, dict):
            children = []
            for name, child in item.items():
                child_path = key_path(path, name)
                if isinstance(name, str):
                    warning = check_text(name, child_path, where(child_path), limits)
                    if warning:
                        warnings.append(warning)
                children.append((child, child_path, depth + 1))
            stack.extend(reversed(children))  # popped in document order
        elif isinstance(item, list):
            children = [(child, key_path(path, i), depth + 1) for i, child in enumerate(item)]
            stack.extend(reversed(children))
    return warnings
