"""The role layout: desks sign only their own section; python-tuf agrees on every path."""

from __future__ import annotations

import pytest
from trustkit import SAMPLE_FILES, SignedSite
from tuf.api.metadata import DelegatedRole, Metadata, Targets

from tamizdat.errors import UserError
from tamizdat.layout import METADATA_DIR
from tamizdat.trust.sign.roles import BIN_LIMIT, YEAR_LIMIT, plan_layout

DESKS = ("news", "culture")
PATHS = [
    *SAMPLE_FILES,
    "en/news/2026/03/x/extra.pdf",
    "en/news/page/2/index.html",
    "en/news/2026/index.html",
    "en/culture/2025/12/index.html",
    "media/news/2026/03/x/deep.jpg",
    "en/sports/2026/03/y/index.html",  # not a desk: site-wide
    "a/b/c/d/e/f/g/h/i.txt",
    ".well-known/tamizdat/mirrors.json",
    "en/tags/[odd]*name?/index.html",
    # Page runs: real numbers start a run; any folder of that shape joins it.
    "en/page/2/index.html",
    "en/page/99/index.html",
    "en/page/150/index.html",
    "en/page/1ab/index.html",
    "en/page/1000/index.html",
    "en/page/about/index.html",
    "en/news/page/3/index.html",
    "ru/news/page/120/index.html",
    "en/news/page/x/index.html",
    "media/news/page/7/odd.jpg",
    # Archive: the newest year apart from the closed ones.
    "en/archive/index.html",
    "en/archive/2026/03/index.html",
    "en/archive/2019/01/index.html",
    "en/culture/2024/01/old-play/index.html",
    "en/culture/2024/xx/odd/index.html",
]


def _tuf_search(roles: dict[str, DelegatedRole], children: dict[str, list[str]], path: str) -> str:
    """TUF §5.6.7.2 pre-order search over our layout, with python-tuf's own path matching."""
    stack = ["targets"]
    while stack:
        name = stack.pop()
        for child in children.get(name, []):
            if roles[child].is_delegated_path(path):
                if not children.get(child):
                    return child
                stack.append(child)
                break  # every delegation is terminating
    return ""


def _delegation_tree(layout_roles: dict) -> tuple[dict[str, DelegatedRole], dict[str, list[str]]]:  # type: ignore[type-arg]
    roles = {}
    children = {}
    for spec in layout_roles.values():
        children[spec.name] = list(spec.children)
        if spec.parent:
            roles[spec.name] = DelegatedRole(
                spec.name,
                [],
                1,
                True,
                list(spec.paths) if spec.paths is not None else None,
                list(spec.hash_prefixes) if spec.hash_prefixes is not None else None,
            )
    return roles, children


def test_assignment_matches_python_tuf_search() -> None:
    layout = plan_layout(PATHS, DESKS)
    roles, children = _delegation_tree(layout.roles)
    for path in PATHS:
        assert _tuf_search(roles, children, path) == layout.role_of[path], path


def test_months_and_pages_split_each_desk() -> None:
    layout = plan_layout(PATHS, DESKS)
    assert layout.role_of["en/news/2026/03/second-story/index.html"] == "news-2026-03"
    assert layout.role_of["media/news/2026/03/photo-480.jpg"] == "news-2026-03"
    assert layout.role_of["en/news/index.html"] == "news-pages"
    assert layout.role_of["en/sports/2026/03/y/index.html"].startswith("site-")
    assert layout.roles["news-2026-03"].parent == "desk-news"


def test_closed_years_merge_into_one_role_per_desk_year() -> None:
    layout = plan_layout(PATHS, DESKS)
    # 2026 is the newest year of any desk: its months stay apart; 2025 and 2024 are closed.
    assert layout.role_of["en/culture/2025/12/a-play/index.html"] == "culture-2025"
    assert layout.role_of["media/culture/2025/12/stage-960.jpg"] == "culture-2025"
    assert layout.role_of["en/culture/2024/01/old-play/index.html"] == "culture-2024"
    assert layout.role_of["en/culture/2024/xx/odd/index.html"] == "culture-2024"
    assert "news-2026-02" in layout.roles
    assert "news-2026" not in layout.roles
    # A merged year is one role even above BIN_LIMIT (never re-signed, so never binned).
    year = [f"en/news/2021/{1 + i % 12:02d}/s{i}/index.html" for i in range(BIN_LIMIT + 1)]
    layout = plan_layout([*year, "en/news/2026/01/new/index.html"], DESKS)
    assert {layout.role_of[p] for p in year} == {"news-2021"}
    # A closed year too large to merge keeps its months (a reader never fetches huge roles).
    big = [f"en/news/2020/{m:02d}/s{i}/index.html" for m in (1, 2) for i in range(YEAR_LIMIT)]
    layout = plan_layout([*big, "en/news/2026/01/new/index.html"], DESKS)
    assert {layout.role_of[p] for p in big} >= {"news-2020-01-0", "news-2020-02-f"}


