"""Generate one deterministic benchmark corpus as three equivalent sites.

Usage::

    python bench/corpus.py N OUT [--image-share 0.2] [--bundle-share 0.05] [--seed S]
                                 [--unlisted-authors]

writes, for the same N articles (half English, half Russian, most with a translation):

- ``OUT/tamizdat/``: tamizdat.toml, content/{desk}/{yyyy}/*.md (and page bundles
  ``KEY/index.md`` with ``cover.jpg``), data/authors.yaml, static/images/
- ``OUT/hugo/``:     hugo.toml (en + ru), content/posts/*.md and *.ru.md (and bundles), a
  minimal layout, static/images/
- ``OUT/pelican/``:  pelicanconf.py, content/*.md with Pelican metadata, content/images/

The articles vary like a real Hugo site's: YAML or TOML front matter, ``author`` or
``authors`` given by *name* (staff and occasional contributors), ``categories`` beside
``tags``, ``lastmod`` on some, ``draft`` on a few; a third show a picture from static/ and
some are page bundles with their own picture. Bodies are the same Markdown in all three
(only an image's URL is spelt per generator), so all three build the same site. Everything
derives from ``random.Random(seed)``: the same arguments give byte-identical trees.

Contributors are listed in data/authors.yaml by default, so that today's tamizdat (which
refuses an author it does not know) builds the corpus; ``--unlisted-authors`` leaves them
out, as a Hugo site would.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

EN_SYLLABLES = [
    "ka",
    "lo",
    "min",
    "ter",
    "sa",
    "ven",
    "dor",
    "ri",
    "po",
    "lu",
    "stan",
    "gel",
    "mar",
    "tis",
    "ne",
    "bal",
    "cor",
    "vin",
    "tra",
    "pel",
    "gor",
    "fen",
    "da",
    "mi",
    "ro",
    "ste",
    "wal",
    "bri",
    "qua",
    "nor",
]
EN_GLUE = [
    "the",
    "of",
    "and",
    "in",
    "to",
    "a",
    "is",
    "was",
    "for",
    "on",
    "that",
    "with",
    "by",
    "from",
    "at",
    "as",
    "it",
    "not",
]
RU_SYLLABLES = [
    "ка",
    "ло",
    "мин",
    "тер",
    "са",
    "вен",
    "дор",
    "ри",
    "по",
    "лу",
    "стан",
    "гель",
    "мар",
    "тис",
    "не",
    "бал",
    "кор",
    "вин",
    "тра",
    "пел",
    "гор",
    "фен",
    "да",
    "ми",
    "ро",
    "сте",
    "вал",
    "бри",
    "ква",
    "нор",
    "жи",
    "ше",
    "чу",
    "ю",
]
RU_GLUE = ["и", "в", "не", "на", "что", "с", "по", "как", "это", "из", "к", "за", "от", "для", "же"]
DESKS = ("news", "opinion", "economy")
DESK_TITLES = {"news": "News", "opinion": "Opinion", "economy": "Economy"}
N_TAGS = 200
N_STAFF = 24  # regular authors, always in data/authors.yaml
N_CONTRIBUTORS = 60  # occasional bylines, given by name only (as Hugo sites do)
START = datetime(2006, 1, 1, 8, 0, tzinfo=UTC)
END = datetime(2026, 10, 31, 20, 0, tzinfo=UTC)
BUNDLE_IMAGE = "cover.jpg"  # a page bundle's image, beside its index.md


@dataclass(frozen=True)
class Author:
    """A byline: staff have a Russian name too; contributors are known by one name."""

    key: str
    name: str
    name_ru: str | None
    staff: bool


@dataclass(frozen=True)
class Article:
    """One article in one language; a translation pair shares ``key`` and ``date``.

    The front matter varies as on real Hugo sites: YAML or TOML, ``author`` or ``authors``
    (given by name), ``categories`` beside ``tags``, ``lastmod`` on some, ``draft`` on a few.
    """

    key: str  # base file name (or bundle folder) shared by a translation pair
    lang: str
    slug: str
    title: str
    date: datetime
    lastmod: datetime | None
    desk: str
    tags: tuple[str, ...]
    categories: tuple[str, ...]
    authors: tuple[str, ...]  # names as written in the front matter
    summary: str
    body: str
    image: str | None  # static image: static/images/NAME, referenced as /images/NAME
    bundle: bool  # a page bundle: KEY/index.md with its own image BUNDLE_IMAGE beside it
    translated: bool
    toml: bool  # front matter between +++ lines
    draft: bool | None  # None: no draft key


class Words:
    """Pseudo-text in one language from a fixed syllable set."""

    def __init__(self, rng: random.Random, lang: str) -> None:
        self.rng = rng
        self.syllables = RU_SYLLABLES if lang == "ru" else EN_SYLLABLES
        self.glue = RU_GLUE if lang == "ru" else EN_GLUE

    def word(self) -> str:
        if self.rng.random() < 0.3:
            return self.rng.choice(self.glue)
        return "".join(self.rng.choice(self.syllables) for _ in range(self.rng.randint(1, 4)))

    def words(self, n: int) -> list[str]:
        return [self.word() for _ in range(n)]

    def sentence(self) -> str:
        text = " ".join(self.words(self.rng.randint(6, 18)))
        return text[0].upper() + text[1:] + self.rng.choice((".", ".", ".", "?", "!"))

    def title(self) -> str:
        text = " ".join(w for w in self.words(self.rng.randint(3, 7)))
        return text[0].upper() + text[1:]


IMAGE_REF = "@IMAGE@"  # stands for the image's URL, which each generator spells its own way


def make_body(words: Words, image: bool, image_alt: str) -> tuple[str, int]:
    """A Markdown body of 300–1200 words; returns (text, word count).

    An image (if any) is referenced as ``IMAGE_REF``, replaced per generator on writing.
    """
    rng = words.rng
    target = rng.randint(300, 1200)
    blocks: list[str] = []
    count = 0
    footnote = rng.random() < 0.1
    while count < target:
        roll = rng.random()
        if roll < 0.12 and blocks:
            heading = words.title()
            blocks.append(f"## {heading}")
            count += len(heading.split())
        elif roll < 0.2:
            items = [" ".join(words.words(rng.randint(3, 9))) for _ in range(rng.randint(3, 6))]
            blocks.append("\n".join(f"- {item}" for item in items))
            count += sum(len(item.split()) for item in items)
        elif roll < 0.23:
            cols = rng.randint(2, 4)
            head = [words.word().capitalize() for _ in range(cols)]
            rows = [[str(rng.randint(1, 9999)) for _ in range(cols)] for _ in range(4)]
            lines = ["| " + " | ".join(head) + " |", "|" + "---|" * cols]
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            blocks.append("\n".join(lines))
            count += cols * 5
        else:
            sentences = [words.sentence() for _ in range(rng.randint(2, 6))]
            paragraph = " ".join(sentences)
            if rng.random() < 0.15:
                a, b = words.words(2)
                paragraph += f" *{a}* **{b}**."
            blocks.append(paragraph)
            count += len(paragraph.split())
        if image and len(blocks) == 2:
            blocks.append(f"![{image_alt}]({IMAGE_REF})")
    if footnote:
        plain = [i for i, b in enumerate(blocks) if not b.startswith(("|", "-", "#", "!"))]
        if plain:
            blocks[plain[0]] += "[^1]"
            blocks.append(f"[^1]: {words.sentence()}")
    return "\n\n".join(blocks) + "\n", count


def slugify(title: str, index: int) -> str:
    """An ASCII slug for either language (Cyrillic transliterated letter by letter)."""
    table = str.maketrans(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "abvgdeejzijklmnoprstufhccss-y-eua",
    )
    ascii_title = title.lower().translate(table)
    words = "".join(c if c.isalnum() and c.isascii() else "-" for c in ascii_title)
    base = "-".join(part for part in words.split("-") if part)[:48].strip("-")
    return f"{base}-{index}"


def make_tags(rng: random.Random, lang: str) -> list[str]:
    words = Words(rng, lang)
    tags: list[str] = []
    while len(tags) < N_TAGS:
        tag = " ".join(words.words(rng.choice((1, 1, 2))))
        if tag not in tags and tag not in words.glue:
            tags.append(tag)
    return tags


def pick_tags(rng: random.Random, pool: list[str], indices: list[int]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(pool[i] for i in indices))


def make_name(rng: random.Random, syllables: list[str]) -> str:
    parts = ["".join(rng.choice(syllables) for _ in range(rng.randint(2, 3))) for _ in range(2)]
    return " ".join(part.capitalize() for part in parts)


def make_authors(rng: random.Random) -> list[Author]:
    """Staff (with a Russian name) and contributors; every name is unique."""
    authors: list[Author] = []
    seen: set[str] = set()
    while len(authors) < N_STAFF + N_CONTRIBUTORS:
        staff = len(authors) < N_STAFF
        name = make_name(rng, EN_SYLLABLES)
        name_ru = make_name(rng, RU_SYLLABLES) if staff else None
        if name in seen or name_ru in seen:
            continue
        seen.update(n for n in (name, name_ru) if n)
        key = f"author-{len(authors):02d}" if staff else slugify(name, len(authors))
        authors.append(Author(key, name, name_ru, staff))
    return authors


def byline(rng: random.Random, authors: list[Author]) -> tuple[Author, ...]:
    """One or two authors; staff write most articles, contributors the rest."""
    staff, contributors = authors[:N_STAFF], authors[N_STAFF:]
    picked: list[Author] = []
    for _ in range(rng.choice((1, 1, 1, 2))):
        pool = staff if rng.random() < 0.75 else contributors
        author = rng.choice(pool)
        if author not in picked:
            picked.append(author)
    return tuple(picked)


def author_name(author: Author, lang: str, rng: random.Random) -> str:
    """How a byline is written: by name (the Russian one on most Russian articles)."""
    if lang == "ru" and author.name_ru and rng.random() < 0.7:
        return author.name_ru
    return author.name


def make_corpus(
    n: int, image_share: float, bundle_share: float, seed: int
) -> tuple[list[Article], list[Author]]:
    """N articles: 80 % in translation pairs, the rest single-language, half en, half ru.

    ``image_share`` of the articles show a static image, ``bundle_share`` are page bundles
    with their own image; about 1 % of single-language articles are drafts.
    """
    rng = random.Random(seed)
    pools = {"en": make_tags(rng, "en"), "ru": make_tags(rng, "ru")}
    authors = make_authors(rng)
    pairs = (n * 4 // 10) if n > 1 else 0
    singles = n - 2 * pairs
    groups = [("en", "ru")] * pairs + [("en",), ("ru",)] * (singles // 2)
    if singles % 2:
        groups.append(("en",))
    rng.shuffle(groups)
    span = (END - START) / max(1, len(groups))
    statics: list[str] = []
    articles: list[Article] = []
    for index, langs in enumerate(groups):
        date = START + span * index + timedelta(minutes=rng.randint(0, 600))
        lastmod = date + timedelta(days=rng.randint(0, 30)) if rng.random() < 0.3 else None
        desk = rng.choices(DESKS, weights=(6, 3, 1))[0]
        writers = byline(rng, authors)
        # Skewed tag choice: a few tags are common, most are rare (as in real archives).
        tag_indices = [min(N_TAGS - 1, int(rng.paretovariate(1.2)) - 1) for _ in range(2)]
        tag_indices += [rng.randrange(N_TAGS) for _ in range(rng.randint(0, 3))]
        bundle = rng.random() < bundle_share
        image = None
        if not bundle and rng.random() < image_share:
            if statics and rng.random() < 0.1:
                image = rng.choice(statics)  # the odd picture shown by two articles
            else:
                image = f"img-{len(statics):05d}.jpg"
                statics.append(image)
        toml = rng.random() < 0.3
        draft: bool | None = None
        if len(langs) == 1 and rng.random() < 0.02:
            draft = rng.random() < 0.5
        key = None
        for lang in langs:
            words = Words(rng, lang)
            title = words.title()
            slug = slugify(title, index)
            key = key or slug
            body, _ = make_body(words, bool(image or bundle), title)
            articles.append(
                Article(
                    key=key,
                    lang=lang,
                    slug=slug,
                    title=title,
                    date=date,
                    lastmod=lastmod,
                    desk=desk,
                    tags=pick_tags(rng, pools[lang], tag_indices),
                    categories=(DESK_TITLES[desk],),
                    authors=tuple(author_name(a, lang, rng) for a in writers),
                    summary=words.sentence(),
                    body=body,
                    image=image,
                    bundle=bundle,
                    translated=len(langs) > 1,
                    toml=toml,
                    draft=draft,
                )
            )
    return articles, authors


def _camera_exif(rng: random.Random) -> bytes:
    """EXIF as a phone or camera writes it: make, model, time, software, GPS position."""
    from PIL import ExifTags, Image

    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = rng.choice((("Canon", "EOS R6"), ("Apple", "iPhone 13")))
    exif[0x0132] = f"2024:0{rng.randint(1, 9)}:1{rng.randint(0, 9)} 10:2{rng.randint(0, 9)}:00"
    exif[0x0131] = "Adobe Lightroom 12.1"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[1], gps[2] = "N", (55.0, float(rng.randint(0, 59)), 21.0)
    gps[3], gps[4] = "E", (37.0, float(rng.randint(0, 59)), 4.0)
    return exif.tobytes()


def make_image(index: int, seed: int) -> bytes:
    """A small deterministic JPEG (640–1280 px wide): a gradient with a few rectangles.

    Two in three carry what real photos carry (camera EXIF with GPS, an XMP packet), so the
    build's metadata stripping does the work it does on a real site.
    """
    from PIL import Image, ImageDraw

    rng = random.Random(seed * 100_000 + index)
    width = rng.choice((640, 800, 1024, 1280))
    height = width * 5 // 8
    ends = Image.new("RGB", (1, 2))
    ends.putpixel((0, 0), tuple(rng.randrange(256) for _ in range(3)))
    ends.putpixel((0, 1), tuple(rng.randrange(256) for _ in range(3)))
    image = ends.resize((width, height), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        x, y = rng.randrange(width - 100), rng.randrange(height - 100)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle([x, y, x + rng.randint(20, 100), y + rng.randint(20, 100)], fill=colour)
    buffer = io.BytesIO()
    if rng.random() < 2 / 3:
        xmp = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><dc:creator>Staff</dc:creator></x:xmpmeta>"
        image.save(buffer, "JPEG", quality=80, exif=_camera_exif(rng), xmp=xmp)
    else:
        image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _quoted(text: str) -> str:
    """A double-quoted string, valid in YAML and TOML alike (JSON escapes)."""
    return json.dumps(text, ensure_ascii=False)


def _list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(_quoted(i) for i in items) + "]"


def hugo_front_matter(article: Article, *, tamizdat: bool) -> str:
    """YAML (``---``) or TOML (``+++``) front matter, as Hugo writes and reads it."""
    sep, assign = ("+++", " = ") if article.toml else ("---", ": ")
    fields: list[tuple[str, str]] = [
        ("title", _quoted(article.title)),
        ("date", article.date.isoformat()),
    ]
    if article.lastmod is not None:
        fields.append(("lastmod", article.lastmod.isoformat()))
    if article.draft is not None:
        fields.append(("draft", "true" if article.draft else "false"))
    fields.append(("slug", _quoted(article.slug)))
    fields.append(("tags", _list(article.tags)))
    fields.append(("categories", _list(article.categories)))
    if len(article.authors) == 1 and len(article.slug) % 2:  # Hugo's singular spelling
        fields.append(("author", _quoted(article.authors[0])))
    else:
        fields.append(("authors", _list(article.authors)))
    fields.append(("summary", _quoted(article.summary)))
    if tamizdat:
        fields.append(("desk", _quoted(article.desk)))
    lines = [sep, *(f"{key}{assign}{value}" for key, value in fields), sep]
    return "\n".join(lines) + "\n\n"


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def file_name(article: Article) -> str:
    """``KEY.md`` / ``KEY.ru.md``, or ``KEY/index.md`` / ``KEY/index.ru.md`` for a bundle."""
    stem = f"{article.key}/index" if article.bundle else article.key
    return f"{stem}.ru.md" if article.lang == "ru" else f"{stem}.md"


def tamizdat_file(article: Article) -> str:
    """The article's path inside the tamizdat site."""
    return f"content/{article.desk}/{article.date:%Y}/{file_name(article)}"


