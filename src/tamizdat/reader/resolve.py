"""Resolve every target of a verified release at once, fast (TUF §5.6.7 preorder search).

Invariant: :class:`BulkResolver` returns exactly what python-tuf's own search returns
(``Delegations.get_roles_for_target`` + preorder depth-first descent with terminating
delegations), for metadata the trust policy has already verified. It only adds an index:
a delegation whose pattern starts with literal segments ``a/b`` cannot match a path that
does not start with ``a/b`` (a glob segment without ``*?[`` matches only itself), so those
delegations are skipped without calling fnmatch. The final decision is python-tuf's
``DelegatedRole.is_delegated_path``. Why: with ~200 month roles, resolving 10,000 paths one
by one through every delegation took ~28 s; with the index it takes well under a second.
Tests check the equivalence against the trust policy on real releases.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from tuf.api.metadata import DelegatedRole, Delegations, TargetFile, Targets

__all__ = ["BulkResolver"]

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


class _Index:
    """Which of one role's delegations can possibly match a path."""

    def __init__(self, delegations: Delegations) -> None:
        self.roles: list[DelegatedRole] = list((delegations.roles or {}).values())
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
        segments = path.split("/")
        candidates: set[int] = set(self.root.here)
        node = self.root
        for segment in segments:
            child = node.children.get(segment)
            if child is None:
                break
            node = child
            candidates.update(node.here)
        for position in sorted(candidates):  # delegation order is trust order
            role = self.roles[position]
            if role.is_delegated_path(path):
                yield role.name, role.terminating


class BulkResolver:
    """Resolve paths against verified, fully loaded targets roles."""

    def __init__(self, roles: Mapping[str, Targets]) -> None:
        self.roles = roles
        self._indexes: dict[str, _Index] = {}

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

    def resolve(self, path: str) -> tuple[str, TargetFile] | None:
        """The role and target info a TUF client finds for ``path``, or None."""
        stack = ["targets"]
        visited: set[str] = set()
        while stack:
            role = stack.pop()
            if role in visited or role not in self.roles:
                continue
            listed = self.roles[role].targets.get(path)
            if listed is not None:
                return role, listed
            visited.add(role)
            children: list[str] = []
            for child, terminating in self._children(role, path):
                children.append(child)
                if terminating:
                    stack = []
                    break
            stack.extend(reversed(children))
        return None
