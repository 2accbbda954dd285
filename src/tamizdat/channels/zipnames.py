"""Entry names that every extractor, on every file system, writes to the same one place.

Invariant: a name passes :func:`name_problem` only if it is a relative POSIX path of
printable Unicode that no common system reads differently — no ``..``, no absolute path, no
backslash (a separator on Windows), no colon (a drive letter, or an NTFS alternate data
stream), none of ``<>"|?*`` (refused or replaced by Windows extractors), no control
character, no component ending in a dot or space (Windows drops them) or named like a
Windows device (``CON``, ``NUL.txt``, …), no component longer than 255 bytes (the limit of
common file systems), no empty or ``.`` component (no directory entries).

A set of names passes :class:`NameSet` only if no two collide where a reader unpacks them:
macOS and Windows file systems (and most phones' shared storage) ignore case, and macOS
also ignores the difference between composed and decomposed Unicode, so ``Index.html`` and
``index.html``, or ``é`` written as one code point or two, would land on one file and the
last one would win. We refuse such pairs rather than renaming one of them: a renamed file
would not be the signed path any more. Names are compared by Unicode canonical caseless
matching (NFD of the case fold of the NFD, Unicode §3.13), which folds at least as much as
those file systems do. A file may not share its path with a folder another entry needs.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_COMPONENT_BYTES", "NameSet", "name_key", "name_problem"]

MAX_COMPONENT_BYTES = 255
_WINDOWS_RESERVED = re.compile(r"^(?:CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(?:\.|$)", re.I)
_FORBIDDEN = {"\\": "backslash", ":": "colon", **dict.fromkeys('<>"|?*', "character")}
# Unicode category Cc is exactly U+0000–U+001F and U+007F–U+009F.
_BAD_CHAR = re.compile(r'[\x00-\x1f\x7f-\x9f\\:<>"|?*]')


def name_problem(name: str, max_length: int) -> str | None:
    """Why ``name`` cannot be an entry of a bundle (module docstring), or None."""
    try:
        raw = name.encode("utf-8")
    except UnicodeEncodeError:
        return "name is not valid UTF-8 (a lone surrogate)"
    if len(raw) > max_length:
        return f"name of {len(raw)} bytes, expected at most {max_length}"
    if name.startswith("/"):
        return "absolute path"
    bad = _BAD_CHAR.search(name)
    if bad is not None:
        char = bad.group()
        if char in _FORBIDDEN:
            return f"{_FORBIDDEN[char]} {char!r} in the name (read differently on Windows)"
        return f"control character U+{ord(char):04X} in the name"
    for part in name.split("/"):
        if part == "..":
            return "path traversal ('..')"
        if part in ("", "."):
            return "empty or '.' path component (or a directory entry)"
        if part[-1] in ". ":
            return f"component {part!r} ends in a dot or space (Windows drops it)"
        if _WINDOWS_RESERVED.match(part):
            return f"component {part!r} is a Windows device name"
        if len(part.encode("utf-8")) > MAX_COMPONENT_BYTES:
            return f"component longer than {MAX_COMPONENT_BYTES} bytes"
    return None


def name_key(name: str) -> str:
    """The form under which case-insensitive, normalising file systems compare ``name``."""
    if name.isascii():
        return name.lower()  # the same result, much faster (most names are ASCII)
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).casefold())


class NameSet:
    """Names added so far; :meth:`add` says why a new one would collide with them."""

    def __init__(self) -> None:
        self._files: dict[str, str] = {}
        self._folders: dict[str, str] = {}

    def add(self, name: str) -> str | None:
        """Add ``name`` (already passed :func:`name_problem`); the collision, or None."""
        key = name_key(name)
        other = self._files.get(key)
        if other == name:
            return "duplicate entry"
        if other is not None:
            return (
                f"same file as {other!r} on case-insensitive or Unicode-normalising "
                "file systems (duplicate after case folding)"
            )
        if key in self._folders:
            return f"a file where {self._folders[key]!r} needs a folder"
        # Deepest folder first: once one is known, its parents were checked with it.
        folder = key.rpartition("/")[0]
        while folder and folder not in self._folders:
            clash = self._files.get(folder)
            if clash is not None:
                shown = "/".join(name.split("/")[: folder.count("/") + 1])
                return f"needs folder {shown!r}, where {clash!r} is a file"
            self._folders[folder] = name
            folder = folder.rpartition("/")[0]
        self._files[key] = name
        return None
