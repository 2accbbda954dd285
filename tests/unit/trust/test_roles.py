"""The role layout: desks sign only their own section; python-tuf agrees on every path."""

from __future__ import annotations

import pytest
from trustkit import SAMPLE_FILES, SignedSite
from tuf.api.metadata import DelegatedRole, Metadata, Targets

from tamizdat.errors import UserError
from tamizdat.layout import METADATA_DIR
from tamizdat.trust.roles import BIN_LIMIT, plan_layout

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
    assert layout.role_of["en/news/page/2/index.html"] == "news-pages"
    assert layout.role_of["en/sports/2026/03/y/index.html"].startswith("site-")
    assert layout.roles["news-2026-03"].parent == "desk-news"


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
