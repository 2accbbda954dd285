"""Hugo ``ref``/``relref`` targets → the relative URL of the article they name.

Invariant: every placeholder :func:`~tamizdat.content.shortcodes.page_ref_token` left in a
body is replaced by a relative link to an article that is built (drafts count only when
drafts are built), or the load fails with the referring ``FILE:LINE`` and the target as
written. Both shortcodes give a relative URL: the site's links are relative so that the
same bytes work from every mirror (``ref``'s absolute permalink would tie it to one host).

Lookup follows Hugo: a path starting with ``/`` is relative to the content folder, other
paths first to the referring file's folder, then to the content folder; ``x``, ``x.md``,
``x/index.md`` and ``x/_index.md`` name the same page; a bare name matches a file of that
name anywhere when only one exists. A page with a translation in the referring article's
language links to that translation, as Hugo does.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from urllib.parse import quote

from tamizdat.content.model import Article
from tamizdat.content.shortcodes import page_ref_token
from tamizdat.errors import ContentError, quoted

__all__ = ["PageIndex"]

_TOKEN = re.compile(page_ref_token(0).replace("0", "([0-9]+)"))


def _stem(source: str) -> str:
    """``content/a/x.ru.md`` and ``content/a/x.md`` → ``content/a/x``; bundles → their folder."""
    stem = source[: -len(".md")] if source.endswith(".md") else source
    base = posixpath.basename(stem)
    if base in ("index", "_index") or base.startswith(("index.", "_index.")):
        return posixpath.dirname(stem)
    return stem


class PageIndex:
    """The built articles by file, for resolving page references."""

    def __init__(self, articles: Iterable[Article], content_dir: str) -> None:
        self.content_dir = content_dir
        self.by_stem: dict[str, list[Article]] = {}
        self.by_name: dict[str, list[Article]] = {}
        self.by_key: dict[tuple[str, str], Article] = {}
        for article in articles:
            stem = _stem(article.source)
            self.by_stem.setdefault(stem, []).append(article)
            self.by_name.setdefault(posixpath.basename(stem), []).append(article)
            self.by_key[(article.translation_key, article.lang)] = article

    def _lookup(self, target: str, source: str) -> list[Article]:
        path = target.split("#", 1)[0].strip()
        # Strip a language suffix (``x.ru.md``) the way file names carry it.
        cleaned = _stem(path.lstrip("/")) if path else ""
        if not cleaned:
            return []
        if path.startswith("/"):
            bases = [self.content_dir]
        else:
            bases = [posixpath.dirname(source), self.content_dir]
        for base in bases:
            found = self.by_stem.get(posixpath.normpath(posixpath.join(base, cleaned)))
            if found:
                return found
        if "/" not in cleaned:
            named = self.by_name.get(cleaned, [])
            if len({_stem(a.source) for a in named}) == 1:
                return named
        return []

    def resolve(self, article: Article, refs: tuple[tuple[str, int], ...]) -> str:
        """``article.body`` with each page reference replaced by a relative URL.

        Raises:
            ContentError: a reference names no built article; ``where`` is ``FILE:LINE``.
        """
        up = "../" * article.url_path.count("/")
        urls = []
        for target, line in refs:
            found = self._lookup(target, article.source)
            if not found:
                raise ContentError(
                    f"page reference {quoted(target)} names no article that is built",
                    where=f"{article.source}:{line}",
                    hint="the path is relative to this file's folder or, starting with '/', "
                    "to the content folder; a draft is built only with --drafts",
                )
            same = [a for a in found if a.lang == article.lang]
            page = same[0] if same else found[0]
            page = self.by_key.get((page.translation_key, article.lang), page)
            fragment = "#" + quote(target.split("#", 1)[1], safe="-_.~") if "#" in target else ""
            urls.append(up + page.url_path + "index.html" + fragment)
        # One pass over the body, however many references it holds.
        return _TOKEN.sub(lambda m: urls[int(m.group(1))], article.body)