def test_pagination_falls_into_runs_of_one_hundred_pages() -> None:
    layout = plan_layout(PATHS, DESKS)
    assert layout.role_of["en/page/2/index.html"] == "site-en-page-0"
    assert layout.role_of["en/page/99/index.html"] == "site-en-page-0"
    assert layout.role_of["en/page/about/index.html"] == "site-en-page-rest"
    assert layout.role_of["en/page/150/index.html"] == "site-en-page-1"
    assert layout.role_of["en/page/1ab/index.html"] == "site-en-page-1"  # "1??" matches it
    assert layout.role_of["en/page/1000/index.html"] == "site-en-page-10"
    assert layout.role_of["en/news/page/3/index.html"] == "news-page-en-0"
    assert layout.role_of["ru/news/page/120/index.html"] == "news-page-ru-1"
    assert layout.role_of["en/news/page/x/index.html"] == "news-page-en-0"  # "?" matches it
    assert layout.role_of["media/news/page/7/odd.jpg"] == "news-page-media-0"
    assert layout.roles["site-en-page-1"].paths == ("en/page/1??/*",)


def test_archive_splits_newest_year_from_closed_ones() -> None:
    layout = plan_layout(PATHS, DESKS)
    assert layout.role_of["en/archive/2026/03/index.html"] == "site-en-archive-2026"
    assert layout.role_of["en/archive/2019/01/index.html"] == "site-en-archive-rest"
    assert layout.role_of["en/archive/index.html"] == "site-en-archive-rest"
    assert layout.roles["site-en-archive"].children == (
        "site-en-archive-2026",
        "site-en-archive-rest",
    )


def test_a_folder_named_like_a_derived_role_is_refused() -> None:
    with pytest.raises(UserError, match="site-en-page-1"):
        plan_layout(["en/page/2/index.html", "en/page/100/index.html", "en/page-1/x.html"], DESKS)


def test_a_desk_pattern_never_covers_another_desks_paths() -> None:
    layout = plan_layout(PATHS, DESKS)
    roles, _children = _delegation_tree(layout.roles)
    for path, role in layout.role_of.items():
        for desk in DESKS:
            owned = role.startswith(f"{desk}-")
            assert roles[f"desk-{desk}"].is_delegated_path(path) == owned, (desk, path)


def test_large_site_groups_split_into_hash_bins() -> None:
    paths = [f"en/tags/t{i}/index.html" for i in range(BIN_LIMIT + 1)]
    layout = plan_layout(paths, DESKS)
    roles, children = _delegation_tree(layout.roles)
    bins = {layout.role_of[p] for p in paths}
    assert len(bins) == 16
    for path in paths[:200]:
        assert _tuf_search(roles, children, path) == layout.role_of[path]


def test_reserved_desk_name_and_too_deep_paths_are_refused() -> None:
    with pytest.raises(UserError, match="reserved"):
        plan_layout([], ("tags",))
    with pytest.raises(UserError, match="segments"):
        plan_layout(["/".join("x" * 20)], DESKS)


def test_signed_release_delegations_are_the_planned_ones(signed_site: SignedSite) -> None:
    meta = signed_site.release / METADATA_DIR
    targets = Metadata[Targets].from_bytes((meta / "1.targets.json").read_bytes())
    assert targets.signed.delegations is not None
    assert targets.signed.delegations.roles is not None
    names = list(targets.signed.delegations.roles)
    assert names == ["desk-news", "desk-culture", "site"]
    news_key = targets.signed.delegations.roles["desk-news"].keyids
    culture_key = targets.signed.delegations.roles["desk-culture"].keyids
    assert set(news_key).isdisjoint(culture_key)
    news = Metadata[Targets].from_bytes((meta / "1.desk-news.json").read_bytes())
    assert news.signed.delegations is not None
    assert news.signed.delegations.roles is not None
    for role in news.signed.delegations.roles.values():
        assert role.keyids == news_key


def _news_site(articles: int) -> list[str]:
    """A small site of every shape the renderer writes (articles, images, listings)."""
    paths = []
    for i in range(articles):
        desk, year, month = DESKS[i % 2], 2019 + i % 8, 1 + i % 12
        paths += [f"{lang}/{desk}/{year}/{month:02d}/s{i}/index.html" for lang in ("en", "ru")]
        paths.append(f"media/{desk}/{year}/{month:02d}/s{i}-480.jpg")
    for lang in ("en", "ru"):
        paths += [f"{lang}/page/{n}/index.html" for n in range(2, 260)]
        paths += [f"{lang}/news/page/{n}/index.html" for n in range(2, 130)]
        paths += [
            f"{lang}/archive/{y}/{m:02d}/index.html" for y in range(2019, 2027) for m in (1, 7)
        ]
        paths += [f"{lang}/tags/t{t}/index.html" for t in range(300)]
        paths += [f"{lang}/tags/t{t}/page/{n}/index.html" for t in range(5) for n in (2, 3)]
        paths += [f"{lang}/{name}" for name in ("index.html", "atom.xml", "search-index.json")]
    return paths


def test_every_path_of_a_news_site_resolves_as_python_tuf_would() -> None:
    paths = _news_site(600)
    layout = plan_layout(paths, DESKS)
    roles, children = _delegation_tree(layout.roles)
    assert set(layout.role_of) == set(paths)
    for path in paths:
        assert _tuf_search(roles, children, path) == layout.role_of[path], path
    # Closed years are merged: far fewer roles than one per desk-month.
    assert len([n for n in layout.roles if n.startswith("news-20")]) < 20
