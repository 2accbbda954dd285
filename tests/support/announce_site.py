"""A small signed site for ``tamizdat announce`` tests: built, signed (demo keys) and with the
results of a ``mirrors check`` written as the check writes them (which mirrors work).

The real pipeline runs (``build``, ``keys init --demo``, ``sign --demo`` through ``main``), so
the announcer reads a real release. :func:`signed_site` is slow-ish (about 3 s); tests copy
one made per module with :func:`copy_site`.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

from tamizdat.cli import main

__all__ = [
    "MIRRORS",
    "copy_site",
    "mark_working",
    "mirror_states",
    "resign",
    "signed_site",
    "story",
    "write_article",
]

MIRRORS = ("m1", "m2", "m3", "m4")

_TOML = """\
[site]
title = "Exile News"
base_url = "https://exile-news.example/"
default_language = "en"

[languages.en]
title = "Exile News"

[languages.ru]
title = "Новости в изгнании"

[signing]
keys_dir = "keys"
"""


def story(
    title: str,
    date: str,
    *,
    lang: str = "en",
    tags: Iterable[str] = ("news",),
    updated: str | None = None,
    lead: str = "What happened, in one sentence.",
    words: int = 400,
) -> str:
    """An article file's text (YAML front matter with JSON-quoted values, a body of ``words``)."""
    lines = [
        "---",
        f"title: {json.dumps(title, ensure_ascii=False)}",
        f"date: {date}",
        f"lang: {lang}",
        f"tags: {json.dumps(list(tags), ensure_ascii=False)}",
        f"lead: {json.dumps(lead, ensure_ascii=False)}",
    ]
    if updated:
        lines.append(f"updated: {updated}")
    return "\n".join([*lines, "---", " ".join(["word"] * words), ""])


def write_article(site: Path, name: str, text: str) -> None:
    """Write ``content/NAME.md``."""
    path = site / "content" / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _run(site: Path, *argv: str) -> None:
    code = main(["-q", "-C", str(site), *argv])
    if code != 0:
        raise AssertionError(f"tamizdat {' '.join(argv)} exited {code}")


def resign(site: Path) -> None:
    """Build and sign the site again (after its content changed)."""
    _run(site, "build")
    _run(site, "sign", "--demo")


def mark_working(site: Path, working: Iterable[str], *, when: datetime | None = None) -> None:
    """Append one ``mirrors check`` round to the site's history: ``working`` current, the
    other mirrors unreachable."""
    history = site / ".tamizdat" / "mirrors-history.jsonl"
    history.parent.mkdir(parents=True, exist_ok=True)
    moment = (when or datetime.now(UTC)).isoformat()
    alive = set(working)
    with history.open("a", encoding="utf-8") as handle:
        for name in MIRRORS:
            row = {
                "time": moment,
                "mirror": name,
                "state": "current" if name in alive else "unreachable",
                "version": 1,
                "latency_ms": 5,
            }
            handle.write(json.dumps(row) + "\n")


def mirror_states(site: Path) -> dict[str, str]:
    """Each mirror's state in the latest check, read as ``tamizdat announce`` reads it."""
    from tamizdat.publish.history import read_latest_entries

    history = site / ".tamizdat" / "mirrors-history.jsonl"
    return {name: entry.state for name, entry in read_latest_entries(history).items()}


def signed_site(
    site: Path, articles: Mapping[str, str], *, channels: str = "", extra_toml: str = ""
) -> Path:
    """A site at ``site`` with ``articles`` (``content/NAME.md`` → text), four mirrors (one
    unlisted), ``channels`` appended to tamizdat.toml, built and signed; m1–m3 working."""
    mirrors = []
    for name in MIRRORS:
        mirrors += [
            "[[mirrors]]",
            f'name = "{name}"',
            f'url = "file://{site.parent / (site.name + "-" + name)}"',
            f'public_url = "https://{name}.example.net/"',
            'created = "2026-01-01"',
            *(["listed = false"] if name == "m4" else []),
            "",
        ]
    site.mkdir(parents=True)
    (site / "tamizdat.toml").write_text(
        _TOML + extra_toml + "\n" + "\n".join(mirrors) + "\n" + channels, encoding="utf-8"
    )
    for name, text in articles.items():
        write_article(site, name, text)
    _run(site, "build")
    _run(site, "keys", "init", "--demo")
    _run(site, "sign", "--demo")
    mark_working(site, ("m1", "m2", "m3", "m4"))
    return site


def copy_site(source: Path, target: Path) -> Path:
    """A copy of a site made by :func:`signed_site` (its keys, release and state too)."""
    shutil.copytree(source, target, symlinks=True)
    return target
