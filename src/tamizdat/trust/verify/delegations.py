"""The delegation tree of verified targets roles: who may sign which path, and who did.

Invariant: the tree only ever holds roles the policy verified (signatures, versions; see
:meth:`tamizdat.trust.verify.policy.TrustPolicy.update_delegated_targets`), and answers two
questions about them without I/O:

- *authorisation*: a path listed by role R counts only if every delegation on some chain
  of *trusted edges* from the top-level ``targets`` down to R covers it (§5.6.7.2; path patterns match segment
  by segment, ``*`` never crosses ``/``; a hash-bin delegation covers a path only for its
  own bin);
- *resolution*: which role's entry is *the* signed file for a path: a pre-order depth-first
  search that honours terminating delegations (§5.6.7), through the indexed
  :class:`~tamizdat.trust.verify.resolve.BulkResolver`. The map of every path to its entry is
  computed once and kept until a role is added.

Trust is per delegation *edge*, not per role name (the "diamond" case): a role that two
delegators list is trusted through an edge only once its metadata verified against *that*
delegator's keys and threshold (:meth:`DelegationTree.add_edge`). The search crosses only
trusted edges; for any other it calls the loader, which verifies the edge or raises. So a
desk that delegates another desk's role name to a key of its own gains nothing: the role
is checked against each delegator that reaches it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tuf.api.metadata import DelegatedRole, Root, SuccinctRoles, TargetFile, Targets

from tamizdat.errors import InternalError, UnauthorizedPathError
from tamizdat.trust.verify.resolve import BulkResolver, PathMatcher, RoleLoader

__all__ = ["DelegationTree", "RoleLoader"]

_Delegation = DelegatedRole | SuccinctRoles


@dataclass(frozen=True, slots=True)
class _Edge:
    """``parent`` delegates to a child role through ``delegation``."""

    parent: str
    delegation: _Delegation
    matcher: PathMatcher | None = field(default=None, compare=False)

    @classmethod
    def of(cls, parent: str, delegation: _Delegation) -> _Edge:
        if isinstance(delegation, SuccinctRoles):
            return cls(parent, delegation)
        return cls(parent, delegation, PathMatcher(delegation))

    def covers(self, role: str, path: str) -> bool:
        """Whether this delegation to ``role`` includes ``path`` (hash bins: own bin only)."""
        if isinstance(self.delegation, SuccinctRoles):
            return self.delegation.get_role_for_target(path) == role
        return self.matcher is not None and self.matcher(path)


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
        self._resolver = BulkResolver(self._roles, max_roles, self.trusts)
        self._resolved: dict[str, tuple[str, TargetFile]] | None = None
        self._trusted: set[tuple[str, str]] = {(Root.type, Targets.type)}

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
        self._resolver.forget(role)
        self.add_edge(role, delegator, parent)

    def add_edge(self, role: str, delegator: str, parent: Root | Targets) -> None:
        """Trust the edge ``delegator`` → ``role``: the caller verified ``role``'s metadata
        against ``parent``'s keys and threshold for it. Idempotent."""
        if (delegator, role) in self._trusted:
            return
        self._trusted.add((delegator, role))
        self._resolved = None
        if isinstance(parent, Targets):
            edges = self._parents.setdefault(role, [])
            edges.extend(_Edge.of(delegator, d) for d in _delegations_to(parent, role))

    def trusts(self, delegator: str, role: str) -> bool:
        """Whether ``role`` was verified against ``delegator``'s delegation to it."""
        return (delegator, role) in self._trusted

    @property
    def edge_count(self) -> int:
        """How many delegation edges are trusted (root → targets included)."""
        return len(self._trusted)

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
            and edge.covers(role, path)
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

        ``load(role, delegator)`` is called for roles not loaded yet, and for loaded roles
        reached through an edge not trusted yet (the caller fetches and verifies them against
        ``delegator``, which adds them here, or raises); without it, every role and every edge
        the search crosses must be loaded.
        Returns the role and target info found in the most trusted role, or None.

        Raises:
            InternalError: a role is missing and there is no ``load``.
        """
        if load is None and self._resolved is not None:
            return self._resolved.get(path)
        return self._resolver.resolve(path, load or self._missing(path))

    @staticmethod
    def _missing(path: str) -> RoleLoader:
        def fail(role: str, delegator: str) -> None:
            raise InternalError(
                f"role {role} is not loaded through {delegator}; cannot resolve {path}"
            )

        return fail

    def resolved_targets(self) -> dict[str, TargetFile]:
        """Every signed path, resolved as a client would (most trusted role first).

        Every reachable role must be loaded (else InternalError). Computed once per tree.
        """
        if self._resolved is None:
            paths = sorted({p for t in self._roles.values() for p in t.targets})
            resolved: dict[str, tuple[str, TargetFile]] = {}
            for path in paths:
                found = self._resolver.resolve(path, self._missing(path))
                if found is not None:
                    resolved[path] = found
            self._resolved = resolved
        return {path: info for path, (_, info) in self._resolved.items()}