def hugo_file(article: Article) -> str:
    """The article's path inside the Hugo site."""
    return f"content/posts/{file_name(article)}"


def pelican_file_name(article: Article) -> str:
    """The article's path inside the Pelican site."""
    return f"content/{article.key}-{article.lang}.md"


def hugo_body(article: Article) -> str:
    """The body with its image as Hugo and tamizdat find it: static root or bundle."""
    ref = BUNDLE_IMAGE if article.bundle else f"/images/{article.image}"
    return article.body.replace(IMAGE_REF, ref)


def _authors_yaml(authors: list[Author], unlisted: bool) -> str:
    entries = []
    for author in authors:
        if author.staff:
            entries.append(
                f"{author.key}:\n  name: {_quoted(author.name)}\n  bio: Writes generated text.\n"
                f"  names:\n    ru: {_quoted(author.name_ru or author.name)}\n"
            )
        elif not unlisted:
            entries.append(f"{author.key}:\n  name: {_quoted(author.name)}\n")
    return "".join(entries)


def write_tamizdat(root: Path, corpus: Corpus) -> None:
    write(
        root / "tamizdat.toml",
        """[site]
title = "Bench Courier"
base_url = "http://127.0.0.1:8000/"
default_language = "en"

[languages.en]
title = "Bench Courier"
description = "A generated benchmark corpus."

[languages.ru]
title = "Бенч-курьер"
description = "Сгенерированный корпус для замеров."

[desks.news]
title = "News"

[desks.opinion]
title = "Opinion"

[desks.economy]
title = "Economy"

[build]
static_dirs = ["static"]
""",
    )
    write(root / "data" / "authors.yaml", _authors_yaml(corpus.authors, corpus.unlisted))
    for article in corpus.articles:
        text = hugo_front_matter(article, tamizdat=True) + hugo_body(article)
        write(root / tamizdat_file(article), text)
        if article.bundle:
            folder = (root / tamizdat_file(article)).parent
            write(folder / BUNDLE_IMAGE, corpus.bundle_images[article.key])
    for name, data in corpus.static_images.items():
        write(root / "static" / "images" / name, data)


