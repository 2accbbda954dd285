"""The ``[site]``, ``[languages.*]``, ``[build]`` and ``[desks.*]`` sections."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tamizdat.config._table import Table

__all__ = [
    "BudgetMode",
    "BuildSettings",
    "CorrectionsMode",
    "DeskSettings",
    "LanguageSettings",
    "SiteSettings",
    "read_site",
]

_LANG = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
_DESK = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_SHA256 = re.compile(r"^sha256:[0-9a-f]{64}$")

BudgetMode = Literal["warn", "fail"]
CorrectionsMode = Literal["warn", "fail"]


@dataclass(frozen=True, slots=True)
class LanguageSettings:
    """One language the site publishes in."""

    code: str
    title: str
    description: str


@dataclass(frozen=True, slots=True)
class DeskSettings:
    """A desk (or coalition member): signs only its own section of the site."""

    name: str
    title: str
    # The desk's name in other languages (``[desks.NAME.titles] ru = "Новости"``), sorted.
    titles: tuple[tuple[str, str], ...] = ()

    def title_in(self, lang: str) -> str:
        """The desk's name for pages in ``lang``: its translation, else ``title``."""
        return dict(self.titles).get(lang, self.title)


@dataclass(frozen=True, slots=True)
class BuildSettings:
    """Where the build reads and writes, and its limits. Paths are absolute."""

    content_dir: Path
    static_dirs: tuple[Path, ...]
    data_dir: Path
    theme_dir: Path
    output_dir: Path
    cache_dir: Path
    page_size: int
    feed_size: int
    related_count: int
    image_widths: tuple[int, ...]
    image_quality: int
    default_desk: str
    workers: int
    # The largest Markdown file the build reads (see tamizdat.content.limits for why).
    max_article_bytes: int = 4 * 1024 * 1024
    # The first-screen budget on article pages (render/budget.py): "fail" refuses the build,
    # "warn" reports each page over budget and publishes it anyway.
    budget: BudgetMode = "fail"
    # An article whose own text changed while its 'updated' date did not move forward (a
    # silent correction, render/corrections.py): "warn" reports it, "fail" refuses the build.
    corrections: CorrectionsMode = "warn"
    # A Hugo shortcode tamizdat does not translate (content/shortcodes.py): "fail" refuses
    # the build naming FILE:LINE, "warn" prints it as written and says where.
    unknown_shortcodes: Literal["fail", "warn"] = "fail"
    # Feeds carry each article's whole text (sanitised HTML), not only its lead.
    feed_full_text: bool = False
    # Static scripts allowed to be published, as (site-relative source, "sha256:HEX").
    allow_scripts: tuple[tuple[str, str], ...] = ()
    # Opt-in ``[build] follow_links_inside_site``: the site root, into which symbolic links
    # in the site's folders may resolve (and are then followed). None: every link is refused.
    links_inside: Path | None = None


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """Who publishes, in which languages, at which canonical address."""

    title: str
    base_url: str
    default_language: str
    languages: tuple[LanguageSettings, ...]
    desks: tuple[DeskSettings, ...]
    copyright: str
    build: BuildSettings

    @property
    def language_codes(self) -> tuple[str, ...]:
        return tuple(lang.code for lang in self.languages)

    def language(self, code: str) -> LanguageSettings:
        for lang in self.languages:
            if lang.code == code:
                return lang
        raise KeyError(code)

    @property
    def desk_names(self) -> tuple[str, ...]:
        return tuple(desk.name for desk in self.desks)


def _path(root: Path, value: str) -> Path:
    return (root / Path(value).expanduser()).resolve()


def _input_dir(table: Table, key: str, root: Path, value: str, follow_links: bool) -> Path:
    """A folder the build reads: inside the site folder, reached through no symbolic link
    (or, with ``follow_links_inside_site``, only through links that stay inside)."""
    written = Path(os.path.normpath(root / Path(value).expanduser()))
    resolved = Path(os.path.realpath(written))  # never raises: a loop is caught below
    for path in (written, resolved):
        if path != root and root not in path.parents:
            raise table.error(
                key,
                f"expected a folder inside the site folder, found {value!r} ({path})",
                hint="the build reads only files inside the site folder",
            )
    if not follow_links:
        for part in (written, *written.parents):
            if part == root:
                break
            if part.is_symlink():
                raise table.error(
                    key,
                    f"expected a folder, found a symbolic link: {part}",
                    hint="replace the link with the folder, or set "
                    "[build] follow_links_inside_site = true",
                )
    return resolved


