"""The renderer: plans every output file of the theme and renders one at a time.

Invariant kept: ``render(plan)`` is a pure function of the site, settings, images, theme and
fingerprint given to the constructor, so equal plan keys mean equal bytes, and every HTML
page and stylesheet passes the privacy check before it leaves this module. Plans are
plain data, so a forked worker holding the same Renderer can render any of them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from markupsafe import Markup

from tamizdat.config import SiteSettings
from tamizdat.content.model import Site
from tamizdat.errors import ContentError, PrivacyError
from tamizdat.files import read_regular
from tamizdat.fingerprint import fingerprint_qr_svg, format_fingerprint
from tamizdat.render import feeds
from tamizdat.render.context import ContextBuilder
from tamizdat.render.i18n import translations_for
from tamizdat.render.images import reencode_image, static_image_type
from tamizdat.render.listing import (
    Listing,
    dont_miss,
    numbered_pages,
    page_articles,
    root_older,
)
from tamizdat.render.markdown import render_body
from tamizdat.render.plans import plan_pages
from tamizdat.render.privacy import find_violations, sitemap_violations
from tamizdat.render.search import search_index
from tamizdat.render.sniff import SNIFF_BYTES, sniff_bytes
from tamizdat.render.static_check import published_file_violations
from tamizdat.render.theme import Theme
from tamizdat.render.types import ImageSet, PagePlan
from tamizdat.render.urls import (
    archive_path,
    desk_path,
    home_path,
    root_of,
    site_root_path,
    tag_path,
)
from tamizdat.web import page_script, worker_script

# Theme images are design elements (logos, icons): re-encoded near-losslessly.
THEME_IMAGE_QUALITY = 92

__all__ = ["Renderer"]


class Renderer:
    """Plans and renders the pages of one site with one theme.

    Raises (from ``__init__``):
        PrivacyError: a template references a resource on another origin.
    """

    def __init__(
        self,
        site: Site,
        settings: SiteSettings,
        images: Mapping[str, ImageSet],
        *,
        fingerprint: str | None = None,
        theme_dir: Path | None = None,
        cache_dir: Path | None = None,
        links_inside: Path | None = None,
        mirrors: tuple[str, ...] = (),
    ) -> None:
        self.site = site
        self.mirrors = mirrors
        self.settings = settings
        self.images = images
        self.fingerprint = fingerprint
        self.theme = Theme(theme_dir, links_inside)
        self.listing = Listing.build(site, settings, cache_dir)
        self.contexts = ContextBuilder(site, settings, self.listing, images)
        self._kinds: dict[str, Callable[..., bytes]] = {
            "chooser": self._chooser,
            "404": self._not_found,
            "robots": lambda: feeds.robots_txt(settings),
            "sitemap": self._sitemap,
            "home": self._home,
            "desk": self._desk,
            "tag": self._tag,
            "author": self._author,
            "archive": self._archive,
            "month": self._month,
            "search": self._search,
            "verify": self._verify,
            "mirrors": self._mirrors,
            "search-index": lambda lang: search_index(lang, self.listing.by_lang[lang]),
            "atom": lambda lang: self._feed(feeds.atom_feed, lang),
            "rss": lambda lang: self._feed(feeds.rss_feed, lang),
            "jsonfeed": lambda lang: self._feed(feeds.json_feed, lang),
            "article": self._article,
            "asset": self._asset,
            "web": page_script,
            "worker": lambda: worker_script(self.fingerprint or "", settings.base_url),
        }
        self._output = ""

    def _asset(self, name: str) -> bytes:
        """A theme's own static file, held to the source-safety rule like any published
        media: an image is re-encoded (its EXIF/GPS/XMP dropped, whatever its name); text
        and fonts are published as they are; anything else is refused.

        Raises:
            ContentError: an image that cannot be re-encoded, or another kind of file
                (audio, video, PDF, archives: none belongs in a theme), naming the file.
        """
        path = self.theme.assets[name]
        data = read_regular(path)
        found = sniff_bytes(data[:SNIFF_BYTES], complete=len(data) <= SNIFF_BYTES)
        if found.family == "image":
            as_type = static_image_type(str(path), found)
            _, encoded = reencode_image(
                data, source=str(path), quality=THEME_IMAGE_QUALITY, as_type=as_type
            )
            return encoded
        if found.family in ("text", "font"):
            return data
        raise ContentError(
            f"{found.name}: a theme may hold text, fonts and images only; tamizdat does not "
            "publish this file from a theme",
            where=str(path),
            hint="put media under media/ or static/, where their metadata is removed",
        )

    def plan(self) -> list[PagePlan]:
        """Every output file, sorted by path, each keyed by what its bytes depend on."""
        assets = {
            name: hashlib.sha256(read_regular(path)).hexdigest()
            for name, path in self.theme.assets.items()
        }
        return plan_pages(
            self.site,
            self.settings,
            self.listing,
            self.images,
            self.theme.digest,
            assets,
            self.fingerprint,
            mirrors=self.mirrors,
        )

    def render(self, plan: PagePlan) -> bytes:
        """The bytes of one planned output.

        Raises:
            PrivacyError: the page or stylesheet would load a resource from another origin;
                names the template (or article line) and the URL.
            ContentError: an article or template cannot be rendered; names the file.
        """
        handler = self._kinds.get(plan.kind)
        if handler is None:
            raise ContentError(f"unknown page kind {plan.kind!r}", where=plan.output)
        self._output = plan.output
        data = handler(*plan.args)
        self._check(plan, data)
        return data

    def _check(self, plan: PagePlan, data: bytes) -> None:
        if plan.kind in ("asset", "web", "worker"):
            # The theme's own files: its scripts are part of the theme (static_check).
            violations = published_file_violations(plan.output, lambda: data, script_allowed=True)
        elif plan.kind == "sitemap":
            violations = sitemap_violations(data)
        else:
            violations = find_violations(plan.output, data)
        if not violations:
            return
        first = violations[0]
        if plan.kind in ("web", "worker"):
            where = f"tamizdat/web/{plan.output}"
        elif plan.kind == "asset":
            where = str(self.theme.assets[str(plan.args[0])])
        else:
            where = (first.url and self.theme.locate(first.url)) or self._template_hint(plan)
        raise PrivacyError(
            f"{plan.output} line {first.line}: {first.describe()}",
            where=where,
            hint="serve every script, style, image and font from this site with relative "
            "URLs; link to other sites with <a href> only",
        )

    def _template_hint(self, plan: PagePlan) -> str:
        lists = dict.fromkeys(("desk", "tag", "author", "month"), "list.html")
        names = {"article": "article.html", "chooser": "chooser.html", "404": "404.html", **lists}
        name = names.get(plan.kind, f"{plan.kind}.html")
        return str(self.theme.templates.get(name, name))

    def _page(self, lang: str, template: str, context: dict[str, Any]) -> bytes:
        return self.theme.render(lang, template, context).encode()

    def _t(self, lang: str, message: str) -> str:
        """``message`` in ``lang`` (the catalogs' msgids are found by ``_t(lang, "…")``)."""
        return translations_for(lang).gettext(message)

    # --- site-wide pages -------------------------------------------------------------

    def _chooser(self) -> bytes:
        """The root page: a greeting in every site language, each in its own words."""
        lang = self.settings.default_language
        context = self.contexts.common(lang, self._output, "")
        context["greetings"] = [
            {
                "code": code,
                "title": self.contexts.site_title(code),
                "description": self._description(code),
                "action": self._t(code, "Read the news"),
                "href": context["root"] + home_path(code),
            }
            for code in self.listing.languages
        ]
        return self._page(lang, "chooser.html", context)

    def _description(self, lang: str) -> str:
        try:
            return self.settings.language(lang).description
        except KeyError:
            return ""

    def _not_found(self, lang: str = "") -> bytes:
        """A 404 page: hosts serve it at whatever address was missing, however deep, so
        its links start from the site's own path (``/`` or the base_url's), never from
        the page's. Without ``lang`` (the root ``404.html``) it speaks every language."""
        page_lang = lang or self.settings.default_language
        title = self._t(page_lang, "Page not found")
        context = self.contexts.common(
            page_lang, self._output, title, root=site_root_path(self.settings.base_url)
        )
        codes = [lang] if lang else list(self.listing.languages)
        context["notices"] = [
            {
                "code": code,
                "title": self._t(code, "Page not found"),
                "text": self._t(
                    code,
                    "There is no page at this address. It may have moved, or the link may "
                    "be mistyped.",
                ),
                "action": self._t(code, "Go to the front page"),
                "href": context["root"] + home_path(code),
            }
            for code in codes
        ]
        return self._page(page_lang, "404.html", context)

    def _sitemap(self) -> bytes:
        articles = list(self.listing.by_source.values())
        return feeds.sitemap_xml(
            self.settings, self.listing.languages, articles, self.listing.translations
        )

    def _feed(self, write: Callable[..., bytes], lang: str) -> bytes:
        newest = self.listing.by_lang[lang][: self.settings.build.feed_size]
        bodies = None
        if self.settings.build.feed_full_text:
            # Read on other machines: links and images resolve against base_url.
            base = self.settings.base_url
            bodies = {a.source: render_body(a, self.images, base) for a in newest}
        return write(self.site, self.settings, lang, newest, bodies)

    # --- lists -----------------------------------------------------------------------

    def _list(
        self,
        lang: str,
        title: str,
        articles: Any,
        n: int,
        path: Callable[[int | None], str],
        intro: str = "",
        *,
        parallel: bool = False,
        section: bool = False,
        extra: Mapping[str, Any] | None = None,
    ) -> bytes:
        """List root (``n == 0``: the newest articles) or numbered page ``n``.

        Numbered pages count from the oldest article and show neither the total nor the
        page count, so a page's bytes depend only on its own articles and on whether a
        newer page follows: publishing an article leaves every older page untouched.
        """
        size = self.settings.build.page_size
        if n == 0:
            shown = articles[:size]
            older = root_older(len(articles), size)
            newer = 0
            page_title = title
        else:
            shown = page_articles(articles, n, size)
            older = n - 1
            newer = n + 1 if n < numbered_pages(len(articles), size) else 0
            page_title = self._t(lang, "%(title)s, page %(page)d") % {
                "title": title,
                "page": n,
            }
        context = self.contexts.common(lang, self._output, page_title, parallel=parallel)
        root = context["root"]
        context.update(
            heading=title,
            intro=intro if n == 0 else "",
            items=self.contexts.cards(shown, root),
            page=n,
            older=root + path(older) if older else "",
            newer=root + path(newer) if newer else "",
            total=len(articles) if n == 0 else None,
            # A section's own page need not label every story with the section's name.
            section=section,
        )
        if extra is not None:
            context.update(extra)
            context["items"] = _photo_first(context["items"])
        return self._page(lang, "home.html" if extra is not None else "list.html", context)

    def _home(self, lang: str, n: int) -> bytes:
        """The news front (``n == 0``) or a numbered page of every story in ``lang``."""
        title = self.contexts.site_title(lang)
        articles = self.listing.by_lang[lang]
        extra = None
        if n == 0:
            root = root_of(self._output)
            size = self.settings.build.page_size
            extra = {
                # The front's own heading is the site's name; the <title> says it once.
                "page_title": "",
                "dont_miss": self.contexts.cards(dont_miss(articles, size), root),
            }
        return self._list(
            lang,
            title,
            articles,
            n,
            partial(home_path, lang),
            parallel=n == 0,
            extra=extra,
        )

    def _desk(self, lang: str, desk: str, n: int) -> bytes:
        """A section front: the desk's stories in the same style as the home page."""
        articles = self.listing.by_desk.get((lang, desk), ())
        title = next((d.title_in(lang) for d in self.settings.desks if d.name == desk), desk)
        return self._list(lang, title, articles, n, partial(desk_path, lang, desk), parallel=n == 0)

    def _tag(self, lang: str, slug: str, n: int) -> bytes:
        articles = self.listing.by_tag[(lang, slug)]
        title = self.listing.tag_names[(lang, slug)]
        return self._list(lang, title, articles, n, partial(tag_path, lang, slug))

    def _author(self, lang: str, key: str) -> bytes:
        articles = self.listing.by_author[(lang, key)]
        try:
            bio = self.site.author(key).bio_in(lang)
        except KeyError:
            bio = ""
        name = self.contexts.author_name(key, lang)
        # One page: the layout has no author pagination (``{lang}/authors/{key}/``).
        context = self.contexts.common(lang, self._output, name)
        context.update(
            heading=name,
            intro=bio,
            items=self.contexts.cards(articles, context["root"]),
            page=0,
            older="",
            newer="",
            total=len(articles),
        )
        return self._page(lang, "list.html", context)

    def _archive(self, lang: str) -> bytes:
        title = self._t(lang, "Archive")
        context = self.contexts.archive(lang, self._output, title)
        return self._page(lang, "archive.html", context)

    def _month(self, lang: str, year: int, month: int) -> bytes:
        articles = self.listing.by_month[(lang, year, month)]
        title = self.contexts.month_label(year, month, lang)
        context = self.contexts.common(lang, self._output, title)
        root = context["root"]
        context.update(
            heading=title,
            intro="",
            items=self.contexts.cards(articles, root),
            page=0,
            older="",
            newer="",
            total=len(articles),
            up=root + archive_path(lang),
        )
        return self._page(lang, "list.html", context)

    # --- utility pages ---------------------------------------------------------------

    def _search(self, lang: str) -> bytes:
        title = self._t(lang, "Search")
        context = self.contexts.common(lang, self._output, title, parallel=True)
        context["index"] = "../search-index.json"
        return self._page(lang, "search.html", context)

    def _verify(self, lang: str) -> bytes:
        title = self._t(lang, "Check this copy")
        context = self.contexts.common(lang, self._output, title, parallel=True)
        qr = ""
        if self.fingerprint:
            # Inline SVG: no request, no inline style (segno writes attributes only).
            label = self._t(lang, "QR code of the fingerprint")
            qr = fingerprint_qr_svg(self.fingerprint, title=label).decode()
        context.update(
            fingerprint=format_fingerprint(self.fingerprint) if self.fingerprint else "",
            fingerprint_groups=format_fingerprint(self.fingerprint).split()
            if self.fingerprint
            else [],
            raw_fingerprint=self.fingerprint or "",
            qr=Markup(qr),  # noqa: S704 - segno's SVG of 64 hex digits, no outside input
            site_url=self.settings.base_url,
        )
        return self._page(lang, "verify.html", context)

    def _mirrors(self) -> bytes:
        """``/mirrors/``: the addresses of the signed mirror list, readable without
        JavaScript (where the service worker sends an offline reader it cannot serve)."""
        lang = self.settings.default_language
        context = self.contexts.common(lang, self._output, self._t(lang, "Mirrors"))
        context["mirrors"] = self.mirrors
        return self._page(lang, "mirrors.html", context)

    # --- the article -----------------------------------------------------------------

    def _article(self, source: str) -> bytes:
        article = self.listing.by_source[source]
        root = "../" * self._output.count("/")
        body = Markup(render_body(article, self.images, root))  # noqa: S704 - sanitised by nh3
        context = self.contexts.article(article, self._output, body)
        return self._page(article.lang, "article.html", context)


def _photo_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The front's stories with the newest one that has a photo on top (it is shown large);
    the others keep their order. Without any photo, the newest story leads."""
    for index, item in enumerate(items):
        if item["image"]:
            return [item, *items[:index], *items[index + 1 :]]
    return items
