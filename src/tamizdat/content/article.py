"""One content file → one :class:`ParsedFile` (an article before site-wide checks).

Invariant: parsing depends only on the file's bytes, its path and :class:`ParseSettings`
(so a cached result stays valid while those are unchanged). What depends on other files —
author keys, image files — is left as refs with their lines for the loader to check.
"""

from __future__ import annotations

import difflib
import hashlib
import posixpath
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from tamizdat.config import suggest
from tamizdat.content.body import body_image_refs, count_words
from tamizdat.content.frontmatter import FrontMatter, decode_source, parse_front_matter
from tamizdat.content.limits import DEFAULT_LIMITS, ContentLimits, format_size
from tamizdat.content.model import Article, PickleByArguments
from tamizdat.content.shortcodes import UnknownPolicy, translate_shortcodes
from tamizdat.content.slugs import is_valid_slug, slugify
from tamizdat.errors import ContentError, quoted

__all__ = [
    "IGNORED_KEYS",
    "KNOWN_KEYS",
    "ParseSettings",
    "ParsedFile",
    "article_too_large",
    "parse_article",
]

KNOWN_KEYS = (
    "title",
    "date",
    "lastmod",
    "updated",
    "author",
    "authors",
    "tags",
    "categories",
    "summary",
    "description",
    "slug",
    "draft",
    "published",
    "lang",
    "translationKey",
    "image",
    "image_alt",
    "image_caption",
    "lead",
    "desk",
)
# Keys Hugo and Jekyll sites carry that mean nothing to tamizdat: accepted silently.
IGNORED_KEYS = frozenset(
    {
        "weight", "aliases", "url", "layout", "type", "keywords", "permalink", "series",
        "toc", "publishDate", "expiryDate", "linkTitle", "menu", "menus", "outputs",
        "resources", "markup", "headless", "cascade", "build", "sitemap", "isCJKLanguage",
        "images", "audio", "videos", "excerpt", "excerpt_separator", "comments", "share",
        "featured", "featured_image", "hidden", "math", "mathjax", "katex", "showToc",
        "TocOpen", "cover", "canonicalURL", "robots", "noindex", "subtitle", "thumbnail",
        "categories_weight", "related", "redirect_from", "sidebar", "nav", "og_image",
        "pubdate", "modified",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class ParseSettings(PickleByArguments):
    """The configuration an article's parse depends on (part of the cache key)."""

    languages: tuple[str, ...]  # configured order, default first
    default_language: str
    desks: tuple[str, ...]
    default_desk: str
    content_dir: str  # relative to the site root, POSIX
    limits: ContentLimits = DEFAULT_LIMITS
    unknown_shortcodes: UnknownPolicy = "fail"  # a Hugo shortcode without a translation


@dataclass(frozen=True, slots=True)
class ParsedFile(PickleByArguments):
    """An article whose authors and images still need checking against other files.

    ``article.authors`` holds the refs as written; ``article.image`` and
    ``article.body_images`` are empty until the loader resolves ``image_ref`` and
    ``body_refs``.
    """

    article: Article
    author_line: int
    image_ref: tuple[str, str, str, int] | None  # (ref, alt, caption, line)
    body_refs: tuple[tuple[str, int], ...]  # (ref as written, line)
    warnings: tuple[str, ...]
    slug_line: int  # the line that decides the URL: ``slug``, else ``title``
    key_line: int  # the line of ``translationKey`` (1 when derived from the path)
    page_refs: tuple[tuple[str, int], ...] = ()  # Hugo ``ref`` targets (see shortcodes)


def _missing_title(source: str, fm: FrontMatter) -> ContentError:
    """The error for an article without a title, pointing at a misspelt ``title`` key if any."""
    for key in fm.data:
        if key != "title" and difflib.get_close_matches(key, ["title"], n=1, cutoff=0.6):
            return ContentError(
                f"missing title (found the key {quoted(key)})",
                where=_where(source, fm, key),
                hint=f"did you mean 'title'? rename {quoted(key)} to 'title'",
            )
    return ContentError("missing title", where=_where(source, fm, "title"), hint="add 'title: …'")


def article_too_large(source: str, size: int, limits: ContentLimits) -> ContentError:
    """The error for a Markdown file over ``limits.max_article_bytes`` (checked before reading)."""
    return ContentError(
        f"the file is {format_size(size)}, more than the limit of "
        f"{format_size(limits.max_article_bytes)} for one article",
        where=f"{source}:1",
        hint="split it into several articles, or raise [build] max_article_bytes "
        "in tamizdat.toml (rendering takes about 100 bytes of memory per byte of Markdown)",
    )


def _where(source: str, fm: FrontMatter, key: str) -> str:
    return f"{source}:{fm.line(key)}"


def _text(fm: FrontMatter, source: str, *keys: str) -> str:
    """The first of ``keys`` present, as text (numbers are accepted as text)."""
    for key in keys:
        value = fm.data.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ContentError(
                f"'{key}' must be text, found {type(value).__name__}", where=_where(source, fm, key)
            )
        return str(value).strip()
    return ""


def _names(fm: FrontMatter, source: str, limit: int, *keys: str) -> tuple[str, ...]:
    """Strings or lists of strings under ``keys``, merged, stripped, first occurrence kept.

    More than ``limit`` names together is an error naming the last key read.
    """
    out: dict[str, None] = {}
    for key in keys:
        value = fm.data.get(key)
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (str, int, float)):
                raise ContentError(
                    f"'{key}' must be a name or a list of names, found {quoted(item)}",
                    where=_where(source, fm, key),
                )
            if str(item).strip():
                out.setdefault(str(item).strip(), None)
        if len(out) > limit:
            raise ContentError(
                f"{' and '.join(repr(k) for k in keys if k in fm.data)} name {len(out)} or "
                f"more different entries, more than the limit of {limit}",
                where=_where(source, fm, key),
            )
    return tuple(out)


def parse_date(value: Any) -> datetime | None:
    """YAML/TOML dates and datetimes or ISO 8601 text → aware datetime (naive → UTC)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _date(fm: FrontMatter, source: str, *keys: str) -> tuple[datetime | None, str]:
    for key in keys:
        if fm.data.get(key) is None:
            continue
        moment = parse_date(fm.data[key])
        if moment is None:
            raise ContentError(
                f"'{key}' is not a date: expected YYYY-MM-DD or an ISO 8601 date and time "
                f"such as 2024-03-01T09:30:00+03:00, found {quoted(fm.data[key])}",
                where=_where(source, fm, key),
            )
        return moment, key
    return None, ""


# Where Hugo looks for a page's date, in its order (its ``:default``), then tamizdat's own
# ``updated``. ``published`` counts only when it holds a date (Jekyll uses it as a flag).
_DATE_KEYS = ("date", "publishDate", "pubdate", "published", "lastmod", "modified", "updated")
# A date at the start of the file (or bundle folder) name: Hugo's ``:filename``.
_NAME_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[-_]|$)")
# Hugo's date for a page that gives none: Go's zero time, shown as 0001-01-01.
UNDATED = datetime(1, 1, 1, tzinfo=UTC)


def _dated_by(fm: FrontMatter) -> tuple[str, ...]:
    return tuple(k for k in _DATE_KEYS if not isinstance(fm.data.get(k), bool))


def _undated(source: str, key_path: str) -> tuple[datetime, list[str]]:
    """The date of a page whose front matter has none, as Hugo gives it, never from the
    file system (a checkout, a copy or a clock would change it): the date its file or
    bundle folder name starts with, else Hugo's zero date. Always with a warning."""
    name = posixpath.basename(key_path)
    found = _NAME_DATE.match(name)
    if found is not None:
        try:
            year, month, day = (int(part) for part in found.groups())
            moment = datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            moment = None
        if moment is not None:
            return moment, [
                f"{source}:1: no date in the front matter: dated {moment.date()} from its "
                "file name, as Hugo's ':filename' does (add 'date: YYYY-MM-DD' to be explicit)"
            ]
    return UNDATED, [
        f"{source}:1: no date in the front matter: dated 0001-01-01 as Hugo does, so it "
        "sorts last and is filed under 0001/01 (add 'date: YYYY-MM-DD')"
    ]


def _warn_unknown(fm: FrontMatter, source: str) -> list[str]:
    warnings = []
    for key in fm.data:
        if key in KNOWN_KEYS or key in IGNORED_KEYS:
            continue
        hint = suggest(key, KNOWN_KEYS)
        warnings.append(
            f"{_where(source, fm, key)}: unknown front-matter key {quoted(key)}"
            + (f" ({hint})" if hint else "")
        )
    return warnings


def _split_name(content_path: str, settings: ParseSettings) -> tuple[str, str | None]:
    """``posts/x.ru.md`` → (``posts/x``, ``ru``); a suffix counts only if it is configured."""
    stem = content_path[: -len(".md")]
    base, dot, suffix = stem.rpartition(".")
    if dot and "/" not in suffix and suffix in settings.languages:
        return base, suffix
    return stem, None


def _language(fm: FrontMatter, source: str, suffix: str | None, settings: ParseSettings) -> str:
    written = _text(fm, source, "lang")
    if written and written not in settings.languages:
        base = written.replace("_", "-").split("-")[0].lower()  # "ru-RU" → "ru"
        hint = f"did you mean '{base}'?" if base in settings.languages else None
        hint = hint or suggest(written, settings.languages)
        raise ContentError(
            f"language {quoted(written)} is not configured (configured: {', '.join(settings.languages)})",
            where=_where(source, fm, "lang"),
            hint=hint or "add it under [languages] in tamizdat.toml",
        )
    return suffix or written or settings.default_language


def _image(fm: FrontMatter, source: str) -> tuple[str, str, str, int] | None:
    value = fm.data.get("image")
    alt = _text(fm, source, "image_alt")
    caption = _text(fm, source, "image_caption")
    if value is None:
        return None
    line = fm.line("image")
    if isinstance(value, dict):
        unknown = set(value) - {"src", "alt", "caption"}
        src = value.get("src")
        if unknown or not isinstance(src, str):
            raise ContentError(
                "'image' must be a path or a table with 'src' (and optional 'alt', 'caption'), "
                f"found keys {quoted(sorted(map(str, value)))}",
                where=f"{source}:{line}",
            )
        alt = str(value.get("alt", alt)).strip()
        caption = str(value.get("caption", caption)).strip()
        value = src
    if not isinstance(value, str) or not value.strip():
        raise ContentError(
            f"'image' must be a path, found {quoted(value)}", where=f"{source}:{line}"
        )
    return value.strip(), alt, caption, line


def _slug(fm: FrontMatter, source: str, title: str, lang: str, stem: str) -> str:
    written = fm.data.get("slug")
    if written is None:
        return slugify(title, lang=lang, fallback=stem)
    if not isinstance(written, str) or not is_valid_slug(written):
        raise ContentError(
            "'slug' must be lowercase ASCII letters, digits and single hyphens "
            f"(at most 80), found {quoted(written)}",
            where=_where(source, fm, "slug"),
            hint=f"for example '{slugify(str(written), lang=lang, fallback=stem)}'",
        )
    return written


def parse_article(source: str, raw: bytes, settings: ParseSettings) -> ParsedFile:
    """Parse the content file ``source`` (site-relative) whose bytes are ``raw``.

    Raises:
        ContentError: the file is larger than ``settings.limits.max_article_bytes``;
            invalid UTF-8 or front matter (see :func:`parse_front_matter`); a missing
            title, a bad date, slug, language or desk, too many tags or authors,
            or a value of the wrong type; a Hugo shortcode without a translation (see
            :func:`translate_shortcodes`); ``where`` is ``FILE:LINE``.
    """
    limits = settings.limits
    if len(raw) > limits.max_article_bytes:
        raise article_too_large(source, len(raw), limits)
    fm = parse_front_matter(decode_source(raw, source), source, limits)
    title = _text(fm, source, "title")
    if not title:
        raise _missing_title(source, fm)
    published, _ = _date(fm, source, *_dated_by(fm))
    updated, _ = _date(fm, source, "lastmod", "updated", "modified")
    content_path = posixpath.relpath(source, settings.content_dir)
    key_path, suffix = _split_name(content_path, settings)
    lang = _language(fm, source, suffix, settings)
    shortcodes = translate_shortcodes(fm.body, source, fm.body_line, settings.unknown_shortcodes)
    body = shortcodes.body
    warnings = [*fm.warnings, *_warn_unknown(fm, source), *shortcodes.warnings]
    if suffix and fm.data.get("lang") not in (None, suffix):
        warnings.append(
            f"{_where(source, fm, 'lang')}: 'lang: {fm.data['lang']}' ignored: "
            f"the file name says '{suffix}'"
        )
    image_ref = _image(fm, source)
    if image_ref is not None and not image_ref[1]:
        # The lead photo is the first thing a screen-reader user meets after the headline.
        warnings.append(
            f"{source}:{image_ref[3]}: the lead image {quoted(image_ref[0])} has no alt text; "
            "describe it with 'alt:' under 'image:' (or 'image_alt:')"
        )
    bundle = posixpath.basename(key_path) == "index" and "/" in key_path
    if bundle:
        key_path = posixpath.dirname(key_path)
    if published is None:
        published, undated = _undated(source, key_path)
        warnings += undated
    desk = _text(fm, source, "desk") or settings.default_desk
    if desk not in settings.desks:
        raise ContentError(
            f"desk {quoted(desk)} is not configured (configured: {', '.join(settings.desks)})",
            where=_where(source, fm, "desk"),
            hint=suggest(desk, settings.desks),
        )
    draft = fm.data.get("draft", False)
    if not isinstance(draft, bool):
        raise ContentError(
            f"'draft' must be true or false, found {quoted(draft)}",
            where=_where(source, fm, "draft"),
        )
    if fm.data.get("published") is False:  # Jekyll's way of saying draft
        draft = True
    article = Article(
        source=source,
        lang=lang,
        desk=desk,
        slug=_slug(fm, source, title, lang, posixpath.basename(key_path)),
        title=title,
        date=published,
        updated=updated if updated is not None and updated > published else None,
        authors=_names(fm, source, limits.max_authors, "author", "authors"),
        tags=_names(fm, source, limits.max_names, "tags", "categories"),
        summary=_text(fm, source, "summary", "description"),
        lead=_text(fm, source, "lead"),
        body=body,
        body_line=fm.body_line,
        draft=draft,
        translation_key=_text(fm, source, "translationKey") or key_path,
        image=None,
        words=count_words(body),
        content_hash=hashlib.sha256(raw).hexdigest(),
    )
    author_key = "authors" if "authors" in fm.lines and "author" not in fm.lines else "author"
    return ParsedFile(
        article=article,
        author_line=fm.line(author_key),
        image_ref=image_ref,
        body_refs=tuple(body_image_refs(body, fm.body_line)),
        warnings=tuple(warnings),
        slug_line=fm.line("slug" if "slug" in fm.data else "title"),
        key_line=fm.line("translationKey"),
        page_refs=shortcodes.page_refs,
    )
