"""``tamizdat init``: a new site folder that builds as it is.

Invariant: :func:`init_site` never overwrites anything the user wrote unless asked to
(``force``), and everything it writes comes from the package data in ``scaffold/files``
with only the title, languages and date filled in, so a fresh site always builds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from tamizdat.errors import UserError
from tamizdat.files import write_atomic

__all__ = ["InitReport", "init_site"]

_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
# Languages the sample article is written in; any other gets the English text to translate.
_SAMPLE_LANGUAGES = ("en", "ru")
_LANGUAGE_TITLES = {"en": "English", "ru": "Русский"}


@dataclass(frozen=True, slots=True)
class InitReport:
    """What ``init_site`` created, paths relative to ``directory``."""

    directory: Path
    files: tuple[str, ...]


def _files() -> Traversable:
    return resources.files("tamizdat.scaffold").joinpath("files")


def _read(relative: str) -> str:
    node = _files()
    for part in relative.split("/"):
        node = node.joinpath(part)
    return node.read_text("utf-8")


def _toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes).
    return json.dumps(text, ensure_ascii=False)


def _config(title: str, languages: tuple[str, ...]) -> str:
    tables = []
    for code in languages:
        tables.append(
            f"[languages.{code}]\n"
            f"title = {_toml_string(title)}\n"
            f'description = ""                       # {_LANGUAGE_TITLES.get(code, code)}\n'
        )
    return (
        _read("tamizdat.toml.in")
        .replace("@TITLE@", _toml_string(title))
        .replace("@DEFAULT@", languages[0])
        .replace("@LANGUAGES@", "\n".join(tables))
    )


def _welcome_name(code: str, default: str) -> str:
    return "welcome.md" if code == default else f"welcome.{code}.md"


def _sample(code: str, default: str, date: str, languages: tuple[str, ...] = ()) -> tuple[str, str]:
    """The sample article in ``code``: (path relative to the site, text).

    The text names its own file and a translation's: one this site really has when it
    has another language, else the name a translation would take.
    """
    written = code if code in _SAMPLE_LANGUAGES else "en"
    others = [c for c in languages if c != code]
    other = others[0] if others else ("ru" if code != "ru" else "en")
    text = (
        _read(f"content/welcome.{written}.md")
        .replace("@DATE@", date)
        .replace("@LANG@", code)
        .replace("@SELF@", _welcome_name(code, default))
        .replace("@OTHER@", _welcome_name(other, default))
    )
    if written != code:
        text = text.replace(
            "---\n\n", f"---\n\n<!-- Translate this sample into '{code}'. -->\n\n", 1
        )
    return f"content/{_welcome_name(code, default)}", text


def _check_target(directory: Path, force: bool) -> None:
    if directory.exists() and not directory.is_dir():
        raise UserError("expected a folder, found a file", where=str(directory))
    if directory.is_dir() and any(directory.iterdir()) and not force:
        raise UserError(
            "the folder is not empty; refusing to scaffold a site over existing files",
            where=str(directory),
            hint="choose a new folder, or pass --force to write the sample files anyway",
        )


def init_site(
    directory: Path,
    *,
    title: str = "My newsroom",
    languages: tuple[str, ...] = ("en", "ru"),
    force: bool = False,
    now: datetime | None = None,
) -> InitReport:
    """Create a new site in ``directory``: config, sample articles, authors, folders.

    Raises:
        UserError: ``directory`` is a file, or a non-empty folder and ``force`` is false;
            a language code is malformed or repeated; the title is empty.
    """
    if not title.strip():
        raise UserError("expected a non-empty site title", where="--title")
    languages = languages or ("en",)
    for code in languages:
        if not _LANG.match(code):
            raise UserError(
                f"expected a language code such as 'en' or 'ru', found {code!r}",
                where="--language",
            )
    if len(set(languages)) != len(languages):
        raise UserError(f"a language is listed twice: {', '.join(languages)}", where="--language")
    _check_target(directory, force)
    date = (now or datetime.now(UTC)).replace(second=0, microsecond=0).isoformat()
    files: dict[str, str] = {
        "tamizdat.toml": _config(title, languages),
        ".gitignore": _read("gitignore.txt"),
        "README.md": _read("README.md.in").replace("@TITLE@", title),
        # Hidden, so the static-file loader never publishes it as /README.md.
        "media/.README.md": _read("media/README.md"),
        "data/authors.yaml": _read("data/authors.yaml"),
        "theme/README.md": _read("theme/README.md"),
    }
    for code in languages:
        path, text = _sample(code, languages[0], date, tuple(languages))
        files[path] = text
    for relative, text in files.items():
        write_atomic(directory / relative, text.encode("utf-8"))
    (directory / "static").mkdir(exist_ok=True)
    return InitReport(directory, tuple(sorted(files)))
