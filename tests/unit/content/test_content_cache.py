"""The content cache: unchanged files are not parsed again; changes and deletions show."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest

from support.content_site import article, make_site
from tamizdat.config import Config
from tamizdat.content import load_site
from tamizdat.content import loader as loader_module
from tamizdat.content.article import ParsedFile, ParseSettings, parse_article
from tamizdat.content.cache import shard_of
from tamizdat.errors import ContentError
from tamizdat.stat_cache import StatCache, file_stamp


@pytest.fixture
def parse_count(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every file the loader parses (rather than takes from the cache)."""
    parsed: list[str] = []

    def counting(source: str, raw: bytes, settings: ParseSettings) -> ParsedFile:
        parsed.append(source)
        return parse_article(source, raw, settings)

    monkeypatch.setattr(loader_module, "parse_article", counting)
    return parsed


def three_articles(tmp_path: Path) -> Config:
    return make_site(
        tmp_path,
        {
            "content/a.md": article("Alpha", date="2024-01-01"),
            "content/b.md": article("Beta", date="2024-01-02"),
            "content/c.md": article("Gamma", date="2024-01-03", body="![x](/x.jpg)"),
            "static/x.jpg": b"jpeg",
        },
    )


def touch(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    stat = path.stat()
    # Make sure the mtime moves even on file systems with coarse timestamps.
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000))


def test_warm_load_parses_nothing_and_gives_the_same_site(
    tmp_path: Path, parse_count: list[str]
) -> None:
    config = three_articles(tmp_path)
    cold = load_site(config)
    assert sorted(parse_count) == ["content/a.md", "content/b.md", "content/c.md"]
    assert (config.build.cache_dir / "content.pickle").is_file()
    parse_count.clear()
    warm = load_site(config)
    assert parse_count == []
    assert warm == cold


def test_a_changed_file_is_parsed_again(tmp_path: Path, parse_count: list[str]) -> None:
    config = three_articles(tmp_path)
    load_site(config)
    parse_count.clear()
    touch(tmp_path / "content/b.md", article("Beta two", date="2024-01-02"))
    site = load_site(config)
    assert parse_count == ["content/b.md"]
    assert "Beta two" in [a.title for a in site.articles]


def test_a_deleted_article_disappears(tmp_path: Path, parse_count: list[str]) -> None:
    config = three_articles(tmp_path)
    load_site(config)
    (tmp_path / "content/a.md").unlink()
    parse_count.clear()
    site = load_site(config)
    assert [a.title for a in site.articles] == ["Gamma", "Beta"]
    assert parse_count == []


def test_cached_articles_are_checked_again_against_other_files(tmp_path: Path) -> None:
    config = three_articles(tmp_path)
    load_site(config)
    (tmp_path / "static/x.jpg").unlink()
    with pytest.raises(ContentError) as info:
        load_site(config)
    assert info.value.where == "content/c.md:5"


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", b"\x80\x04K\x01."])
def test_corrupt_or_foreign_cache_is_ignored(
    tmp_path: Path, parse_count: list[str], garbage: bytes
) -> None:
    config = three_articles(tmp_path)
    expected = load_site(config)
    (config.build.cache_dir / "content.pickle").write_bytes(garbage)
    parse_count.clear()
    assert load_site(config) == expected
    assert len(parse_count) == 3


