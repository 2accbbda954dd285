"""``tamizdat init --from-hugo``: a tamizdat.toml for a Hugo site, whose files stay as they are.

Invariant: nothing of the Hugo site is edited. In place (no destination), the only file
written into the Hugo folder is ``tamizdat.toml`` (and the build writes ``tamizdat-public/``
and ``.tamizdat/``, never Hugo's ``public/``); with a destination, the content, static and
data folders are copied there (symbolic links copied as links, never followed: the build's
own rules decide about them). The Hugo configuration is read, never executed: YAML through
the same alias-refusing loader as front matter, and every folder it names must lie inside
the Hugo site, so a hostile ``staticDir = "/home/me/.ssh"`` cannot pull files into a release.

Hugo's configuration is one file (``hugo.toml``/``.yaml``/``.json``, or the older
``config.*``) and/or a ``config/_default/`` folder whose files each hold one top-level key
(``languages.toml`` → ``languages``); keys are case-insensitive.
"""

from __future__ import annotations

import json
import re
import shutil
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from tamizdat.config import CONFIG_NAME, load_config
from tamizdat.config._table import Table
from tamizdat.content.frontmatter import decode_source, load_yaml
from tamizdat.errors import ConfigError, ContentError, UserError, quoted
from tamizdat.files import write_atomic

__all__ = ["HUGO_CONFIG_NAMES", "HugoImport", "import_hugo"]

HUGO_CONFIG_NAMES = tuple(
    f"{stem}.{ext}" for stem in ("hugo", "config") for ext in ("toml", "yaml", "yml", "json")
)
_CONFIG_DIR = ("config", "_default")
_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_URL = re.compile(r"^https?://[^/\s]+(/\S*)?$")
_TAXONOMIES = ("tags", "categories")  # the front-matter keys tamizdat reads as tags
IN_PLACE_OUTPUT = "tamizdat-public"


@dataclass(frozen=True, slots=True)
class HugoImport:
    """What ``import_hugo`` read and wrote; paths relative to the site folder."""

    directory: Path  # the tamizdat site: the Hugo folder itself, or the destination
    source: Path  # the Hugo site
    in_place: bool
    config_files: tuple[str, ...]  # the Hugo configuration files read, relative to source
    files: tuple[str, ...]  # tamizdat.toml and the folders copied
    notes: tuple[str, ...]  # Hugo settings that were not carried over, and why


def _parse(path: Path, where: str) -> Any:
    text = decode_source(path.read_bytes(), where)
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text)
        if path.suffix == ".json":
            return json.loads(text)
        return load_yaml(text, where)[0]
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", where=where) from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg}", where=f"{where}:{exc.lineno}") from None
    except ContentError as exc:
        raise ConfigError(exc.message, where=exc.where, hint=exc.hint) from None
    except (RecursionError, ValueError) as exc:
        raise ConfigError(f"invalid {path.suffix[1:].upper()}: {exc}", where=where) from None


