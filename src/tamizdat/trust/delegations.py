"""The delegation tree of verified targets roles: who may sign which path, and who did.

Invariant: the tree only ever holds roles the policy verified (signatures, versions; see
:meth:`tamizdat.trust.policy.TrustPolicy.update_delegated_targets`), and answers two
questions about them without I/O:

- *authorisation*: a path listed by role R counts only if every delegation on some chain
  from the top-level ``targets`` down to R covers it (§5.6.7.2; path patterns match segment
  by segment, ``*`` never crosses ``/``; a hash-bin delegation covers a path only for its
  own bin);
- *resolution*: which role's entry is *the* signed file for a path: a pre-order depth-first
  search that honours terminating delegations (§5.6.7).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tuf.api.metadata import DelegatedRole, Root, SuccinctRoles, TargetFile, Targets

from tamizdat.errors import InternalError, UnauthorizedPathError

__all__ = ["DelegationTree", "RoleLoader"]

RoleLoader = Callable[[str, str], None]
_Delegation = DelegatedRole | SuccinctRoles


@dataclass(frozen=True, slots=True)
class _Edge:
    """``parent`` delegates to a child role through ``delegation``."""

    parent: str
    delegation: _Delegation


def _covers(delegated: _Delegation, role: str, path: str) -> bool:
    """Whether this delegation to ``role`` includes ``path`` (hash bins: its own bin only)."""
    if isinstance(delegated, SuccinctRoles):
        return delegated.get_role_for_target(path) == role
    return delegated.is_delegated_path(path)


def _delegations_to(parent: Targets, role: str) -> list[_Delegation]:
    dele = parent.delegations
    if dele is None:
        return []
    if dele.roles is not None:
        return [dele.roles[role]] if role in dele.roles else []
    if dele.succinct_roles is not None and dele.succinct_roles.is_delegated_role(role):
        return [dele.succinct_roles]
    return []


class DelegationTree:
    """Verified targets roles by name, and the delegation edges between them."""

    def __init__(self, max_roles: int) -> None:
        self.max_roles = max_roles
        self._roles: dict[str, Targets] = {}
        self._parents: dict[str, list[_Edge]] = {}

    def __contains__(self, role: object) -> bool:
        return role in self._roles

    def __bool__(self) -> bool:
        return bool(self._roles)

    @property
    def roles(self) -> dict[str, Targets]:
        """Every verified targets role, by name (a copy)."""
        return dict(self._roles)

    def add(self, role: str, targets: Targets, delegator: str, parent: Root | Targets) -> None:
        """Record verified ``targets`` for ``role``, delegated by ``delegator`` (``parent``)."""
        self._roles[role] = targets
        if isinstance(parent, Targets):
            edges = self._parents.setdefault(role, [])
            edges.extend(_Edge(delegator, d) for d in _delegations_to(parent, role))

    def children(self, role: str) -> list[tuple[str, bool]]:
        """Roles ``role`` delegates to, in order, with their terminating flag."""
        dele = self._roles[role].delegations
        if dele is None:
            return []
        if dele.roles is not None:
            return [(name, d.terminating) for name, d in dele.roles.items()]
        if dele.succinct_roles is not None:
            return [(name, True) for name in dele.succinct_roles.get_roles()]
        return []

    def authorized(self, role: str, path: str, _seen: frozenset[str] = frozenset()) -> bool:
        """Whether every delegation from top-level targets down to ``role`` covers ``path``.

        Path patterns match segment by segment: ``*`` never crosses ``/`` (§5.6.7.2).
        """
        if role == Targets.type:
            return True
        return any(
            edge.parent not in _seen
            and _covers(edge.delegation, role, path)
            and self.authorized(edge.parent, path, _seen | {role})
            for edge in self._parents.get(role, [])
        )

    def check_authorized(self, path: str) -> None:
        """Raise if some loaded role lists ``path`` although it was not delegated ``path``.

        Raises:
            UnauthorizedPathError: names the role, the path and the patterns it may sign.
        """
        for role, targets in self._roles.items():
            if path in targets.targets and not self.authorized(role, path):
                patterns = sorted(
                    p
                    for edge in self._parents.get(role, [])
                    for p in (getattr(edge.delegation, "paths", None) or [])
                )
                raise UnauthorizedPathError(
                    f"role {role} signed {path}, outside the paths delegated to it "
                    f"({', '.join(patterns) or 'none'})",
                    where=f"{role}.json",
                    hint="a desk can only sign its own section",
                )

    def check_all_authorized(self) -> None:
        """:meth:`check_authorized` for every path every loaded role lists.

        Raises:
            UnauthorizedPathError: the first unauthorised listing found.
        """
        for role, targets in self._roles.items():
            for path in targets.targets:
                if not self.authorized(role, path):
                    self.check_authorized(path)

    def resolve(self, path: str, load: RoleLoader | None = None) -> tuple[str, TargetFile] | None:
        """Preorder depth-first search of the delegation tree for ``path`` (§5.6.7).

        ``load(role, delegator)`` is called for roles not loaded yet (the caller fetches and
        verifies them, which adds them here); without it, every role must be loaded.
        Returns the role and target info found in the most trusted role, or None.

        Raises:
            InternalError: a role is missing and there is no ``load``.
        """
        stack: list[tuple[str, str]] = [(Targets.type, Root.type)]
        visited: set[str] = set()
        while stack and len(visited) <= self.max_roles:
            role, parent = stack.pop()
            if role in visited:
                continue
            if role not in self._roles:
                if load is None:
                    raise InternalError(f"role {role} is not loaded; cannot resolve {path}")
                load(role, parent)
            targets = self._roles[role]
            if path in targets.targets:
                return role, targets.targets[path]
            visited.add(role)
            if targets.delegations is None:
                continue
            children: list[tuple[str, str]] = []
            for child, terminating in targets.delegations.get_roles_for_target(path):
                children.append((child, role))
                if terminating:
                    stack = []
                    break
            stack.extend(reversed(children))
        return None

    def resolved_targets(self) -> dict[str, TargetFile]:
        """Every signed path, resolved as a client would (most trusted role first)."""
        paths = sorted({p for t in self._roles.values() for p in t.targets})
        resolved: dict[str, TargetFile] = {}
        for path in paths:
            found = self.resolve(path)
            if found is not None:
                resolved[path] = found[1]
        return resolved
