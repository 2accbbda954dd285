"""Silent corrections: an article whose own content changed while its ``updated`` date did not.

A newsroom must not change a published article without saying so: readers (and anyone
comparing copies) rely on the ``updated`` date to tell a correction from a forgery. The
build keeps, per article page, a record of the *last dated version* (its ``updated`` date
and a digest of the article's own content) in the build manifest, and compares each build
against it.

Invariants:

- The digest covers what the article itself says (title, date, authors, tags, summary,
  lead, body, its images' source bytes, extra front matter), never the page bytes: a theme,
  template or setting change that alters every page is not a correction of every article.
  It leaves out ``updated`` itself, so moving only the date is never a correction.
- A page is a silent correction when its digest differs from the last dated version's and
  its ``updated`` is absent or not later than that version's. The record keeps the dated
  version until ``updated`` moves forward, so a silent correction is reported on every
  build while it stays published (a preview build in ``tamizdat serve`` cannot swallow the
  warning before the real one).
- A page with no record (first build, new page, older manifest, other digest scheme) starts
  a record and is never reported.
- The digest of an unchanged article is not recomputed: a record remembers the inputs it
  was computed from (the source file's hash and its images' hashes, all known already).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tamizdat.config.site import CorrectionsMode
from tamizdat.content.model import Article
from tamizdat.errors import ContentError

__all__ = [
    "DIGEST_SCHEME",
    "ArticleRecord",
    "Correction",
    "check_corrections",
    "content_digest",
    "read_records",
    "records_to_json",
]

# Bump when content_digest changes what it covers: records of another scheme are dropped
# (each page starts afresh, unreported) instead of flagging every article after an upgrade.
DIGEST_SCHEME = 1


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """One article page as the build last left it.

    ``updated`` and ``dated`` describe the last dated version (its ``updated`` date, None if
    never updated, and its content digest); ``inputs`` and ``digest`` the version now in
    ``public/``. They differ only while a silent correction is published.
    """

    updated: datetime | None
    dated: str
    inputs: str
    digest: str


@dataclass(frozen=True, slots=True)
class Correction:
    """An article page whose content changed without a newer ``updated`` date."""

    source: str  # the article's file, relative to the site root
    output: str  # its page, relative to public/
    updated: datetime | None  # the date it carries now
    dated: datetime | None  # the date of the last dated version

    def message(self) -> str:
        now = self.updated.isoformat() if self.updated else "none"
        before = self.dated.isoformat() if self.dated else "none"
        return (
            f"{self.source}: the article changed but its 'updated' date did not move forward "
            f"(page {self.output}; updated: {now}, last dated version: {before}); "
            "add 'updated: DATE' to its front matter"
        )


def _image_sources(article: Article) -> list[str]:
    sources = [article.image.source] if article.image else []
    return sources + [source for _, source in article.body_images]


def content_digest(article: Article, hashes: Mapping[str, str]) -> str:
    """SHA-256 of what ``article`` itself says; ``hashes`` maps image sources to theirs."""
    image = article.image
    fields = [
        article.title,
        article.date.isoformat(),
        list(article.authors),
        list(article.tags),
        article.summary,
        article.lead,
        hashlib.sha256(article.body.encode()).hexdigest(),
        [image.source, image.alt, image.caption] if image else None,
        [list(pair) for pair in article.body_images],
        [hashes.get(source, "") for source in _image_sources(article)],
        [list(pair) for pair in article.extra],
    ]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


def _inputs(article: Article, hashes: Mapping[str, str]) -> str:
    """What the digest depends on, already hashed elsewhere: cheap to compare every build
    (this runs for every article of every build; most show no image)."""
    images = _image_sources(article)
    if not images:
        return article.content_hash
    joined = ",".join([article.content_hash, *(hashes.get(source, "") for source in images)])
    return hashlib.sha256(joined.encode()).hexdigest()


def _later(updated: datetime | None, dated: datetime | None) -> bool:
    return updated is not None and (dated is None or updated > dated)


def check_corrections(
    pages: Iterable[tuple[str, Article]],
    previous: Mapping[str, ArticleRecord],
    hashes: Mapping[str, str],
    mode: CorrectionsMode,
) -> tuple[dict[str, ArticleRecord], tuple[Correction, ...]]:
    """The new records of every article page, and the silent corrections among them.

    ``pages`` are (output path, article) pairs; ``hashes`` maps site-relative sources (the
    article's images) to their SHA-256.

    Raises:
        ContentError: ``mode`` is "fail" and an article changed without a newer ``updated``
            date; it names every such article's file and page.
    """
    records: dict[str, ArticleRecord] = {}
    found: list[Correction] = []
    for output, article in pages:
        inputs = _inputs(article, hashes)
        old = previous.get(output)
        if old is not None and old.inputs == inputs:
            digest = old.digest  # the same source file and images: the same content
        else:
            digest = content_digest(article, hashes)
        if old is None or digest == old.dated or _later(article.updated, old.updated):
            records[output] = ArticleRecord(article.updated, digest, inputs, digest)
            continue
        records[output] = ArticleRecord(old.updated, old.dated, inputs, digest)
        found.append(Correction(article.source, output, article.updated, old.updated))
    if found and mode == "fail":
        raise ContentError(
            f"{len(found)} article(s) changed without a newer 'updated' date: "
            + "; ".join(f"{c.source} (page {c.output})" for c in found),
            where=found[0].source,
            hint="add 'updated: DATE' to each corrected article so readers see the correction "
            '(or set [build] corrections = "warn")',
        )
    return records, tuple(found)


def records_to_json(records: Mapping[str, ArticleRecord]) -> dict[str, Any]:
    """The manifest's ``articles`` value (``digest`` is null when it equals ``dated``, as
    it does unless a silent correction is published: the manifest stays small)."""
    pages = {
        output: [
            r.updated.isoformat() if r.updated else None,
            r.dated,
            r.inputs,
            None if r.digest == r.dated else r.digest,
        ]
        for output, r in sorted(records.items())
    }
    return {"scheme": DIGEST_SCHEME, "pages": pages}


def _record(fields: Any) -> ArticleRecord:
    updated, dated, inputs, digest = fields
    digest = dated if digest is None else digest
    if not all(isinstance(v, str) for v in (dated, inputs, digest)):
        raise TypeError("expected digests")
    when = datetime.fromisoformat(updated) if updated is not None else None
    if when is not None and when.tzinfo is None:
        raise ValueError("expected a timezone-aware date")
    return ArticleRecord(when, dated, inputs, digest)


def read_records(data: Any) -> dict[str, ArticleRecord]:
    """Records from the manifest's ``articles`` value; none if absent, damaged or of another
    scheme (the pages then start afresh, unreported)."""
    try:
        if not isinstance(data, dict) or data.get("scheme") != DIGEST_SCHEME:
            return {}
        return {str(output): _record(fields) for output, fields in data["pages"].items()}
    except (TypeError, ValueError, KeyError, AttributeError):
        return {}
