"""Any front matter the content check lets through makes feeds every strict parser accepts.

A contributor account controls titles, summaries, tags and author names. Whatever text
passes :func:`parse_front_matter` (YAML or TOML) must give an Atom and an RSS feed that a
strict XML 1.0 parser (expat) reads, with the same title, and a JSON Feed that ``json``
reads: a feed a reader cannot parse hides every article in it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from xml.etree import ElementTree

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tamizdat.config import BuildSettings, LanguageSettings, SiteSettings
from tamizdat.content.frontmatter import parse_front_matter
from tamizdat.content.model import Article, Author, Site
from tamizdat.errors import ContentError
from tamizdat.render.feeds import atom_feed, json_feed, rss_feed

ATOM = "{http://www.w3.org/2005/Atom}"


def _settings() -> SiteSettings:
    from pathlib import Path

    root = Path("/nonexistent-site")
    build = BuildSettings(
        content_dir=root / "content",
        static_dirs=(root / "static",),
        data_dir=root / "data",
        theme_dir=root / "theme",
        output_dir=root / "public",
        cache_dir=root / ".tamizdat",
        page_size=10,
        feed_size=10,
        related_count=0,
        image_widths=(480,),
        image_quality=78,
        default_desk="news",
        workers=1,
    )
    return SiteSettings(
        title="Shore",
        base_url="https://shore.example/",
        default_language="en",
        languages=(LanguageSettings("en", "Shore", ""),),
        desks=(),
        copyright="",
        build=build,
    )


def _front_matter(toml: bool, values: dict[str, str]) -> str:
    # A JSON string is a valid YAML double-quoted scalar and a valid TOML basic string:
    # C0 controls arrive as \u escapes, everything else as raw characters.
    if toml:
        lines = [
            f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()
        ]
        return "+++\n" + "\n".join(lines) + "\ndate = 2024-01-01\n+++\nbody\n"
    lines = [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()]
    return "---\n" + "\n".join(lines) + "\ndate: 2024-01-01\n---\nbody\n"


def _xml_text(text: str) -> str:
    """What an XML parser reports for ``text``: line ends normalised (XML 1.0 §2.11)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    title=st.text(min_size=1, max_size=40),
    summary=st.text(max_size=80),
    tag=st.text(min_size=1, max_size=20),
    author=st.text(min_size=1, max_size=20),
    toml=st.booleans(),
)
def test_feeds_parse_for_any_text_that_passes_the_check(
    title: str, summary: str, tag: str, author: str, toml: bool
) -> None:
    source = _front_matter(
        toml, {"title": title, "summary": summary, "tags": tag, "author": author}
    )
    try:
        data = parse_front_matter(source, "content/x.md").data
    except ContentError:
        data = None  # refused with FILE:LINE: nothing reaches a feed
    assume(data is not None)
    assert data is not None
    title, summary = str(data["title"]).strip(), str(data["summary"]).strip()
    tag, author = str(data["tags"]).strip(), str(data["author"]).strip()
    assume(title and tag and author)
    article = Article(
        source="content/x.md",
        lang="en",
        desk="news",
        slug="x",
        title=title,
        date=datetime(2024, 1, 1, tzinfo=UTC),
        updated=None,
        authors=("a",),
        tags=(tag,),
        summary=summary,
        lead="",
        body="body",
        body_line=6,
        draft=False,
        translation_key="x",
        image=None,
        words=1,
        content_hash="0" * 64,
    )
    site = Site((article,), (Author("a", author),), (), ((tag, "t"),), languages=("en",))
    config = _settings()

    atom = ElementTree.fromstring(atom_feed(site, config, "en", [article]))
    entry = atom.find(f"{ATOM}entry")
    assert entry is not None
    assert entry.findtext(f"{ATOM}title") == _xml_text(title)
    assert entry.findtext(f"{ATOM}author/{ATOM}name") == _xml_text(author)

    rss = ElementTree.fromstring(rss_feed(site, config, "en", [article]))
    assert rss.findtext("channel/item/title") == _xml_text(title)

    feed = json.loads(json_feed(site, config, "en", [article]))
    assert feed["items"][0]["title"] == title