def test_a_cache_of_another_version_is_ignored(
    tmp_path: Path, parse_count: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = three_articles(tmp_path)
    load_site(config)
    monkeypatch.setattr("tamizdat.content.cache.__version__", "99.0")
    parse_count.clear()
    load_site(config)
    assert len(parse_count) == 3


def test_a_settings_change_invalidates_the_cache(tmp_path: Path, parse_count: list[str]) -> None:
    config = three_articles(tmp_path)
    load_site(config)
    toml = (tmp_path / "tamizdat.toml").read_text() + '\n[build]\ndefault_desk = "world"\n'
    (tmp_path / "tamizdat.toml").write_text(toml)
    parse_count.clear()
    from tamizdat.config import load_config

    site = load_site(load_config(tmp_path))
    assert len(parse_count) == 3
    assert {a.desk for a in site.articles} == {"world"}


def test_a_failed_load_keeps_the_good_entries(tmp_path: Path, parse_count: list[str]) -> None:
    config = three_articles(tmp_path)
    load_site(config)
    touch(tmp_path / "content/a.md", "---\ntitle: [broken\n---\n")
    with pytest.raises(ContentError):
        load_site(config)
    touch(tmp_path / "content/a.md", article("Alpha again", date="2024-01-01"))
    parse_count.clear()
    load_site(config)
    assert parse_count == ["content/a.md"]


def test_parallel_parsing_gives_the_same_site_and_the_first_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files: dict[str, str | bytes] = {
        f"content/p{i:02d}.md": article(f"Post {i}", date=f"2024-02-{i + 1:02d}") for i in range(12)
    }
    serial = load_site(make_site(tmp_path / "serial", files))
    monkeypatch.setattr(loader_module, "_PARALLEL_MIN", 2)
    monkeypatch.setattr(loader_module, "_workers", lambda configured: 2)
    assert load_site(make_site(tmp_path / "parallel", files)) == serial
    files["content/p03.md"] = "---\ntitle: x\ndate: never\n---\n"
    files["content/p09.md"] = "---\ndate: 2024-01-01\n---\n"
    with pytest.raises(ContentError) as info:
        load_site(make_site(tmp_path / "broken", files))
    assert info.value.where == "content/p03.md:3"


def test_static_hashes_are_reused_and_refreshed(tmp_path: Path) -> None:
    config = three_articles(tmp_path)
    first = load_site(config).static_files[0].content_hash
    touch(tmp_path / "static/x.jpg", "other bytes")
    second = load_site(config).static_files[0].content_hash
    assert first != second


def test_a_static_hash_comes_from_the_one_stat_cache_while_the_file_is_unchanged(
    tmp_path: Path,
) -> None:
    config = three_articles(tmp_path)
    load_site(config)
    hashes = config.build.cache_dir / "static-hashes.json"
    cache = StatCache.load(hashes, str(config.root))
    assert cache.recorded("static/x.jpg") is not None
    cache.record("static/x.jpg", file_stamp(tmp_path / "static/x.jpg"), "e" * 64)
    cache.save(hashes)
    later = hashes.stat().st_mtime_ns + 1_000_000_000  # as the next load finds it
    os.utime(hashes, ns=(later, later))
    assert load_site(config).static_files[0].content_hash == "e" * 64  # not re-read
    touch(tmp_path / "static/x.jpg", "other bytes")
    assert load_site(config).static_files[0].content_hash != "e" * 64  # re-read


def shard_files(config: Config) -> dict[str, tuple[int, int]]:
    return {
        p.name: (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in config.build.cache_dir.glob("content-*.pickle")
    }


def test_a_changed_article_rewrites_only_its_own_shard(tmp_path: Path) -> None:
    config = make_site(
        tmp_path,
        {f"content/a{i}.md": article(f"Article {i}", date="2024-01-01") for i in range(40)},
    )
    load_site(config)
    before = shard_files(config)
    assert len(before) > 1  # forty articles spread over several shards
    touch(tmp_path / "content/a7.md", article("Article seven", date="2024-01-01"))
    load_site(config)
    after = shard_files(config)
    own = f"content-{shard_of('content/a7.md'):02d}.pickle"
    assert after.keys() == before.keys()
    assert [name for name in after if after[name] != before[name]] == [own]


def test_a_shard_from_another_write_is_ignored_alone(
    tmp_path: Path, parse_count: list[str]
) -> None:
    config = make_site(
        tmp_path,
        {f"content/a{i}.md": article(f"Article {i}", date="2024-01-01") for i in range(40)},
    )
    expected = load_site(config)
    shard = shard_of("content/a3.md")
    victims = sorted(f"content/a{i}.md" for i in range(40) if shard_of(f"content/a{i}.md") == shard)
    # A shard left by a crash (written, but the index never updated) has another token.
    path = config.build.cache_dir / f"content-{shard:02d}.pickle"
    path.write_bytes(pickle.dumps(("another-token", {}), protocol=pickle.HIGHEST_PROTOCOL))
    parse_count.clear()
    assert load_site(config) == expected
    assert sorted(parse_count) == victims
    parse_count.clear()
    load_site(config)
    assert parse_count == []  # the shard was written again