HUGO_CONFIG = """baseURL = "http://127.0.0.1:1313/"
title = "Bench Courier"
defaultContentLanguage = "en"

[pagination]
pagerSize = 10

[taxonomies]
tag = "tags"
category = "categories"

# Feeds per language only, as tamizdat does (Hugo's default adds one per tag and section).
[outputs]
home = ["html", "rss"]
section = ["html"]
taxonomy = ["html"]
term = ["html"]

[languages.en]
label = "English"
weight = 1

[languages.ru]
label = "Русский"
title = "Бенч-курьер"
weight = 2

[markup.goldmark.renderer]
unsafe = false
"""

# A minimal theme so Hugo renders real pages (article, lists, tags, home) rather than
# warning about missing layouts; it does roughly what tamizdat's pages do, minus extras.
HUGO_LAYOUTS = {
    "_default/baseof.html": """<!doctype html>
<html lang="{{ .Language.Lang }}"><head><meta charset="utf-8">
<title>{{ .Title }} · {{ site.Title }}</title>
{{ range .AllTranslations }}<link rel="alternate" hreflang="{{ .Language.Lang }}" href="{{ .Permalink }}">{{ end }}
</head><body><header><a href="{{ site.Home.RelPermalink }}">{{ site.Title }}</a></header>
<main>{{ block "main" . }}{{ end }}</main></body></html>
""",
    "_default/single.html": """{{ define "main" }}<article><h1>{{ .Title }}</h1>
<p>{{ .Summary }}</p>
<time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "2 January 2006" }}</time>
<p>{{ range .Params.authors }}<span>{{ . }}</span> {{ end }}{{ with .Params.author }}<span>{{ . }}</span> {{ end }}· {{ .ReadingTime }} min</p>
{{ .Content }}
<ul>{{ range .GetTerms "tags" }}<li><a href="{{ .RelPermalink }}">{{ .LinkTitle }}</a></li>{{ end }}</ul>
<ul>{{ range .Translations }}<li><a href="{{ .RelPermalink }}">{{ .Language.Lang }}</a></li>{{ end }}</ul>
<ul>{{ range first 4 (site.RegularPages.Related .) }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a></li>{{ end }}</ul>
</article>{{ end }}
""",
    "_default/list.html": """{{ define "main" }}<h1>{{ .Title }}</h1>
<ul>{{ range .Paginator.Pages }}<li><a href="{{ .RelPermalink }}">{{ .Title }}</a>
<time>{{ .Date.Format "2006-01-02" }}</time><p>{{ .Summary }}</p></li>{{ end }}</ul>
{{ with .Paginator.Next }}<a href="{{ .URL }}">next</a>{{ end }}{{ end }}
""",
    "index.html": """{{ define "main" }}<ul>{{ range (site.RegularPages.ByDate.Reverse | first 10) }}
<li><a href="{{ .RelPermalink }}">{{ .Title }}</a><p>{{ .Summary }}</p></li>{{ end }}</ul>{{ end }}
""",
}


