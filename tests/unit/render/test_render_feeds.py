"""Feeds, sitemap, robots.txt and the search index."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

ATOM = "{http://www.w3.org/2005/Atom}"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"


def test_atom_feed_parses_and_lists_the_newest(rendered: dict[str, bytes]) -> None:
    root = ET.fromstring(rendered["en/atom.xml"])
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 4  # feed_size
    assert entries[0].findtext(f"{ATOM}title") == "Court extends detention"
    assert entries[0].findtext(f"{ATOM}id") == (
        "https://shore.example/en/news/2024/05/court-extends-detention/"
    )
    assert root.findtext(f"{ATOM}updated") == "2024-05-12T19:30:00+03:00"
    names = [a.findtext(f"{ATOM}name") for a in entries[0].findall(f"{ATOM}author")]
    assert names == ["Anna Petrova", "Boris"]


def test_rss_feed_parses(rendered: dict[str, bytes]) -> None:
    channel = ET.fromstring(rendered["ru/rss.xml"]).find("channel")
    assert channel is not None
    assert channel.findtext("language") == "ru"
    items = channel.findall("item")
    assert [i.findtext("title") for i in items][:1] == ["Суд продлил арест"]
    assert items[0].findtext("pubDate") == "Sun, 12 May 2024 14:30:00 +0300"
    assert items[0].findtext("{http://purl.org/dc/elements/1.1/}creator") == "Анна Петрова"


def test_json_feed_1_1(rendered: dict[str, bytes]) -> None:
    feed = json.loads(rendered["en/feed.json"])
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == "https://shore.example/en/feed.json"
    assert len(feed["items"]) == 4
    first = feed["items"][0]
    assert first["url"] == first["id"]
    assert first["date_modified"] == "2024-05-12T19:30:00+03:00"
    assert first["content_text"] == "The lead paragraph of the article."
    assert first["tags"] == ["courts", "Novograd"]


def test_sitemap_carries_hreflang_alternates(rendered: dict[str, bytes]) -> None:
    urls = ET.fromstring(rendered["sitemap.xml"]).findall(f"{SM}url")
    by_loc = {u.findtext(f"{SM}loc"): u for u in urls}
    court = by_loc["https://shore.example/ru/news/2024/05/sud-prodlil-arest/"]
    alternates = {a.get("hreflang"): a.get("href") for a in court.findall(f"{XHTML}link")}
    assert alternates == {
        "de": "https://shore.example/de/news/2024/05/gericht-verlangert-haft/",
        "en": "https://shore.example/en/news/2024/05/court-extends-detention/",
        "ru": "https://shore.example/ru/news/2024/05/sud-prodlil-arest/",
    }
    assert "https://shore.example/en/" in by_loc
    assert len(urls) == 3 + 14  # three homes, every article


def test_robots_points_to_sitemap(rendered: dict[str, bytes]) -> None:
    assert b"Sitemap: https://shore.example/sitemap.xml\n" in rendered["robots.txt"]


def test_search_index(rendered: dict[str, bytes]) -> None:
    index = json.loads(rendered["ru/search-index.json"])
    assert index["v"] == 1
    assert index["lang"] == "ru"
    assert len(index["items"]) == 5
    first = index["items"][0]
    assert first == {
        "t": "Суд продлил арест",
        "u": "news/2024/05/sud-prodlil-arest/index.html",
        "d": "2024-05-12",
        "s": "The lead paragraph of the article.",
        "k": ["суды", "Новоград"],
    }
    assert f"ru/{first['u']}" in rendered
    # Stable, compact JSON: sorted keys, no spaces.
    assert rendered["ru/search-index.json"].startswith(b'{"items":[{"d":"2024-05-12","k":')
