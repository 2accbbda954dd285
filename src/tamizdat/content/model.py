"""The site model: pure, frozen data that ``load`` produces and ``render`` consumes.

Nothing here does I/O. Paths in the model are POSIX strings relative to the site root
(``source``) or to the output root (``url_path``, without a leading slash), so the model
pickles small and compares exactly across builds (the incremental build relies on that).

URL layout (the trust layer delegates by these path shapes; TUF patterns do not cross ``/``):

- article page: ``{lang}/{desk}/{yyyy}/{mm}/{slug}/index.html`` (``url_path`` ends in ``/``)
- article images: ``media/{desk}/{yyyy}/{mm}/{name}-{width}.{ext}``
- everything else (home, tag, author, archive, search, feeds, theme assets) is site-wide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from operator import attrgetter
from typing import Any

__all__ = ["Article", "Author", "ImageRef", "PickleByArguments", "Site", "StaticFile"]

_GETTERS: dict[type, attrgetter[Any]] = {}


class PickleByArguments:
    """Pickle a frozen slots dataclass as its constructor arguments.

    The content cache and worker processes carry tens of thousands of these; rebuilding
    through ``__init__`` loads about five times faster than dataclass slot state.
    """

    __slots__ = ()

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        cls = type(self)
        getter = _GETTERS.get(cls)
        if getter is None:
            # attrgetter of two or more names returns a tuple; every model class has two+.
            getter = _GETTERS[cls] = attrgetter(*cls.__dataclass_fields__)  # type: ignore[attr-defined]
        values: tuple[Any, ...] = getter(self)
        return cls, values


@dataclass(frozen=True, slots=True)
class Author(PickleByArguments):
    """One person (or pseudonym) who writes for the site, from the authors data file."""

    key: str
    name: str
    bio: str = ""
    pseudonym: bool = False
    # Optional localised names and bios: {"ru": "Анна Петрова"}.
    names: tuple[tuple[str, str], ...] = ()
    bios: tuple[tuple[str, str], ...] = ()

    def name_in(self, lang: str) -> str:
        return dict(self.names).get(lang, self.name)

    def bio_in(self, lang: str) -> str:
        return dict(self.bios).get(lang, self.bio)


@dataclass(frozen=True, slots=True)
class ImageRef(PickleByArguments):
    """An image an article shows. ``source`` is the file relative to the site root."""

    source: str
    alt: str = ""
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Article(PickleByArguments):
    """One article in one language, as written; body HTML is produced by ``render``."""

    source: str  # content file, relative to the site root, POSIX
    lang: str
    desk: str
    slug: str
    title: str
    date: datetime  # timezone-aware
    updated: datetime | None
    authors: tuple[str, ...]  # Author.key values
    tags: tuple[str, ...]  # display names, in front-matter order
    summary: str
    lead: str
    body: str  # Markdown source of the body
    body_line: int  # 1-based line in ``source`` where the body starts
    draft: bool
    translation_key: str
    image: ImageRef | None
    words: int
    content_hash: str  # sha256 hex of the source file's bytes
    # Images the body shows: (reference as written in the Markdown, source relative to the
    # site root), so render can point <img> at the processed, metadata-free widths.
    body_images: tuple[tuple[str, str], ...] = ()
    extra: tuple[tuple[str, str], ...] = field(default=())

    @property
    def url_path(self) -> str:
        """``{lang}/{desk}/{yyyy}/{mm}/{slug}/`` relative to the output root."""
        # Plain integer formatting: this runs for every article on every sort.
        date = self.date
        return f"{self.lang}/{self.desk}/{date.year:04d}/{date.month:02d}/{self.slug}/"

    @property
    def reading_minutes(self) -> int:
        """Reading time at 200 words a minute, at least one minute."""
        return max(1, round(self.words / 200))


@dataclass(frozen=True, slots=True)
class StaticFile(PickleByArguments):
    """A file copied as-is (or, for images, processed) into the output."""

    source: str  # relative to the site root
    output: str  # relative to the output root
    content_hash: str


@dataclass(frozen=True, slots=True)
class Site(PickleByArguments):
    """Everything ``load`` read. Articles are sorted newest first, then by ``url_path``."""

    articles: tuple[Article, ...]
    authors: tuple[Author, ...]
    static_files: tuple[StaticFile, ...]
    tag_slugs: tuple[tuple[str, str], ...]  # (tag display name, slug), deterministic
    warnings: tuple[str, ...] = ()
    # Configured language codes, default first (orders translations and language menus).
    languages: tuple[str, ...] = ()

    def tag_slug(self, name: str) -> str:
        """The slug of the tag page that lists articles tagged ``name``."""
        for tag, slug in self.tag_slugs:
            if tag == name:
                return slug
        raise KeyError(name)

    def author(self, key: str) -> Author:
        for author in self.authors:
            if author.key == key:
                return author
        raise KeyError(key)