def write_hugo(root: Path, corpus: Corpus) -> None:
    write(root / "hugo.toml", HUGO_CONFIG)
    for name, text in HUGO_LAYOUTS.items():
        write(root / "layouts" / name, text)
    for article in corpus.articles:
        text = hugo_front_matter(article, tamizdat=False) + hugo_body(article)
        write(root / hugo_file(article), text)
        if article.bundle:
            folder = (root / hugo_file(article)).parent
            write(folder / BUNDLE_IMAGE, corpus.bundle_images[article.key])
    for name, data in corpus.static_images.items():
        write(root / "static" / "images" / name, data)


PELICAN_CONFIG = """# Generated by bench/corpus.py: the same corpus as the tamizdat and Hugo sites.
AUTHOR = "Bench Courier"
SITENAME = "Bench Courier"
SITEURL = ""
FEED_DOMAIN = "http://127.0.0.1:8001"
PATH = "content"
TIMEZONE = "UTC"
DEFAULT_LANG = "en"
DEFAULT_PAGINATION = 10
STATIC_PATHS = ["images"]
ARTICLE_TRANSLATION_ID = "slug"
FEED_ALL_ATOM = "feeds/all.atom.xml"
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None
# Pelican's own content cache, so its rebuild after one change is as fast as it gets.
CACHE_CONTENT = True
LOAD_CONTENT_CACHE = True
CACHE_PATH = "cache"
MARKDOWN = {
    "extension_configs": {
        "markdown.extensions.extra": {},
        "markdown.extensions.meta": {},
    },
    "output_format": "html5",
}
"""