def _lower(value: Any) -> Any:
    """Hugo's keys are case-insensitive (``baseURL`` = ``baseurl``): compare them lowercased."""
    if isinstance(value, dict):
        return {str(k).lower(): _lower(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower(v) for v in value]
    return value


class _HugoConfig:
    """The merged configuration and, for each top-level key, the file it came from."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data: dict[str, Any] = {}
        self.origin: dict[str, Path] = {}
        self.files: list[str] = []
        found = [root / name for name in HUGO_CONFIG_NAMES if (root / name).is_file()]
        if found:
            # Hugo reads the first of hugo.* then config.*; the others are ignored.
            self._merge(found[0], None)
        folder = root.joinpath(*_CONFIG_DIR)
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.suffix not in (".toml", ".yaml", ".yml", ".json") or not path.is_file():
                    continue
                stem = path.stem.lower()
                self._merge(path, None if stem in ("hugo", "config") else stem)
        if not self.files:
            raise UserError(
                "no Hugo configuration found (looked for "
                f"{', '.join(HUGO_CONFIG_NAMES)} and config/_default/)",
                where=str(root),
                hint="give the folder that holds the Hugo site's hugo.toml",
            )

    def _merge(self, path: Path, key: str | None) -> None:
        where = path.relative_to(self.root).as_posix()
        self.files.append(where)
        data = _lower(_parse(path, str(path)))
        if data is None:
            return
        if key is not None:
            # A file in config/_default/ holds one top-level key: params.toml → params.
            data = {key: data}
        if not isinstance(data, dict):
            raise ConfigError(
                f"expected a table of settings, found {type(data).__name__}", where=str(path)
            )
        for name, value in data.items():
            self.data[name] = value
            self.origin[name] = path

    def table(self, key: str) -> Table:
        """``key``'s value as a table whose errors name its file and the Hugo key."""
        return Table(self.data, self.origin.get(key, self.root / HUGO_CONFIG_NAMES[0]))


@dataclass(frozen=True, slots=True)
class _Language:
    code: str
    title: str
    description: str
    weight: int


def _inside(root: Path, table: Table, key: str, default: str) -> str:
    """A folder the Hugo config names, as a relative POSIX path that stays inside ``root``."""
    value = table.string(key, default)
    path = PurePosixPath(value.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not value.strip():
        raise table.error(key, f"expected a folder inside the Hugo site, found {quoted(value)}")
    resolved = (root / path).resolve()
    if resolved != root and root not in resolved.parents:
        raise table.error(key, f"{quoted(value)} resolves outside the Hugo site")
    return path.as_posix()


def _languages(config: _HugoConfig, title: str, description: str) -> list[_Language]:
    top = config.table("languages")
    table = top.table("languages")
    out = []
    for code in table.data:
        lang = table.table(code)
        if not _LANG.match(code):
            raise table.error(
                code, f"expected a language code such as 'en' or 'ru', found {quoted(code)}"
            )
        if "contentdir" in lang.data:
            raise lang.error(
                "contentDir",
                "a content folder per language is not supported",
                hint="keep one content folder and mark translations by file name (post.ru.md)",
            )
        if lang.boolean("disabled", False):
            continue
        params = lang.table("params")
        out.append(
            _Language(
                code,
                lang.string("title", title),
                params.string("description", description),
                lang.integer("weight", 0),
            )
        )
    return sorted(out, key=lambda lang: (lang.weight, lang.code))


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string


def _notes(config: _HugoConfig) -> list[str]:
    notes = []
    taxonomies = config.table("taxonomies").table("taxonomies")
    for singular, plural in taxonomies.data.items():
        if str(plural) not in _TAXONOMIES:
            notes.append(
                f"taxonomy '{singular}' ('{plural}' in front matter) is not carried over: "
                "tamizdat lists 'tags' and 'categories' together as tags"
            )
    if config.data.get("permalinks"):
        notes.append(
            "permalinks are not kept: tamizdat's URLs are {lang}/{desk}/{yyyy}/{mm}/{slug}/ "
            "(signing delegates by these paths); Hugo 'aliases' are not redirected"
        )
    if config.data.get("theme"):
        notes.append("the Hugo theme and layouts are not used: tamizdat's theme renders pages")
    if config.data.get("menus") or config.data.get("menu"):
        notes.append("menus are not carried over: tamizdat's theme builds its own navigation")
    return notes


def _render(config: _HugoConfig, in_place: bool) -> tuple[str, list[str]]:
    top = config.table("title")
    title = top.string("title", "") or config.root.name
    base_url = config.table("baseurl").string("baseurl", "")
    notes = _notes(config)
    if not _URL.match(base_url):
        if base_url:
            notes.append(f"baseURL {quoted(base_url)} is not an http(s) URL: set [site] base_url")
        base_url = "http://127.0.0.1:8000/"
    params = config.table("params").table("params")
    description = params.string("description", "")
    default = config.table("defaultcontentlanguage").string("defaultcontentlanguage", "en")
    if not _LANG.match(default.lower()):
        raise config.table("defaultcontentlanguage").error(
            "defaultContentLanguage",
            f"expected a language code such as 'en' or 'ru', found {quoted(default)}",
        )
    default = default.lower()
    languages = _languages(config, title, description) or [
        _Language(default, title, description, 0)
    ]
    codes = [lang.code for lang in languages]
    if default not in codes:
        raise config.table("defaultcontentlanguage").error(
            "defaultContentLanguage",
            f"{quoted(default)} is not one of the languages ({', '.join(codes)})",
        )
    folders = config.table("contentdir")
    content = _inside(config.root, folders, "contentdir", "content")
    data = _inside(config.root, config.table("datadir"), "datadir", "data")
    static_table = config.table("staticdir")
    raw_static = static_table.data.get("staticdir", "static")
    statics = [raw_static] if isinstance(raw_static, str) else raw_static
    if not isinstance(statics, list):
        raise static_table.error("staticDir", "expected a folder or a list of folders")
    static_dirs = [
        _inside(config.root, Table({"staticdir": s}, static_table.file), "staticdir", "static")
        for s in statics
    ]
    copyright_text = config.table("copyright").string("copyright", "")
    lines = [
        "# Written by 'tamizdat init --from-hugo' from " + ", ".join(config.files) + ".",
        "# The Hugo files are read as they are; edit this file, not them, to change the build.",
        "",
        "[site]",
        f"title = {_toml(title)}",
        f"base_url = {_toml(base_url if base_url.endswith('/') else base_url + '/')}",
        f"default_language = {_toml(default)}",
    ]
    if copyright_text:
        lines.append(f"copyright = {_toml(copyright_text)}")
    for lang in languages:
        lines += ["", f"[languages.{lang.code}]", f"title = {_toml(lang.title)}"]
        if lang.description:
            lines.append(f"description = {_toml(lang.description)}")
    lines += [
        "",
        "[build]",
        f"content_dir = {_toml(content)}",
        f"static_dirs = [{', '.join(_toml(s) for s in static_dirs)}]",
        f"data_dir = {_toml(data)}",
    ]
    if in_place:
        lines.append(f"output_dir = {_toml(IN_PLACE_OUTPUT)}  # Hugo's own public/ is left alone")
    return "\n".join(lines) + "\n", notes


def _copy(source: Path, dest: Path, folders: list[str]) -> list[str]:
    copied = []
    for folder in folders:
        origin = source / folder
        if origin.is_dir() and not origin.is_symlink():
            # Links are copied as links: never followed out of the Hugo site here.
            shutil.copytree(origin, dest / folder, symlinks=True, dirs_exist_ok=True)
            copied.append(folder + "/")
    return copied


def _folders(text: str) -> list[str]:
    """The folders a written tamizdat.toml reads (content, static, data), to copy them."""
    build = tomllib.loads(text)["build"]
    return [build["content_dir"], *build["static_dirs"], build["data_dir"]]


def import_hugo(source: Path, dest: Path | None = None, *, force: bool = False) -> HugoImport:
    """Write a tamizdat.toml for the Hugo site in ``source`` (in place, or in ``dest``).

    Raises:
        UserError: ``source`` holds no Hugo configuration; a tamizdat.toml is already
            there (in place) or ``dest`` is not empty, and ``force`` is false.
        ConfigError: a Hugo configuration file cannot be read (names the file and line)
            or a key has a value tamizdat cannot use (names the file and the key).
    """
    source = source.resolve()
    if not source.is_dir():
        raise UserError("expected the folder of a Hugo site", where=str(source))
    config = _HugoConfig(source)
    in_place = dest is None or dest.resolve() == source
    text, notes = _render(config, in_place)
    target = source if in_place else Path(dest).resolve()  # type: ignore[arg-type]
    if in_place:
        if (source / CONFIG_NAME).exists() and not force:
            raise UserError(
                "a tamizdat.toml is already here",
                where=str(source / CONFIG_NAME),
                hint="pass --force to replace it",
            )
        files = [CONFIG_NAME]
    else:
        if source in target.parents:
            raise UserError("the destination is inside the Hugo site", where=str(target))
        if target.is_dir() and any(target.iterdir()) and not force:
            raise UserError(
                "the folder is not empty; refusing to write a site over existing files",
                where=str(target),
                hint="choose a new folder, or pass --force",
            )
        target.mkdir(parents=True, exist_ok=True)
        files = [CONFIG_NAME, *_copy(source, target, _folders(text))]
    write_atomic(target / CONFIG_NAME, text.encode("utf-8"))
    load_config(target)  # what was written must load; a failure here is a bug
    return HugoImport(target, source, in_place, tuple(config.files), tuple(files), tuple(notes))
