"""The role layout: which TUF targets role signs which path, shaped by how news changes.

::

    targets                              top-level; signed by the targets key; holds no files
    ├── desk-NAME        (terminating)   one per desk, signed by that desk's key; owns every
    │   │                                path of 3–6 segments whose 2nd segment is NAME:
    │   │                                */NAME/*, */NAME/*/*, */NAME/*/*/*, */NAME/*/*/*/*
    │   ├── NAME-YYYY-MM (terminating)   one month of articles and images:
    │   │                                */NAME/YYYY/MM/*/*  and  media/NAME/YYYY/MM/*
    │   └── NAME-pages   (terminating)   the rest of the desk (desk index, archives, feeds)
    └── site             (terminating)   every other path (depth 1–16), targets key
        └── site-GROUP   (terminating)   GROUP = the first two directories of a path
            │                            (e.g. site-en-tags: en/tags/*, en/tags/*/*, …),
            │                            the first directory for depth-2 paths (site-en:
            │                            en/*) and site-top for top-level files (*)
            └── GROUP-X[X]               hash bins (TUF path_hash_prefixes) when a group
                                         holds more than BIN_LIMIT files (NAME-pages too:
                                         NAME-pages-X[X], signed by the desk's key)

Why: TUF path patterns match segment by segment (``*`` never crosses ``/``), so every
pattern names its depth. A closed month never changes again, so its role is never re-signed;
a day's release re-signs the current month of each desk that published, ``NAME-pages``, a
few ``site-*`` groups, the snapshot and the timestamp. A desk's key appears only in its own
delegation, whose patterns cover only its own section, so a desk cannot sign another
desk's (or the site's) paths. The delegation search is TUF §5.6.7.2 (pre-order, the first
matching terminating role decides); :func:`assign_role` reproduces it for our layout and
the tests check it against python-tuf's ``DelegatedRole.is_delegated_path``.

The layout is a pure function of the list of paths and the desk names (no I/O).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from tamizdat.errors import UserError

__all__ = [
    "BIN_LIMIT",
    "MAX_DEPTH",
    "RESERVED_DESKS",
    "RoleLayout",
    "RoleSpec",
    "assign_role",
    "plan_layout",
]

MAX_DEPTH = 16
BIN_LIMIT = 512
# Desk names that would shadow site-wide sections if a desk claimed them.
RESERVED_DESKS = frozenset({"tamizdat", "tags", "authors", "archive", "search", "verify", "page"})
_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^\d{2}$")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class RoleSpec:
    """One delegated role as its delegator lists it, plus the files it signs itself."""

    name: str
    parent: str
    key_role: str  # the key-store role whose keys sign this role
    expiry_role: str  # the config.signing.expiry_days entry that applies
    paths: tuple[str, ...] | None
    hash_prefixes: tuple[str, ...] | None
    children: tuple[str, ...]
    targets: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RoleLayout:
    """Every role (pre-order, parents first) and the role of every path."""

    roles: dict[str, RoleSpec]
    role_of: dict[str, str]

    def children(self, name: str) -> list[RoleSpec]:
        return [self.roles[child] for child in self.roles[name].children]


def _literal(segment: str) -> str:
    """Escape fnmatch metacharacters so a directory name matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", segment)


def desk_patterns(desk: str) -> tuple[str, ...]:
    name = _literal(desk)
    return (f"*/{name}/*", f"*/{name}/*/*", f"*/{name}/*/*/*", f"*/{name}/*/*/*/*")


def month_patterns(desk: str, year: str, month: str) -> tuple[str, ...]:
    name = _literal(desk)
    return (f"*/{name}/{year}/{month}/*/*", f"media/{name}/{year}/{month}/*")


def site_patterns() -> tuple[str, ...]:
    return tuple("/".join(["*"] * depth) for depth in range(1, MAX_DEPTH + 1))


def group_key(segments: Sequence[str]) -> str:
    """The site group of a site-wide path: '' (top level), 'a' (a/x) or 'a/b' (a/b/…)."""
    if len(segments) == 1:
        return ""
    if len(segments) == 2:
        return segments[0]
    return f"{segments[0]}/{segments[1]}"


def group_patterns(key: str) -> tuple[str, ...]:
    if not key:
        return ("*",)
    parts = [_literal(p) for p in key.split("/")]
    if len(parts) == 1:
        return (f"{parts[0]}/*",)
    return tuple("/".join([*parts, *["*"] * extra]) for extra in range(1, MAX_DEPTH - 1))


def assign_role(path: str, desks: frozenset[str]) -> tuple[str, str, str]:
    """``(top, middle, leaf-hint)`` for ``path``: which desk/site branch and group it is in.

    Returns ``("desk-NAME", "NAME-YYYY-MM" or "NAME-pages", "")`` for desk paths and
    ``("site", "", GROUP_KEY)`` for site-wide paths.

    Raises:
        UserError: the path is deeper than ``MAX_DEPTH`` segments or not a clean
            relative POSIX path.
    """
    segments = path.split("/")
    if not path or len(segments) > MAX_DEPTH or any(s in ("", ".", "..") for s in segments):
        raise UserError(
            f"expected a relative path of 1–{MAX_DEPTH} segments, found {path!r}",
            where=path,
            hint="TUF path patterns name their depth; move the file higher up",
        )
    depth = len(segments)
    if 3 <= depth <= 6 and segments[1] in desks:
        desk = segments[1]
        year, month = segments[2], segments[3] if depth >= 4 else ""
        is_month = (depth == 6 or (depth == 5 and segments[0] == "media")) and bool(
            _YEAR.match(year) and _MONTH.match(month)
        )
        leaf = f"{desk}-{year}-{month}" if is_month else f"{desk}-pages"
        return (f"desk-{desk}", leaf, "")
    return ("site", "", group_key(segments))