def pelican_file(article: Article) -> str:
    # Pelican links translations by a shared Slug; a single-language article keeps its own.
    slug = article.key if article.translated else article.slug
    lines = [
        f"Title: {article.title}",
        f"Date: {article.date:%Y-%m-%d %H:%M}",
    ]
    if article.lastmod is not None:
        lines.append(f"Modified: {article.lastmod:%Y-%m-%d %H:%M}")
    lines += [
        f"Category: {article.desk}",
        # Pelican has one category per article: Hugo's categories become tags.
        f"Tags: {', '.join(article.tags + article.categories)}",
        f"Authors: {', '.join(article.authors)}",
        f"Lang: {article.lang}",
        f"Slug: {slug}",
        f"Summary: {article.summary}",
    ]
    if article.draft:
        lines.append("Status: draft")
    if article.translated and article.lang == "ru":
        lines.append("Translation: true")
    # Pelican has no page bundles: a bundle's image goes with the static ones.
    ref = f"/images/bundles/{article.key}.jpg" if article.bundle else f"/images/{article.image}"
    return "\n".join(lines) + "\n\n" + article.body.replace(IMAGE_REF, ref)


def write_pelican(root: Path, corpus: Corpus) -> None:
    write(root / "pelicanconf.py", PELICAN_CONFIG)
    for article in corpus.articles:
        write(root / pelican_file_name(article), pelican_file(article))
    for name, data in corpus.static_images.items():
        write(root / "content" / "images" / name, data)
    for key, data in corpus.bundle_images.items():
        write(root / "content" / "images" / "bundles" / f"{key}.jpg", data)


