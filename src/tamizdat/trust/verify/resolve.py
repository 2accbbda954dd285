"""Resolve target paths through verified delegations, fast (TUF §5.6.7 preorder search).

Invariant: :class:`BulkResolver` returns exactly what python-tuf's own search returns
(``Delegations.get_roles_for_target`` + preorder depth-first descent with terminating
delegations). It only adds an index: a delegation whose pattern starts with literal segments
``a/b`` cannot match a path that does not start with ``a/b`` (a glob segment without ``*?[``
matches only itself), so those delegations are skipped without calling fnmatch. The final
decision is python-tuf's rule (``DelegatedRole._is_target_in_pathpattern``: same number of
segments, each matched by ``fnmatchcase``), precompiled by :class:`PathMatcher` so a path is
only compared with the patterns of its own depth, and literal segments by equality. Why: with ~200 month roles,
resolving 10,000 paths one by one through every delegation took ~28 s; with the index it
takes a fraction of a second. Tests check the equivalence against python-tuf's search.

The resolver reads roles from a mapping it does not own (the delegation tree's), so roles
added later are seen; :meth:`BulkResolver.forget` drops the index of a role that changed.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from tuf.api.metadata import DelegatedRole, Delegations, Root, TargetFile, Targets

__all__ = ["BulkResolver", "EdgeCheck", "PathMatcher", "RoleLoader"]

RoleLoader = Callable[[str, str], None]
EdgeCheck = Callable[[str, str], bool]  # (delegator, role) -> is that edge trusted?
_GLOB = frozenset("*?[")


@dataclass
class _Node:
    """A trie node over literal leading segments; ``here`` holds delegation positions."""

    here: list[int] = field(default_factory=list)
    children: dict[str, _Node] = field(default_factory=dict)


def _literal_prefix(pattern: str) -> list[str]:
    prefix: list[str] = []
    for segment in pattern.split("/"):
        if _GLOB & set(segment):
            break
        prefix.append(segment)
    return prefix


_Segment = str | Callable[[str], object] | None  # literal, compiled glob, or "*"


def _segment(pattern: str) -> _Segment:
    """One pattern segment as python-tuf's ``fnmatchcase`` would match it."""
    if pattern == "*":  # fnmatch's "*" is "(?s:.*)": it matches every segment
        return None
    if not _GLOB & set(pattern):
        return pattern  # no wildcard: fnmatchcase is equality
    return re.compile(fnmatch.translate(pattern)).match  # exactly fnmatchcase's regex


class PathMatcher:
    """``DelegatedRole.is_delegated_path``, precompiled (same answers, module docstring)."""

    def __init__(self, role: DelegatedRole) -> None:
        self.role = role
        self._by_depth: dict[int, list[tuple[_Segment, ...]]] = {}
        self._any_at: set[int] = set()  # depths where a pattern is "*/*/…": all match
        for pattern in role.paths or ():
            parts = tuple(_segment(part) for part in pattern.split("/"))
            if all(part is None for part in parts):
                self._any_at.add(len(parts))
            self._by_depth.setdefault(len(parts), []).append(parts)

    def __call__(self, path: str) -> bool:
        if self.role.paths is None:  # hash-prefix delegation: python-tuf decides
            return self.role.is_delegated_path(path)
        parts = path.split("/")
        if len(parts) in self._any_at:
            return True
        for segments in self._by_depth.get(len(parts), ()):
            if all(
                _matches(target, segment) for target, segment in zip(parts, segments, strict=True)
            ):
                return True
        return False


def _matches(target: str, segment: _Segment) -> bool:
    if segment is None:
        return True
    if isinstance(segment, str):
        return target == segment
    return segment(target) is not None


class _Index:
    """Which of one role's delegations can possibly match a path."""

    def __init__(self, delegations: Delegations) -> None:
        self.roles: list[DelegatedRole] = list((delegations.roles or {}).values())
        self.matchers = [PathMatcher(role) for role in self.roles]
        self.root = _Node()
        for position, role in enumerate(self.roles):
            if role.paths is None:  # hash-prefix delegations: no index, always a candidate
                self.root.here.append(position)
                continue
            for pattern in role.paths:
                node = self.root
                for segment in _literal_prefix(pattern):
                    node = node.children.setdefault(segment, _Node())
                node.here.append(position)

    def matching(self, path: str) -> Iterator[tuple[str, bool]]:
        candidates: set[int] = set(self.root.here)
        node = self.root
        for segment in path.split("/"):
            child = node.children.get(segment)
            if child is None:
                break
            node = child
            candidates.update(node.here)
        for position in sorted(candidates):  # delegation order is trust order
            if self.matchers[position](path):
                role = self.roles[position]
                yield role.name, role.terminating


class BulkResolver:
    """Resolve paths against verified targets roles (``roles`` is read, never changed)."""

    def __init__(
        self,
        roles: Mapping[str, Targets],
        max_roles: int = 4096,
        trusted: EdgeCheck | None = None,
    ) -> None:
        self.roles = roles
        self.max_roles = max_roles
        self.trusted = trusted
        self._indexes: dict[str, _Index] = {}

    def _trusts(self, parent: str, role: str) -> bool:
        return self.trusted is None or self.trusted(parent, role)

    def forget(self, role: str) -> None:
        """Drop the index of ``role`` (its metadata was replaced)."""
        self._indexes.pop(role, None)

    def _children(self, role: str, path: str) -> Iterator[tuple[str, bool]]:
        delegations = self.roles[role].delegations
        if delegations is None:
            return iter(())
        if delegations.roles is None:  # succinct hash bins: python-tuf's own lookup
            return delegations.get_roles_for_target(path)
        index = self._indexes.get(role)
        if index is None:
            index = self._indexes[role] = _Index(delegations)
        return index.matching(path)

    def resolve(self, path: str, load: RoleLoader | None = None) -> tuple[str, TargetFile] | None:
        """The role and target info a TUF client finds for ``path``, or None (§5.6.7).

        ``load(role, delegator)`` is called for a role not in ``roles`` yet, or reached
        through an edge ``trusted`` does not vouch for (the caller fetches and verifies it
        against that delegator, or raises); without ``load`` such roles are skipped, as a
        role missing from the snapshot is. At most ``max_roles`` roles are visited.
        """
        stack: list[tuple[str, str]] = [(Targets.type, Root.type)]
        visited: set[str] = set()
        while stack and len(visited) <= self.max_roles:
            role, parent = stack.pop()
            if role in visited:
                continue
            if role not in self.roles or not self._trusts(parent, role):
                if load is None:
                    continue
                load(role, parent)
            listed = self.roles[role].targets.get(path)
            if listed is not None:
                return role, listed
            visited.add(role)
            children: list[tuple[str, str]] = []
            for child, terminating in self._children(role, path):
                children.append((child, role))
                if terminating:
                    stack = []
                    break
            stack.extend(reversed(children))
        return None
