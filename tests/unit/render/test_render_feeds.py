"""Feeds, sitemap, robots.txt and the search index."""

from __future__ import annotations

import dataclasses
import html
import json
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tamizdat.render import Renderer

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


_TRICKY = 'Prices "up" <b>5%</b> & rising'


def _feeds(kit: Any, full_text: bool) -> dict[str, bytes]:
    article = kit.make_article(
        title="Bread", lead=_TRICKY, body="First paragraph with **bold**.\n\n| a |\n|---|\n| 1 |\n"
    )
    settings = kit.make_settings()
    settings = dataclasses.replace(
        settings, build=dataclasses.replace(settings.build, feed_full_text=full_text)
    )
    renderer = Renderer(kit.make_site([article]), settings, kit.images)
    wanted = {"en/rss.xml", "en/atom.xml", "en/feed.json"}
    return {p.output: renderer.render(p) for p in renderer.plan() if p.output in wanted}


def test_rss_description_is_text_even_to_a_reader_that_reads_it_as_html(kit: Any) -> None:
    channel = ET.fromstring(_feeds(kit, False)["en/rss.xml"]).find("channel")
    assert channel is not None
    description = channel.findall("item")[0].findtext("description")
    # After XML parsing, the feed reader gets HTML whose text is the lead, tags and all.
    assert description == html.escape(_TRICKY)
    assert "<b>" not in str(description)


@pytest.mark.parametrize("full_text", [False, True])
def test_full_text_feeds_carry_the_sanitised_body(kit: Any, full_text: bool) -> None:
    feeds = _feeds(kit, full_text)
    item = ET.fromstring(feeds["en/rss.xml"]).find("channel/item")
    assert item is not None
    encoded = item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    entry = ET.fromstring(feeds["en/atom.xml"]).find(f"{ATOM}entry")
    assert entry is not None
    content = entry.find(f"{ATOM}content")
    json_item = json.loads(feeds["en/feed.json"])["items"][0]
    if not full_text:
        assert encoded is None
        assert content is None
        assert "content_html" not in json_item
        return
    for body in (encoded, content.text if content is not None else None, json_item["content_html"]):
        assert body is not None
        assert "<strong>bold</strong>" in body
        assert "<table>" in body
    assert content is not None
    assert content.get("type") == "html"


def test_full_text_setting_changes_the_feed_keys(kit: Any) -> None:
    settings = kit.make_settings()
    full = dataclasses.replace(
        settings, build=dataclasses.replace(settings.build, feed_full_text=True)
    )
    site = kit.make_site(kit.sample_articles())
    before = {p.output: p.key for p in Renderer(site, settings, kit.images).plan()}
    after = {p.output: p.key for p in Renderer(site, full, kit.images).plan()}
    assert before["en/rss.xml"] != after["en/rss.xml"]