@dataclass(frozen=True)
class Corpus:
    """The articles, their authors and every image, shared by the three sites."""

    articles: list[Article]
    authors: list[Author]
    static_images: dict[str, bytes]  # name under static/images/
    bundle_images: dict[str, bytes]  # bundle key → its BUNDLE_IMAGE
    unlisted: bool  # contributors left out of data/authors.yaml


def generate(
    n: int,
    out: Path,
    *,
    image_share: float = 0.3,
    bundle_share: float = 0.05,
    seed: int = 1,
    unlisted_authors: bool = False,
) -> Corpus:
    """Write the three sites under ``out`` (replacing them); return the corpus."""
    articles, authors = make_corpus(n, image_share, bundle_share, seed)
    statics = sorted({a.image for a in articles if a.image})
    keys = sorted({a.key for a in articles if a.bundle})
    corpus = Corpus(
        articles,
        authors,
        {name: make_image(i, seed) for i, name in enumerate(statics)},
        {key: make_image(len(statics) + i, seed) for i, key in enumerate(keys)},
        unlisted_authors,
    )
    for name, writer in (
        ("tamizdat", write_tamizdat),
        ("hugo", write_hugo),
        ("pelican", write_pelican),
    ):
        target = out / name
        if target.exists():
            shutil.rmtree(target)
        writer(target, corpus)
    return corpus


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The corpus options, shared with ``bench/build.py``."""
    parser.add_argument(
        "--image-share",
        type=float,
        default=0.3,
        help="share of stories (a translation pair counts once) showing a static image "
        "(default 0.3: with the bundles, about 2,000 images at 10,000 articles)",
    )
    parser.add_argument(
        "--bundle-share",
        type=float,
        default=0.05,
        help="share of articles that are page bundles with their own image (default 0.05)",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--unlisted-authors",
        action="store_true",
        help="leave contributors out of data/authors.yaml (named only in front matter, "
        "as on Hugo sites); by default every author is listed",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of articles (all languages)")
    parser.add_argument("out", type=Path, help="output folder (tamizdat/, hugo/, pelican/)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    corpus = generate(
        args.n,
        args.out,
        image_share=args.image_share,
        bundle_share=args.bundle_share,
        seed=args.seed,
        unlisted_authors=args.unlisted_authors,
    )
    articles = corpus.articles
    langs = {lang: sum(a.lang == lang for a in articles) for lang in ("en", "ru")}
    print(
        f"{len(articles)} articles ({langs['en']} en, {langs['ru']} ru), "
        f"{len(corpus.static_images)} static images, {len(corpus.bundle_images)} page bundles, "
        f"{sum(a.toml for a in articles)} with TOML front matter, "
        f"{sum(bool(a.draft) for a in articles)} drafts in {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
