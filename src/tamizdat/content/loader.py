"""``load_site``: the content folder, authors and static files → one frozen :class:`Site`.

Invariant: the Site holds only articles that passed every check — authors resolved (a
name not in the authors file becomes a new author with a deterministic key), existing
images, a unique URL and a unique (translation key, language) — sorted newest first, then
by ``url_path``. Unchanged files are taken from the content cache and only re-checked
against the other files (authors, images), so a warm load does no parsing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import posixpath
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from tamizdat.config import Config, suggest
from tamizdat.content.article import ParsedFile, ParseSettings, article_too_large, parse_article
from tamizdat.content.assets import (
    FileStat,
    list_static_files,
    locate_asset,
    looked_in,
    site_relative,
    walk_files,
)
from tamizdat.content.authors import load_authors
from tamizdat.content.body import is_external
from tamizdat.content.cache import (
    CACHE_NAME,
    CacheEntry,
    ContentCache,
    cache_key,
    read_cache,
    shard_of,
    write_cache,
)
from tamizdat.content.limits import ContentLimits
from tamizdat.content.model import Article, Author, ImageRef, Site
from tamizdat.content.pagerefs import PageIndex
from tamizdat.content.slugs import MAX_SLUG_LENGTH, slugify
from tamizdat.errors import ContentError, quoted
from tamizdat.files import read_regular
from tamizdat.progress import Progress, report
from tamizdat.stat_cache import StatCache

logger = logging.getLogger(__name__)
STATIC_HASHES_NAME = "static-hashes.json"  # beside the content cache, in cache_dir

__all__ = ["load_site"]

_TASK = "load content"


class _Authors:
    """Resolves an author ref: a key, a name that belongs to exactly one author, or else a
    new author of that name (Hugo's ``author``/``authors`` are free names).

    A new author's key is the slug of the name, transliterated like article slugs, so it
    never depends on which article names them first; when that slug is already a known
    key or the slug of another new name, a short digest of the name is added.
    """

    def __init__(self, authors: tuple[Author, ...], refs: Iterable[str]) -> None:
        self.keys = {author.key for author in authors}
        by_name: dict[str, set[str]] = {}
        for author in authors:
            for name in (author.name, *(n for _, n in author.names)):
                by_name.setdefault(name, set()).add(author.key)
        self.by_name = {name: keys.pop() for name, keys in by_name.items() if len(keys) == 1}
        unknown = sorted({ref for ref in refs if ref not in self.keys and ref not in self.by_name})
        slugs: dict[str, list[str]] = {}
        for ref in unknown:
            slugs.setdefault(slugify(ref), []).append(ref)
        self.new: dict[str, Author] = {}
        for slug, names in slugs.items():
            for name in names:
                key = slug
                if len(names) > 1 or slug in self.keys:
                    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:8]
                    key = f"{slug[: MAX_SLUG_LENGTH - 9]}-{digest}"
                self.new[name] = Author(key=key, name=name)
        self.warned: set[str] = set()

    def key(self, ref: str, where: str) -> tuple[str, str | None]:
        """The author key of ``ref`` and a warning when a new author looks like a typo."""
        if ref in self.keys:
            return ref, None
        if ref in self.by_name:
            return self.by_name[ref], None
        author = self.new[ref]
        if ref in self.warned:
            return author.key, None
        self.warned.add(ref)
        hint = suggest(ref, sorted(self.keys | set(self.by_name)))
        if hint is None:
            return author.key, None
        return author.key, (
            f"{where}: author {quoted(ref)} is not in the authors file and gets a new author "
            f"page ({hint} add it to data/authors.yaml to use the known author)"
        )


class _Checker:
    """Checks a parsed file against the other files: authors and image files."""

    def __init__(
        self, authors: _Authors, statics: tuple[str, ...], known: set[str], pages: PageIndex
    ) -> None:
        self.authors = authors
        self.pages = pages
        self.warnings: list[str] = []
        self.statics = statics
        self.known = known

    def _locate(self, ref: str, source: str, line: int) -> str:
        try:
            found = locate_asset(ref, source, self.statics, self.known.__contains__)
        except ContentError as exc:
            raise ContentError(exc.message, where=f"{source}:{line}") from None
        if found is None:
            raise ContentError(
                f"image {quoted(ref)} not found (looked in {looked_in(ref, source, self.statics)})",
                where=f"{source}:{line}",
            )
        return found

    def finish(self, parsed: ParsedFile, previous: Article | None) -> Article:
        article = parsed.article
        where = f"{article.source}:{parsed.author_line}"
        keys = []
        for ref in article.authors:
            key, warning = self.authors.key(ref, where)
            keys.append(key)
            if warning:
                self.warnings.append(warning)
        authors = tuple(dict.fromkeys(keys))
        image = None
        if parsed.image_ref is not None:
            ref, alt, caption, line = parsed.image_ref
            # External images are kept as written: the renderer refuses them (privacy).
            source = ref if is_external(ref) else self._locate(ref, article.source, line)
            image = ImageRef(source, alt, caption)
        body_images: dict[str, str] = {}
        for ref, line in parsed.body_refs:
            if ref not in body_images and not is_external(ref):
                body_images[ref] = self._locate(ref, article.source, line)
        body = self.pages.resolve(article, parsed.page_refs) if parsed.page_refs else article.body
        checked = (authors, image, tuple(body_images.items()), body)
        if (
            previous is not None
            and (
                previous.authors,
                previous.image,
                previous.body_images,
                previous.body,
            )
            == checked
        ):
            return previous
        return dataclasses.replace(
            article, authors=authors, image=image, body_images=checked[2], body=body
        )


def _settings(config: Config) -> ParseSettings:
    return ParseSettings(
        languages=config.site.language_codes,
        default_language=config.site.default_language,
        desks=config.site.desk_names,
        default_desk=config.build.default_desk,
        content_dir=site_relative(config.root, config.build.content_dir),
        limits=ContentLimits(max_article_bytes=config.build.max_article_bytes),
        unknown_shortcodes=config.build.unknown_shortcodes,
    )


def _content_files(
    root: Path, content_dir: Path, links_inside: Path | None
) -> tuple[list[FileStat], set[str]]:
    """Markdown articles (Hugo ``_index.md`` list pages skipped) and every other file."""
    articles: list[FileStat] = []
    others: set[str] = set()
    for found in walk_files(root, content_dir, links_inside):
        name = posixpath.basename(found.source)
        if not name.endswith(".md"):
            others.add(found.source)
        elif not (name.startswith("_index.") or name == "_index.md"):
            articles.append(found)
    return articles, others


# Below this many files to parse, starting worker processes costs more than it saves.
_PARALLEL_MIN = 400
_Outcome = tuple[ParsedFile | None, tuple[str, str | None, str | None] | None]


def _parse_one(job: tuple[str, str, ParseSettings]) -> _Outcome:
    """Worker: parse one file; errors travel back as plain values (they keep ``where``)."""
    source, path, settings = job
    try:
        return parse_article(source, read_regular(path, where=source), settings), None
    except ContentError as exc:
        return None, (exc.message, exc.where, exc.hint)


def _parse_many(
    jobs: list[tuple[str, str, ParseSettings]], workers: int, progress: Progress | None
) -> Iterator[_Outcome]:
    total = len(jobs)
    if workers > 1 and total >= _PARALLEL_MIN:
        # Imported here: a warm load (the usual rebuild) parses a few files in-process,
        # and the command's start-up time counts in every rebuild.
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(max_workers=workers) as pool:
            for done, outcome in enumerate(pool.map(_parse_one, jobs, chunksize=64), 1):
                if done % 500 == 0 or done == total:
                    report(progress, _TASK, done, total)
                yield outcome
        return
    for done, job in enumerate(jobs, 1):
        if done % 500 == 0 or done == total:
            report(progress, _TASK, done, total)
        yield _parse_one(job)


def _parse_all(
    files: list[FileStat],
    old: ContentCache,
    new: ContentCache,
    settings: ParseSettings,
    workers: int,
    progress: Progress | None,
) -> None:
    """Fill ``new.articles`` from the cache or by parsing, in ``files`` order.

    Raises the ContentError of the first failing file in ``files`` order (deterministic
    even when parsing runs in several processes).
    """
    stale: list[FileStat] = []
    for found in files:
        entry = old.articles.get(found.source)
        if entry is None or (entry.size, entry.mtime_ns) != (found.size, found.mtime_ns):
            stale.append(found)
        else:
            new.articles[found.source] = entry
    for found in stale:
        # Refused before reading: a 30 MB file must not cost 30 MB (and its render, 3 GB).
        if found.size > settings.limits.max_article_bytes:
            raise article_too_large(found.source, found.size, settings.limits)
    jobs = [(found.source, found.path, settings) for found in stale]
    for found, (parsed, error) in zip(stale, _parse_many(jobs, workers, progress), strict=True):
        if error is not None:
            message, where, hint = error
            raise ContentError(message, where=where, hint=hint)
        assert parsed is not None
        new.articles[found.source] = CacheEntry(found.size, found.mtime_ns, parsed)


def _workers(configured: int) -> int:
    """``workers = 0`` in tamizdat.toml means one per CPU core."""
    return configured or os.cpu_count() or 1


def _save(path: Path, old: ContentCache, new: ContentCache, files: list[FileStat]) -> None:
    """Write the cache if anything changed, keeping still-valid entries after a failure."""
    for found in files:
        # A load that failed half-way keeps the rest, so the fix re-parses one file.
        if found.source not in new.articles and found.source in old.articles:
            new.articles[found.source] = old.articles[found.source]
    changed = {
        shard_of(source)
        for source in new.articles.keys() | old.articles.keys()
        if new.articles.get(source) is not old.articles.get(source)
    }
    if changed:
        write_cache(path, new, changed)


def _save_hashes(hashes: StatCache, file: Path) -> None:
    """Keep the static files' hashes for the next load; a failure only costs a re-hash."""
    try:
        hashes.save(file)
    except OSError as exc:
        logger.warning("could not write %s: %s", file, exc)


def _check_unique(articles: Iterable[Article], line_of: Callable[[Article, str], int]) -> None:
    urls: dict[str, Article] = {}
    keys: dict[tuple[str, str], Article] = {}
    for article in articles:
        other = urls.setdefault(article.url_path, article)
        if other is not article:
            raise ContentError(
                f"two articles would have the same URL /{article.url_path}: "
                f"{other.source} and {article.source}",
                where=f"{article.source}:{line_of(article, 'slug')}",
                hint="give one of them a different 'slug:'",
            )
        pair = (article.translation_key, article.lang)
        other = keys.setdefault(pair, article)
        if other is not article:
            raise ContentError(
                f"two '{article.lang}' articles share the translation key "
                f"{quoted(article.translation_key)}: {other.source} and {article.source}",
                where=f"{article.source}:{line_of(article, 'key')}",
                hint="set a different 'translationKey:' or 'lang:' on one of them",
            )


def _tag_slugs(articles: Iterable[Article]) -> tuple[tuple[str, str], ...]:
    names = {tag for article in articles for tag in article.tags}
    return tuple(sorted(((name, slugify(name)) for name in names), key=lambda p: (p[1], p[0])))


def load_site(
    config: Config, *, include_drafts: bool = False, progress: Progress | None = None
) -> Site:
    """Read every article, the authors file and the static files of the site in ``config``.

    Raises:
        ContentError: a content, authors or static file is invalid (``where`` is
            ``FILE:LINE``), an author or image is unknown, or two articles (or two static
            files) would produce the same output.
        UnsafeFileError: a link (unless allowed by the config), FIFO, socket or device file
            in the content, data or static folders.
    """
    build = config.build
    root = config.root
    settings = _settings(config)
    cache_path = build.cache_dir / CACHE_NAME
    old = read_cache(cache_path, cache_key(repr(settings)))
    new = ContentCache(old.key, tokens=dict(old.tokens))
    links = build.links_inside
    authors, warnings = load_authors(root, build.data_dir, links_inside=links)
    hashes_file = build.cache_dir / STATIC_HASHES_NAME
    old_hashes = StatCache.load(hashes_file, str(root))
    new_hashes = StatCache(str(root))
    static_files = list_static_files(root, build.static_dirs, old_hashes, new_hashes, links)
    _save_hashes(new_hashes, hashes_file)
    files, bundle_files = _content_files(root, build.content_dir, links)
    statics = tuple(site_relative(root, folder) for folder in build.static_dirs)
    articles: list[Article] = []
    try:
        _parse_all(files, old, new, settings, _workers(build.workers), progress)
        refs = (
            ref
            for entry in new.articles.values()
            if include_drafts or not entry.parsed.article.draft
            for ref in entry.parsed.article.authors
        )
        known = {f.source for f in static_files} | bundle_files
        pages = PageIndex(
            (
                entry.parsed.article
                for entry in new.articles.values()
                if include_drafts or not entry.parsed.article.draft
            ),
            settings.content_dir,
        )
        checker = _Checker(_Authors(authors, refs), statics, known, pages)
        for source, entry in sorted(new.articles.items()):
            warnings.extend(entry.parsed.warnings)
            if entry.parsed.article.draft and not include_drafts:
                continue
            finished = checker.finish(entry.parsed, entry.finished)
            if finished is not entry.finished:
                new.articles[source] = dataclasses.replace(entry, finished=finished)
            articles.append(finished)
    finally:
        _save(cache_path, old, new, files)
    articles.sort(key=lambda a: a.url_path)
    articles.sort(key=lambda a: a.date, reverse=True)

    def line_of(article: Article, which: str) -> int:
        parsed = new.articles[article.source].parsed
        return parsed.slug_line if which == "slug" else parsed.key_line

    _check_unique(sorted(articles, key=lambda a: a.source), line_of)
    warnings.extend(checker.warnings)
    cited = {key for article in articles for key in article.authors}
    new_authors = [a for a in checker.authors.new.values() if a.key in cited]
    return Site(
        articles=tuple(articles),
        authors=tuple(sorted((*authors, *new_authors), key=lambda a: a.key)),
        static_files=static_files,
        tag_slugs=_tag_slugs(articles),
        warnings=tuple(warnings),
        languages=config.site.language_codes,
    )
