"""What each template is given: plain dicts of display-ready strings and relative links.

Invariant kept: every link a context holds is relative to the page being rendered (its
``root`` prefix leads back to public/), and every date is shown through Babel in the
page's language, so templates hold no logic beyond layout.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from babel.dates import format_date
from markupsafe import Markup

from tamizdat.config import SiteSettings
from tamizdat.content.model import Article, Site
from tamizdat.errors import ContentError
from tamizdat.render.i18n import format_article_date, locale_for
from tamizdat.render.listing import Listing
from tamizdat.render.privacy import CSP, REFERRER
from tamizdat.render.types import ImageSet
from tamizdat.render.urls import (
    archive_path,
    article_path,
    author_path,
    canonical,
    desk_path,
    home_path,
    month_path,
    root_of,
    tag_path,
)

__all__ = ["ContextBuilder", "language_name"]


def language_name(code: str) -> str:
    """The language's own name for itself, capitalised: ``Русский``, ``English``."""
    locale = locale_for(code)
    name = locale.get_display_name(locale) or code
    return name[:1].upper() + name[1:]


@functools.lru_cache(maxsize=8192)
def _medium_date(day: date, lang: str) -> str:
    # Cards repeat across pages (lists, "don't miss"): Babel's formatting is worth caching.
    return format_date(day, format="medium", locale=locale_for(lang))