def _read_build(table: Table, root: Path) -> BuildSettings:
    known = {
        "content_dir",
        "static_dirs",
        "data_dir",
        "theme_dir",
        "output_dir",
        "cache_dir",
        "page_size",
        "feed_size",
        "feed_full_text",
        "related_count",
        "image_widths",
        "image_quality",
        "default_desk",
        "workers",
        "max_article_bytes",
        "budget",
        "corrections",
        "unknown_shortcodes",
        "allow_scripts",
        "follow_links_inside_site",
    }
    table.reject_unknown(known)
    widths = table.integers("image_widths", (480, 960, 1440))
    if not widths or any(w < 16 or w > 8192 for w in widths):
        raise table.error("image_widths", f"expected widths between 16 and 8192, found {widths}")
    quality = table.integer("image_quality", 78, minimum=1)
    if quality > 100:
        raise table.error("image_quality", f"expected 1–100, found {quality}")
    desk = table.string("default_desk", "news")
    if not _DESK.match(desk):
        raise table.error(
            "default_desk", f"expected lowercase letters, digits and '-', found {desk!r}"
        )
    follow = table.boolean("follow_links_inside_site", False)

    def folder(key: str, value: str) -> Path:
        return _input_dir(table, key, root, value, follow)

    return BuildSettings(
        content_dir=folder("content_dir", table.string("content_dir", "content")),
        static_dirs=tuple(
            folder("static_dirs", p) for p in table.strings("static_dirs", ("static", "media"))
        ),
        data_dir=folder("data_dir", table.string("data_dir", "data")),
        theme_dir=folder("theme_dir", table.string("theme_dir", "theme")),
        output_dir=_path(root, table.string("output_dir", "public")),
        cache_dir=_path(root, table.string("cache_dir", ".tamizdat")),
        page_size=table.integer("page_size", 10, minimum=1),
        feed_size=table.integer("feed_size", 20, minimum=1),
        feed_full_text=table.boolean("feed_full_text", False),
        related_count=table.integer("related_count", 4, minimum=0),
        image_widths=tuple(sorted(set(widths))),
        image_quality=quality,
        default_desk=desk,
        workers=table.integer("workers", 0, minimum=0),
        max_article_bytes=table.integer("max_article_bytes", 4 * 1024 * 1024, minimum=1024),
        budget="warn" if table.choice("budget", "fail", ("warn", "fail")) == "warn" else "fail",
        corrections="fail"
        if table.choice("corrections", "warn", ("warn", "fail")) == "fail"
        else "warn",
        unknown_shortcodes="warn"
        if table.choice("unknown_shortcodes", "fail", ("warn", "fail")) == "warn"
        else "fail",
        allow_scripts=_read_allow_scripts(table.table("allow_scripts")),
        links_inside=root if follow else None,
    )


def _read_allow_scripts(table: Table) -> tuple[tuple[str, str], ...]:
    """``[build.allow_scripts]``: site-relative script path = "sha256:HEX" of its bytes."""
    allowed = []
    for source in sorted(table.data):
        digest = table.string(source, "")
        if not _SHA256.match(digest):
            raise table.error(
                source,
                f"expected 'sha256:' and 64 lowercase hex digits, found {digest!r}",
                "the build's error message for the script prints the exact line to add",
            )
        allowed.append((source, digest))
    return tuple(allowed)


def read_site(top: Table, root: Path) -> SiteSettings:
    """Read ``[site]``, ``[languages]``, ``[desks]`` and ``[build]`` from the top table."""
    site = top.table("site")
    site.reject_unknown({"title", "base_url", "default_language", "copyright"})
    title = site.string("title", "")
    if not title:
        raise site.error("title", "missing: every site needs a title")
    base_url = site.string("base_url", "http://127.0.0.1:8000/")
    if not re.match(r"^https?://[^/\s]+(/\S*)?$", base_url):
        raise site.error("base_url", f"expected an http(s):// URL, found {base_url!r}")
    if not base_url.endswith("/"):
        base_url += "/"
    default_language = site.string("default_language", "en")
    if not _LANG.match(default_language):
        raise site.error(
            "default_language",
            f"expected a language code such as 'en' or 'ru', found {default_language!r}",
        )

    languages_table = top.table("languages")
    languages = []
    for code in languages_table.data:
        lang = languages_table.table(code)
        if not _LANG.match(code):
            raise languages_table.error(
                code, f"expected a language code such as 'en' or 'ru', found {code!r}"
            )
        lang.reject_unknown({"title", "description"})
        languages.append(
            LanguageSettings(code, lang.string("title", title), lang.string("description", ""))
        )
    if not languages:
        languages.append(LanguageSettings(default_language, title, ""))
    codes = [lang.code for lang in languages]
    if default_language not in codes:
        raise site.error(
            "default_language",
            f"{default_language!r} is not one of the [languages] tables ({', '.join(codes)})",
        )
    # The default language comes first; the others keep the file's order.
    languages.sort(key=lambda lang: lang.code != default_language)

    build = _read_build(top.table("build"), root)

    desks_table = top.table("desks")
    desks = []
    for name in desks_table.data:
        desk = desks_table.table(name)
        if not _DESK.match(name):
            raise desks_table.error(
                name, f"expected lowercase letters, digits and '-', found {name!r}"
            )
        desk.reject_unknown({"title", "titles"})
        titles = desk.table("titles")
        for code in titles.data:
            if code not in codes:
                raise titles.error(code, f"{code!r} is not one of the [languages] tables")
        desks.append(
            DeskSettings(
                name,
                desk.string("title", name),
                tuple(sorted((code, titles.string(code, name)) for code in titles.data)),
            )
        )
    if build.default_desk not in {d.name for d in desks}:
        if desks:
            raise top.table("build").error(
                "default_desk", f"{build.default_desk!r} is not one of the [desks] tables"
            )
        desks.append(DeskSettings(build.default_desk, build.default_desk))

    return SiteSettings(
        title=title,
        base_url=base_url,
        default_language=default_language,
        languages=tuple(languages),
        desks=tuple(desks),
        copyright=site.string("copyright", ""),
        build=build,
    )
