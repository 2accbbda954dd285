"""The bulk resolver finds exactly what python-tuf's preorder search finds (§5.6.7)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from tuf.api.metadata import DelegatedRole, Delegations, TargetFile, Targets

from tamizdat.trust.verify.resolve import BulkResolver, PathMatcher

EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


def _targets(paths: list[str], delegations: list[DelegatedRole] | None = None) -> Targets:
    files = {p: TargetFile(1, {"sha256": "ab" * 32}, p) for p in paths}
    dele = Delegations({}, {d.name: d for d in delegations}) if delegations else None
    return Targets(1, None, EXPIRES, files, dele)


def _reference(roles: dict[str, Targets], path: str) -> tuple[str, TargetFile] | None:
    """python-tuf's own matching, in the spec's preorder depth-first search."""
    stack, visited = ["targets"], set()
    while stack:
        role = stack.pop()
        if role in visited or role not in roles:
            continue
        if path in roles[role].targets:
            return role, roles[role].targets[path]
        visited.add(role)
        children = []
        for child, terminating in (
            roles[role].delegations.get_roles_for_target(path) if roles[role].delegations else []
        ):
            children.append(child)
            if terminating:
                stack = []
                break
        stack.extend(reversed(children))
    return None


def _role(
    name: str, paths: list[str] | None, terminating: bool, prefixes: list[str] | None = None
) -> DelegatedRole:
    return DelegatedRole(name, [], 1, terminating, paths, prefixes)


def test_matches_python_tuf_on_a_tricky_tree() -> None:
    rng = random.Random(7)
    segments = ["a", "b", "c", "2026-01", "2026-02", "index.html", "x.css", "[x]"]
    paths = sorted(
        {"/".join(rng.choice(segments) for _ in range(rng.randint(1, 4))) for _ in range(400)}
    )
    top_delegations = [
        _role("months", ["a/2026-0?/*", "a/*/index.html"], False),
        _role("everything", ["*", "*/*", "*/*/*"], True),
        _role("hashed", None, False, ["0", "1", "2", "3", "4", "5", "6", "7"]),
        _role("late", ["a/b/*"], True),
    ]
    month_delegations = [
        _role("jan", ["a/2026-01/*"], True),
        _role("any-index", ["*/*/index.html"], False),
    ]
    roles = {
        "targets": _targets(paths[:20], top_delegations),
        "months": _targets([p for p in paths if p.startswith("a/2026")][:30], month_delegations),
        "jan": _targets([p for p in paths if p.startswith("a/2026-01/")]),
        "any-index": _targets([p for p in paths if p.endswith("index.html")]),
        "everything": _targets(paths[::3]),
        "hashed": _targets(paths[1::5]),
        "late": _targets([p for p in paths if p.startswith("a/b/")]),
    }
    resolver = BulkResolver(roles)
    found = 0
    for path in paths:
        expected = _reference(roles, path)
        assert resolver.resolve(path) == expected, path
        found += expected is not None
    assert 0 < found < len(paths)  # both outcomes were exercised


def test_path_matcher_answers_as_python_tuf() -> None:
    rng = random.Random(11)
    segments = ["a", "b", "2026-01", "index.html", "[x]", "x", "é", "*", "?", "a*", "[!a]", ""]
    patterns = [
        "/".join(rng.choice(segments) for _ in range(rng.randint(1, 4))) for _ in range(300)
    ]
    paths = ["/".join(rng.choice(segments) for _ in range(rng.randint(1, 4))) for _ in range(300)]
    matched = 0
    for start in range(0, len(patterns), 3):
        role = _role("r", patterns[start : start + 3], False)
        matcher = PathMatcher(role)
        for path in paths:
            assert matcher(path) == role.is_delegated_path(path), (role.paths, path)
            matched += matcher(path)
    assert 0 < matched < len(paths) * 100  # both answers were exercised
    hashed = _role("h", None, False, ["0", "a"])
    assert [PathMatcher(hashed)(p) for p in paths] == [hashed.is_delegated_path(p) for p in paths]