class ContextBuilder:
    """Builds template contexts for one site."""

    def __init__(
        self,
        site: Site,
        settings: SiteSettings,
        listing: Listing,
        images: Mapping[str, ImageSet],
    ) -> None:
        self.site = site
        self.settings = settings
        self.listing = listing
        self.images = images

    def common(
        self, lang: str, output: str, title: str, *, parallel: bool = False, root: str = ""
    ) -> dict[str, Any]:
        """What every page needs: language, root prefix, metas, navigation.

        ``parallel``: the page exists at the same path in every language (a home, a
        section front, the archive, search, verify), so each language is an alternate.
        ``root``: the prefix to the output root when links must not be relative to the
        page (a 404 page, served at whatever address was missing).
        """
        root = root or root_of(output)
        site_title = self.site_title(lang)
        try:
            description = self.settings.language(lang).description
        except KeyError:
            description = ""
        same_path = output.split("/", 1)[1] if "/" in output else ""
        languages = [
            {
                "code": code,
                "name": language_name(code),
                "href": root + (f"{code}/{same_path}" if parallel else home_path(code)),
                "current": code == lang,
            }
            for code in self.listing.languages
        ]
        return {
            "lang": lang,
            "root": root,
            # Markup: the policy's single quotes need no escaping inside a "…" attribute.
            "csp": Markup(CSP),  # noqa: S704 - a constant of ours
            "referrer": REFERRER,
            "page_title": title,
            "site_title": site_title,
            "description": description,
            "canonical": canonical(self.settings.base_url, output),
            "copyright": self.settings.copyright,
            "nav": {
                "home": root + home_path(lang),
                "archive": root + archive_path(lang),
                "search": f"{root}{lang}/search/index.html",
                "verify": f"{root}{lang}/verify/index.html",
                "atom": f"{root}{lang}/atom.xml",
                "rss": f"{root}{lang}/rss.xml",
                "json": f"{root}{lang}/feed.json",
                "favicon": f"{root}assets/favicon.png",
            },
            "desks": [
                {
                    "name": desk.name,
                    "title": desk.title_in(lang),
                    "href": root + desk_path(lang, desk.name),
                    "current": output.startswith(f"{lang}/{desk.name}/"),
                }
                for desk in self.settings.desks
            ],
            "languages": languages,
            # Absolute: search engines resolve hreflang alternates only from full URLs.
            "alternates": [
                {"lang": code, "href": canonical(self.settings.base_url, f"{code}/{same_path}")}
                for code in self.listing.languages
            ]
            if parallel and len(self.listing.languages) > 1
            else [],
        }

    def site_title(self, lang: str) -> str:
        """The site's name in ``lang`` (``[languages.LANG] title``)."""
        try:
            return self.settings.language(lang).title
        except KeyError:
            return self.settings.title

    def author_name(self, key: str, lang: str) -> str:
        try:
            return self.site.author(key).name_in(lang)
        except KeyError:
            return key

    def card(self, article: Article, root: str) -> dict[str, Any]:
        """An article as lists show it: headline, section, date, text, thumbnail."""
        return {
            "title": article.title,
            "href": root + article_path(article),
            "lang": article.lang,
            "desk": _desk_title(self.settings, article.desk, article.lang),
            "desk_href": root + desk_path(article.lang, article.desk),
            "datetime": article.date.isoformat(),
            "date": _medium_date(article.date.date(), article.lang),
            "text": article.lead or article.summary,
            "image": self.image(article, root),
        }

    def cards(self, articles: Sequence[Article], root: str) -> list[dict[str, Any]]:
        return [self.card(a, root) for a in articles]

    def image(self, article: Article, root: str) -> dict[str, Any] | None:
        """The lead image's variants, or None.

        Raises:
            ContentError: the image was not processed by the build.
        """
        ref = article.image
        if ref is None:
            return None
        images = self.images.get(ref.source)
        if images is None or not images.variants:
            raise ContentError(f"lead image {ref.source!r} was not processed", where=article.source)
        middle = images.variants[len(images.variants) // 2]
        small = images.variants[0]
        return {
            "src": root + middle.output,
            "thumb": root + small.output,
            "thumb_width": small.width,
            "thumb_height": small.height,
            "srcset": images.srcset(root),
            "width": middle.width,
            "height": middle.height,
            "alt": ref.alt,
            "caption": ref.caption,
        }

    def article(self, article: Article, output: str, body: str) -> dict[str, Any]:
        """Everything the article page shows."""
        lang = article.lang
        context = self.common(lang, output, article.title)
        root = context["root"]
        translations = self.listing.translations[article.source]
        base = self.settings.base_url
        context["alternates"] = (
            [
                {"lang": a.lang, "href": canonical(base, article_path(a))}
                for a in sorted((article, *translations), key=lambda a: a.lang)
            ]
            if translations
            else []
        )
        context["description"] = article.summary or article.lead or context["description"]
        translated = {a.lang: root + article_path(a) for a in translations}
        for language in context["languages"]:
            language["href"] = translated.get(language["code"], language["href"])
        updated = article.updated if article.updated and article.updated > article.date else None
        context.update(
            article=article,
            body=body,
            datetime=article.date.isoformat(),
            date=format_article_date(article.date, lang),
            updated_datetime=updated.isoformat() if updated else "",
            updated=format_article_date(updated, lang) if updated else "",
            minutes=article.reading_minutes,
            authors=[
                {"name": self.author_name(k, lang), "href": root + author_path(lang, k)}
                for k in article.authors
            ],
            tags=[
                {"name": t, "href": root + tag_path(lang, self.listing.tag_slugs[t])}
                for t in article.tags
            ],
            translations=[
                {
                    "lang": a.lang,
                    "language": language_name(a.lang),
                    "title": a.title,
                    "href": root + article_path(a),
                }
                for a in translations
            ],
            image=self.image(article, root),
            related=self.cards(self.listing.related[article.source], root),
            desk=_desk_title(self.settings, article.desk, lang),
            desk_href=root + desk_path(lang, article.desk),
        )
        return context

    def month_label(self, year: int, month: int, lang: str) -> str:
        """``May 2024`` / ``май 2024`` (the stand-alone month form)."""
        return format_date(date(year, month, 1), format="LLLL y", locale=locale_for(lang))

    def archive(self, lang: str, output: str, title: str) -> dict[str, Any]:
        context = self.common(lang, output, title)
        root = context["root"]
        context["months"] = [
            {
                "label": self.month_label(y, m, lang),
                "href": root + month_path(lang, y, m),
                "count": count,
            }
            for y, m, count in self.listing.months(lang)
        ]
        context["tags"] = [
            {
                "name": self.listing.tag_names[(lang, slug)],
                "href": root + tag_path(lang, slug),
                "count": count,
            }
            for slug, count in self.listing.tags(lang)
        ]
        return context


def _desk_title(settings: SiteSettings, desk: str, lang: str) -> str:
    for candidate in settings.desks:
        if candidate.name == desk:
            return candidate.title_in(lang)
    return desk
