"""Atom, RSS 2.0, JSON Feed 1.1, sitemap.xml and robots.txt.

Invariant kept: feeds are a pure function of the listed articles and the settings — no
build time anywhere (a feed's ``updated`` is its newest entry's date), JSON written with
sorted keys — so an unchanged site gives byte-identical feeds. Feeds are read by programs
on other machines, so they use absolute URLs under ``base_url``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape, quoteattr

from tamizdat.config import SiteSettings
from tamizdat.content.model import Article, Site
from tamizdat.render.urls import canonical, home_path

__all__ = ["atom_feed", "json_feed", "robots_txt", "rss_feed", "sitemap_xml"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _stamp(article: Article) -> datetime:
    return article.updated or article.date


def _newest(articles: Sequence[Article]) -> datetime:
    return max((_stamp(a) for a in articles), default=_EPOCH)


def _url(settings: SiteSettings, article: Article) -> str:
    return settings.base_url + article.url_path


def _text(article: Article) -> str:
    return article.lead or article.summary


def _names(site: Site, article: Article, lang: str) -> list[str]:
    names = []
    for key in article.authors:
        try:
            names.append(site.author(key).name_in(lang))
        except KeyError:
            names.append(key)
    return names


def _feed_title(settings: SiteSettings, lang: str) -> str:
    try:
        return settings.language(lang).title
    except KeyError:
        return settings.title


def atom_feed(
    site: Site,
    settings: SiteSettings,
    lang: str,
    articles: Sequence[Article],
    bodies: Mapping[str, str] | None = None,
) -> bytes:
    """An Atom 1.0 feed (RFC 4287) of ``articles`` (already the newest few).

    ``bodies`` (source → sanitised HTML with absolute URLs) makes it a full-text feed.
    """
    home = canonical(settings.base_url, home_path(lang))
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang={quoteattr(lang)}>',
        f"<id>{escape(home)}</id>",
        f"<title>{escape(_feed_title(settings, lang))}</title>",
        f"<updated>{_newest(articles).isoformat()}</updated>",
        f'<link rel="self" href={quoteattr(settings.base_url + lang + "/atom.xml")}/>',
        f'<link rel="alternate" type="text/html" href={quoteattr(home)}/>',
    ]
    if settings.copyright:
        lines.append(f"<rights>{escape(settings.copyright)}</rights>")
    for article in articles:
        url = _url(settings, article)
        lines += [
            "<entry>",
            f"<id>{escape(url)}</id>",
            f"<title>{escape(article.title)}</title>",
            f'<link rel="alternate" type="text/html" href={quoteattr(url)}/>',
            f"<published>{article.date.isoformat()}</published>",
            f"<updated>{_stamp(article).isoformat()}</updated>",
        ]
        lines += [f"<author><name>{escape(n)}</name></author>" for n in _names(site, article, lang)]
        lines += [f"<category term={quoteattr(tag)}/>" for tag in article.tags]
        if _text(article):
            lines.append(f"<summary>{escape(_text(article))}</summary>")
        if bodies and article.source in bodies:
            lines.append(f'<content type="html">{escape(bodies[article.source])}</content>')
        lines.append("</entry>")
    lines.append("</feed>")
    return ("\n".join(lines) + "\n").encode()


def rss_feed(
    site: Site,
    settings: SiteSettings,
    lang: str,
    articles: Sequence[Article],
    bodies: Mapping[str, str] | None = None,
) -> bytes:
    """An RSS 2.0 feed of ``articles``; authors as ``dc:creator`` (RSS wants e-mails).

    Feed readers read an RSS ``description`` as HTML, so the plain-text lead is escaped as
    HTML first (a ``<`` in a lead is text, never a tag), then as XML. ``bodies`` adds the
    full text as ``content:encoded``.
    """
    home = canonical(settings.base_url, home_path(lang))
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:atom="http://www.w3.org/2005/Atom" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        "<channel>",
        f"<title>{escape(_feed_title(settings, lang))}</title>",
        f"<link>{escape(home)}</link>",
        f"<description>{escape(html.escape(_description(settings, lang)))}</description>",
        f"<language>{escape(lang)}</language>",
        f"<lastBuildDate>{format_datetime(_newest(articles))}</lastBuildDate>",
        f'<atom:link rel="self" type="application/rss+xml" '
        f"href={quoteattr(settings.base_url + lang + '/rss.xml')}/>",
    ]
    for article in articles:
        url = _url(settings, article)
        lines += [
            "<item>",
            f"<title>{escape(article.title)}</title>",
            f"<link>{escape(url)}</link>",
            f'<guid isPermaLink="true">{escape(url)}</guid>',
            f"<pubDate>{format_datetime(article.date)}</pubDate>",
        ]
        lines += [f"<dc:creator>{escape(n)}</dc:creator>" for n in _names(site, article, lang)]
        lines += [f"<category>{escape(tag)}</category>" for tag in article.tags]
        if _text(article):
            lines.append(f"<description>{escape(html.escape(_text(article)))}</description>")
        if bodies and article.source in bodies:
            lines.append(f"<content:encoded>{escape(bodies[article.source])}</content:encoded>")
        lines.append("</item>")
    lines += ["</channel>", "</rss>"]
    return ("\n".join(lines) + "\n").encode()


def _description(settings: SiteSettings, lang: str) -> str:
    try:
        return settings.language(lang).description or settings.title
    except KeyError:
        return settings.title


def json_feed(
    site: Site,
    settings: SiteSettings,
    lang: str,
    articles: Sequence[Article],
    bodies: Mapping[str, str] | None = None,
) -> bytes:
    """A JSON Feed 1.1 (https://jsonfeed.org/version/1.1) of ``articles``; ``bodies`` adds
    each item's ``content_html``."""
    items = []
    for article in articles:
        item: dict[str, object] = {
            "id": _url(settings, article),
            "url": _url(settings, article),
            "title": article.title,
            "content_text": _text(article) or article.title,
            "date_published": article.date.isoformat(),
            "language": article.lang,
            "authors": [{"name": n} for n in _names(site, article, lang)],
        }
        if article.updated:
            item["date_modified"] = article.updated.isoformat()
        if article.summary:
            item["summary"] = article.summary
        if article.tags:
            item["tags"] = list(article.tags)
        if bodies and article.source in bodies:
            item["content_html"] = bodies[article.source]
        items.append(item)
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": _feed_title(settings, lang),
        "home_page_url": canonical(settings.base_url, home_path(lang)),
        "feed_url": settings.base_url + lang + "/feed.json",
        "language": lang,
        "items": items,
    }
    return (json.dumps(feed, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()


def sitemap_xml(
    settings: SiteSettings,
    languages: Sequence[str],
    articles: Sequence[Article],
    translations: Mapping[str, Sequence[Article]],
) -> bytes:
    """sitemaps.org XML with ``xhtml:link`` hreflang alternates (self included).

    Lists the language homes and every article; 50,000 URLs is the format's limit per file.
    """
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:xhtml="http://www.w3.org/1999/xhtml">',
    ]
    homes = [(lang, canonical(settings.base_url, home_path(lang))) for lang in languages]
    for _, url in homes:
        lines += ["<url>", f"<loc>{escape(url)}</loc>"]
        lines += [_alternate(lg, href) for lg, href in homes]
        lines.append("</url>")
    for article in articles:
        versions = sorted([article, *translations.get(article.source, ())], key=lambda a: a.lang)
        lines += [
            "<url>",
            f"<loc>{escape(_url(settings, article))}</loc>",
            f"<lastmod>{_stamp(article).isoformat()}</lastmod>",
        ]
        if len(versions) > 1:
            lines += [_alternate(v.lang, _url(settings, v)) for v in versions]
        lines.append("</url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode()


def _alternate(lang: str, href: str) -> str:
    return f'<xhtml:link rel="alternate" hreflang={quoteattr(lang)} href={quoteattr(href)}/>'


def robots_txt(settings: SiteSettings) -> bytes:
    """Allow everything; point crawlers at the sitemap."""
    return f"User-agent: *\nAllow: /\n\nSitemap: {settings.base_url}sitemap.xml\n".encode()
