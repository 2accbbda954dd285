"""Generate one deterministic benchmark corpus as three equivalent sites.

Usage::

    python bench/corpus.py N OUT [--images K] [--seed S]

writes, for the same N articles (half English, half Russian, most with a translation):

- ``OUT/tamizdat/``: tamizdat.toml, content/{desk}/{yyyy}/*.md, data/authors.yaml, static/
- ``OUT/hugo/``:     hugo.toml (en + ru), content/posts/*.md and *.ru.md, a minimal layout, static/
- ``OUT/pelican/``:  pelicanconf.py, content/*.md with Pelican metadata, content/images/

Bodies are identical Markdown in all three; only the front matter differs. Everything derives
from ``random.Random(seed)``, so the same arguments give byte-identical trees.
"""

from __future__ import annotations

import argparse
import io
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
N_TAGS = 200
N_AUTHORS = 24
START = datetime(2006, 1, 1, 8, 0, tzinfo=UTC)
END = datetime(2026, 10, 31, 20, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Article:
    """One article in one language; a translation pair shares ``key`` and ``date``."""

    key: str  # base file name shared by a translation pair
    lang: str
    slug: str
    title: str
    date: datetime
    lastmod: datetime
    desk: str
    tags: tuple[str, ...]
    authors: tuple[str, ...]
    summary: str
    body: str
    image: str | None  # file name in images/, referenced as /images/NAME
    translated: bool


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


def make_body(words: Words, image: str | None, image_alt: str) -> tuple[str, int]:
    """A Markdown body of 300–1200 words; returns (text, word count)."""
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
            blocks.append(f"![{image_alt}](/images/{image})")
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


def make_corpus(n: int, images: int, seed: int) -> list[Article]:
    """N articles: 80 % in translation pairs, the rest single-language, half en, half ru."""
    rng = random.Random(seed)
    pools = {"en": make_tags(rng, "en"), "ru": make_tags(rng, "ru")}
    pairs = (n * 4 // 10) if n > 1 else 0
    singles = n - 2 * pairs
    groups = [("en", "ru")] * pairs + [("en",), ("ru",)] * (singles // 2)
    if singles % 2:
        groups.append(("en",))
    rng.shuffle(groups)
    span = (END - START) / max(1, len(groups))
    image_every = max(1, len(groups) // images) if images else 0
    articles: list[Article] = []
    for index, langs in enumerate(groups):
        date = START + span * index + timedelta(minutes=rng.randint(0, 600))
        lastmod = date + timedelta(days=rng.randint(0, 30)) if rng.random() < 0.3 else date
        desk = rng.choices(DESKS, weights=(6, 3, 1))[0]
        authors = tuple(
            f"author-{a:02d}" for a in sorted(rng.sample(range(N_AUTHORS), rng.choice((1, 1, 2))))
        )
        # Skewed tag choice: a few tags are common, most are rare (as in real archives).
        tag_indices = [min(N_TAGS - 1, int(rng.paretovariate(1.2)) - 1) for _ in range(2)]
        tag_indices += [rng.randrange(N_TAGS) for _ in range(rng.randint(0, 3))]
        image = None
        if image_every and index % image_every == 0 and index // image_every < images:
            image = f"img-{index // image_every:03d}.jpg"
        key = None
        for lang in langs:
            words = Words(rng, lang)
            title = words.title()
            slug = slugify(title, index)
            key = key or slug
            body, _ = make_body(words, image, title)
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
                    authors=authors,
                    summary=words.sentence(),
                    body=body,
                    image=image,
                    translated=len(langs) > 1,
                )
            )
    return articles


def make_image(index: int, seed: int) -> bytes:
    """A small deterministic JPEG: a gradient with a few rectangles."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed * 1000 + index)
    width, height = 800, 500
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    top = [rng.randrange(256) for _ in range(3)]
    bottom = [rng.randrange(256) for _ in range(3)]
    for y in range(height):
        t = y / (height - 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    for _ in range(6):
        x, y = rng.randrange(width - 100), rng.randrange(height - 100)
        colour = tuple(rng.randrange(256) for _ in range(3))
        draw.rectangle([x, y, x + rng.randint(20, 100), y + rng.randint(20, 100)], fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _yaml_str(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _yaml_list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(_yaml_str(i) for i in items) + "]"


def hugo_front_matter(article: Article, *, tamizdat: bool) -> str:
    lines = [
        "---",
        f"title: {_yaml_str(article.title)}",
        f"date: {article.date.isoformat()}",
        f"lastmod: {article.lastmod.isoformat()}",
        f"slug: {article.slug}",
        f"tags: {_yaml_list(article.tags)}",
        f"authors: {_yaml_list(article.authors)}",
        f"summary: {_yaml_str(article.summary)}",
    ]
    if tamizdat:
        lines.append(f"desk: {article.desk}")
    lines.append("---")
    return "\n".join(lines) + "\n\n"


def write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def file_name(article: Article) -> str:
    return f"{article.key}.ru.md" if article.lang == "ru" else f"{article.key}.md"


def write_tamizdat(root: Path, articles: list[Article], images: dict[str, bytes]) -> None:
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
    authors = []
    for a in range(N_AUTHORS):
        authors.append(
            f"author-{a:02d}:\n  name: Author {a:02d}\n  bio: Writes generated text.\n"
            f"  names:\n    ru: Автор {a:02d}\n"
        )
    write(root / "data" / "authors.yaml", "".join(authors))
    for article in articles:
        path = root / "content" / article.desk / f"{article.date:%Y}" / file_name(article)
        write(path, hugo_front_matter(article, tamizdat=True) + article.body)
    for name, data in images.items():
        write(root / "static" / "images" / name, data)


HUGO_CONFIG = """baseURL = "http://127.0.0.1:1313/"
title = "Bench Courier"
defaultContentLanguage = "en"

[pagination]
pagerSize = 10

[taxonomies]
tag = "tags"

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
<p>{{ range .Params.authors }}<span>{{ . }}</span> {{ end }}· {{ .ReadingTime }} min</p>
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


def write_hugo(root: Path, articles: list[Article], images: dict[str, bytes]) -> None:
    write(root / "hugo.toml", HUGO_CONFIG)
    for name, text in HUGO_LAYOUTS.items():
        write(root / "layouts" / name, text)
    for article in articles:
        path = root / "content" / "posts" / file_name(article)
        write(path, hugo_front_matter(article, tamizdat=False) + article.body)
    for name, data in images.items():
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
        f"Modified: {article.lastmod:%Y-%m-%d %H:%M}",
        f"Category: {article.desk}",
        f"Tags: {', '.join(article.tags)}",
        f"Authors: {', '.join(article.authors)}",
        f"Lang: {article.lang}",
        f"Slug: {slug}",
        f"Summary: {article.summary}",
    ]
    if article.translated and article.lang == "ru":
        lines.append("Translation: true")
    return "\n".join(lines) + "\n\n" + article.body


def write_pelican(root: Path, articles: list[Article], images: dict[str, bytes]) -> None:
    write(root / "pelicanconf.py", PELICAN_CONFIG)
    for article in articles:
        name = f"{article.key}-{article.lang}.md"
        write(root / "content" / name, pelican_file(article))
    for name, data in images.items():
        write(root / "content" / "images" / name, data)


def generate(n: int, out: Path, images: int, seed: int) -> list[Article]:
    """Write the three sites under ``out`` (replacing them); return the articles."""
    articles = make_corpus(n, images, seed)
    pictures = {f"img-{i:03d}.jpg": make_image(i, seed) for i in range(images)}
    for name, writer in (
        ("tamizdat", write_tamizdat),
        ("hugo", write_hugo),
        ("pelican", write_pelican),
    ):
        target = out / name
        if target.exists():
            shutil.rmtree(target)
        writer(target, articles, pictures)
    return articles


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of articles (all languages)")
    parser.add_argument("out", type=Path, help="output folder (tamizdat/, hugo/, pelican/)")
    parser.add_argument("--images", type=int, default=20, help="number of images (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    articles = generate(args.n, args.out, args.images, args.seed)
    langs = {lang: sum(a.lang == lang for a in articles) for lang in ("en", "ru")}
    print(f"{len(articles)} articles ({langs['en']} en, {langs['ru']} ru) in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