def _group_role_name(key: str, taken: set[str]) -> str:
    slug = _SLUG.sub("-", key.lower()).strip("-") or "top"
    name = f"site-{slug}"
    if name in taken:
        name = f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    taken.add(name)
    return name


def _bin_prefix_length(count: int) -> int:
    return 0 if count <= BIN_LIMIT else (1 if count <= BIN_LIMIT * 16 else 2)


def _leaf_or_bins(
    spec: RoleSpec, files: list[str], roles: dict[str, RoleSpec], role_of: dict[str, str]
) -> None:
    """Add ``spec`` holding ``files``, or, above BIN_LIMIT files, delegating them to hash bins
    (TUF path_hash_prefixes, signed by the same key) so one change re-signs a small bin."""
    files = sorted(files)
    width = _bin_prefix_length(len(files))
    if not width:
        roles[spec.name] = replace(spec, targets=tuple(files))
        role_of.update(dict.fromkeys(files, spec.name))
        return
    bins: dict[str, list[str]] = {f"{i:0{width}x}": [] for i in range(16**width)}
    for path in files:
        bins[hashlib.sha256(path.encode()).hexdigest()[:width]].append(path)
    names = [f"{spec.name}-{prefix}" for prefix in bins]
    roles[spec.name] = replace(spec, children=tuple(names), targets=())
    for prefix, members in bins.items():
        name = f"{spec.name}-{prefix}"
        roles[name] = RoleSpec(
            name, spec.name, spec.key_role, spec.expiry_role, None, (prefix,), (), tuple(members)
        )
        role_of.update(dict.fromkeys(members, name))


def plan_layout(paths: Iterable[str], desk_names: Sequence[str]) -> RoleLayout:
    """The role layout for these target paths and desks (see the module docstring).

    Raises:
        UserError: a desk name is reserved, or a path cannot be delegated.
    """
    for desk in desk_names:
        if desk in RESERVED_DESKS:
            raise UserError(
                f"desk name {desk!r} is reserved for site-wide pages",
                where=f"[desks.{desk}]",
                hint=f"rename the desk; reserved: {', '.join(sorted(RESERVED_DESKS))}",
            )
    desks = frozenset(desk_names)
    leaves: dict[str, dict[str, list[str]]] = {desk: defaultdict(list) for desk in desk_names}
    groups: dict[str, list[str]] = defaultdict(list)
    for path in paths:
        top, leaf, key = assign_role(path, desks)
        if top == "site":
            groups[key].append(path)
        else:
            leaves[top[len("desk-") :]][leaf].append(path)

    roles: dict[str, RoleSpec] = {}
    role_of: dict[str, str] = {}
    desk_roles = [f"desk-{d}" for d in desk_names]
    roles["targets"] = RoleSpec(
        "targets", "", "targets", "targets", None, None, (*desk_roles, "site"), ()
    )
    for desk in desk_names:
        _plan_desk(desk, leaves[desk], roles, role_of)
    _plan_site(groups, roles, role_of)
    return RoleLayout(roles, role_of)


def _plan_desk(
    desk: str, leaves: dict[str, list[str]], roles: dict[str, RoleSpec], role_of: dict[str, str]
) -> None:
    key_role = f"desk-{desk}"
    pages = f"{desk}-pages"
    months = sorted(name for name in leaves if name != pages)
    # The catch-all pages role comes last: month roles are more specific (§5.6.7.2 order).
    children = [*months, pages] if leaves.get(pages) else months
    roles[key_role] = RoleSpec(
        key_role, "targets", key_role, "desks", desk_patterns(desk), None, tuple(children), ()
    )
    for name in children:
        if name == pages:
            patterns = desk_patterns(desk)
        else:
            year, month = name[len(desk) + 1 :].split("-")
            patterns = month_patterns(desk, year, month)
        spec = RoleSpec(name, key_role, key_role, "desks", patterns, None, (), ())
        _leaf_or_bins(spec, leaves[name], roles, role_of)


def _plan_site(
    groups: dict[str, list[str]], roles: dict[str, RoleSpec], role_of: dict[str, str]
) -> None:
    taken: set[str] = set()
    children = []
    roles["site"] = RoleSpec("site", "targets", "targets", "targets", site_patterns(), None, (), ())
    for key in sorted(groups):
        name = _group_role_name(key, taken)
        children.append(name)
        spec = RoleSpec(name, "site", "targets", "targets", group_patterns(key), None, (), ())
        _leaf_or_bins(spec, groups[key], roles, role_of)
    roles["site"] = replace(roles["site"], children=tuple(children))
