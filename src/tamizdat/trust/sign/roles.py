"""The role layout: which TUF targets role signs which path, shaped by how news changes.

::

    targets                             top-level; signed by the targets key; holds no files
    ├── desk-NAME       (terminating)   one per desk, signed by that desk's key; owns every
    │   │                               path of 3–6 segments whose 2nd segment is NAME
    │   ├── NAME-YYYY                   a closed year of articles and images, merged:
    │   │                               */NAME/YYYY/*/*/*  and  media/NAME/YYYY/*/*
    │   ├── NAME-YYYY-MM                a month of the newest year (or of a closed year
    │   │                               too large to merge): */NAME/YYYY/MM/*/*, media/…/MM/*
    │   ├── NAME-page-LANG-K            the desk's pagination pages LANG/NAME/page/N/…, in
    │   │                               runs of 100 numbers (K = N // 100: pattern ``K??``;
    │   │                               K = 0 holds pages 1–99: ``?`` and ``??``)
    │   └── NAME-pages                  the rest of the desk (indexes, feeds); listed last
    └── site            (terminating)   every other path (depth 1–16), targets key
        └── site-GROUP                  GROUP = the first two directories of a path
            │                           (site-en-tags: en/tags/*, en/tags/*/*, …), the first
            │                           directory for depth-2 paths (site-en: en/*), site-top
            │                           for top-level files (*). A group splits on its third
            │                           segment when that is a page number (site-en-page →
            │                           site-en-page-K, as above) or a year (site-en-archive
            │                           → site-en-archive-YYYY for the newest year, the rest
            │                           in site-en-archive-rest).
            └── …-X[X]                  hash bins (TUF path_hash_prefixes, same key) when a
                                        leaf (other than a closed year) would hold more
                                        than BIN_LIMIT files

Every delegation is terminating, and the patterns of siblings never overlap except for a
catch-all listed last, so the TUF search (§5.6.7.2: pre-order, first matching terminating
role decides) finds exactly the role :func:`plan_layout` put each path in; the tests check
this against python-tuf's ``DelegatedRole.is_delegated_path``. TUF path patterns match
segment by segment (``*`` never crosses ``/``), so every pattern names its depth. The only
wildcards are ``*`` and ``?`` (brackets appear only to escape a literal ``*?[`` in a folder
name), so ports of the verifier stay simple. A desk's key appears only in its own
delegation, whose patterns cover only its own section, so a desk cannot sign another
desk's (or the site's) paths.

Cost model (compact JSON): a target entry costs ~C = 100 + len(path) bytes (≈140 for an
article page); a role costs ~300 bytes of its own (signature, envelope), ~150–250 in its
parent's delegation and ~35 in the snapshot. A release pays the snapshot (35 B × roles)
and the timestamp, plus the full size of every role holding a changed file (C × its
files), so:

- files that change together share a role, and nothing else does: the newest month of
  each desk; one listing's pagination pages (they all shift when articles are added), per
  language and in runs of 100 so a run of changed pages touches one or two roles;
- files that never change again are merged into few large roles: a closed year is one
  role per desk instead of twelve, which keeps the snapshot (paid by every release) small.
  Only up to YEAR_LIMIT files, so a reader checking one old article never fetches a huge
  role; closed years are never hash-binned (they are not re-signed, so bins would only
  add roles);
- hash bins remain for large groups with no time or page order (tags), and for a month
  too large for one role.

Cost of a year closing: the first release of a new year re-signs each desk's previous year
as one role (~C × its files), once a year. Measured with bench/bench_sign.py on a
100,000-file site (2 languages, 3 desks, 20 years): 227 roles, 160 B of metadata per file;
20 new articles + 30 changed listing pages cost ~96 KB of new metadata (three current-month
roles of ~19 KB, two page runs of ~14 KB, the snapshot ~9 KB), against ~2.9 MB for
python-tuf's 256 hash bins.

The layout is a pure function of the list of paths and the desk names (no I/O, no clock:
"newest year" is the newest YYYY among the desks' dated paths).
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
    "YEAR_LIMIT",
    "RoleLayout",
    "RoleSpec",
    "plan_layout",
]

MAX_DEPTH = 16
BIN_LIMIT = 512
YEAR_LIMIT = 2048
# Desk names that would shadow site-wide sections if a desk claimed them.
RESERVED_DESKS = frozenset({"tamizdat", "tags", "authors", "archive", "search", "verify", "page"})
_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^\d{2}$")
_PAGE_NUMBER = re.compile(r"^[1-9][0-9]*$")
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


@dataclass(frozen=True, slots=True)
class _Bucket:
    """A leaf-to-be: its name, its patterns, its files (before hash-binning, unless
    ``whole``: a merged closed year is one role by design, capped by YEAR_LIMIT instead)."""

    name: str
    paths: tuple[str, ...]
    files: list[str]
    whole: bool = False


def _literal(segment: str) -> str:
    """Escape fnmatch metacharacters so a directory name matches only itself."""
    return re.sub(r"([*?\[])", r"[\1]", segment)


def _depth_patterns(prefix: str, depths: Iterable[int]) -> tuple[str, ...]:
    """``prefix`` followed by ``*`` segments up to each total depth (``prefix`` has its own)."""
    own = prefix.count("/") + 1
    return tuple("/".join([prefix, *["*"] * (d - own)]) for d in sorted(set(depths)))


def desk_patterns(desk: str) -> tuple[str, ...]:
    name = _literal(desk)
    return (f"*/{name}/*", f"*/{name}/*/*", f"*/{name}/*/*/*", f"*/{name}/*/*/*/*")


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
    return _depth_patterns("/".join(parts), range(3, MAX_DEPTH + 1))


def page_run(segment: str) -> str:
    """The run of 100 page numbers a ``page/SEGMENT`` folder falls in, by its shape:
    ``"0"`` for 1–2 characters (pages 1–99), else all but the last two characters."""
    return "0" if len(segment) <= 2 else segment[:-2]


def run_patterns(run: str) -> tuple[str, ...]:
    """The segment patterns matching exactly the shapes :func:`page_run` maps to ``run``."""
    return ("?", "??") if run == "0" else (_literal(run) + "??",)


_Path = tuple[str, list[str]]  # a path and its segments


def _check_path(path: str) -> list[str]:
    segments = path.split("/")
    if len(segments) > MAX_DEPTH or "" in segments or "." in segments or ".." in segments:
        raise UserError(
            f"expected a relative path of 1–{MAX_DEPTH} segments, found {path!r}",
            where=path,
            hint="TUF path patterns name their depth; move the file higher up",
        )
    return segments


def _dated(segments: Sequence[str]) -> bool:
    """An article file (depth 6) or image (media/…, depth 5) under a YYYY folder."""
    depth = len(segments)
    return (depth == 6 or (depth == 5 and segments[0] == "media")) and bool(
        _YEAR.match(segments[2])
    )


def _page_runs(paths: Iterable[Sequence[str]], at: int) -> set[tuple[str, str]]:
    """Runs started by real page numbers (``…/page/N/…``, ``page`` at index ``at``), as
    ``(the segments before the listing's own folder, run)``: one listing per language."""
    return {
        ("/".join(s[: at - 1]), page_run(s[at + 1]))
        for s in paths
        if len(s) > at + 2 and s[at] == "page" and _PAGE_NUMBER.match(s[at + 1])
    }


def _in_run(segments: Sequence[str], at: int, runs: set[tuple[str, str]]) -> str:
    """The run of ``segments`` if it is a ``…/page/X/…`` path whose X falls in one of
    ``runs`` of its listing (any X of that shape: the run's patterns match it), else ''."""
    if len(segments) > at + 2 and segments[at] == "page":
        run = page_run(segments[at + 1])
        if ("/".join(segments[: at - 1]), run) in runs:
            return run
    return ""


class _Planner:
    """Sorts paths into buckets, then turns buckets into roles (see the module docstring)."""

    def __init__(self, desk_names: Sequence[str]) -> None:
        self.desk_names = list(desk_names)
        self.desks = frozenset(desk_names)
        self.desk_paths: dict[str, list[_Path]] = {d: [] for d in desk_names}
        self.groups: dict[str, list[_Path]] = defaultdict(list)
        self.roles: dict[str, RoleSpec] = {}
        self.role_of: dict[str, str] = {}

    def add(self, path: str) -> None:
        segments = _check_path(path)
        if 3 <= len(segments) <= 6 and segments[1] in self.desks:
            self.desk_paths[segments[1]].append((path, segments))
        else:
            self.groups[group_key(segments)].append((path, segments))

    def newest_year(self) -> str:
        years = [s[2] for paths in self.desk_paths.values() for _p, s in paths if _dated(s)]
        return max(years, default="")

    def plan(self) -> RoleLayout:
        newest = self.newest_year()
        desk_roles = [f"desk-{d}" for d in self.desk_names]
        self.roles["targets"] = RoleSpec(
            "targets", "", "targets", "targets", None, None, (*desk_roles, "site"), ()
        )
        for desk in self.desk_names:
            key_role = f"desk-{desk}"
            buckets = _desk_buckets(desk, self.desk_paths[desk], newest)
            self._parent(key_role, "targets", key_role, "desks", desk_patterns(desk), buckets)
        groups = []
        taken: set[str] = set()
        for key in sorted(self.groups):
            name = _group_role_name(key, taken)
            groups.append((name, key, _group_buckets(name, key, self.groups[key], newest)))
        self.roles["site"] = RoleSpec(
            "site", "targets", "targets", "targets", site_patterns(), None,
            tuple(name for name, _k, _b in groups), (),
        )  # fmt: skip
        for name, key, buckets in groups:
            if len(buckets) == 1:
                self._leaf_or_bins(RoleSpec(
                    name, "site", "targets", "targets", group_patterns(key), None, (), ()
                ), buckets[0].files)  # fmt: skip
            else:
                self._parent(name, "site", "targets", "targets", group_patterns(key), buckets)
        return RoleLayout(self.roles, self.role_of)

    def _claim(self, name: str) -> None:
        """Refuse a second role of the same name (e.g. a folder ``en/page-1`` beside the
        page run ``site-en-page-1``): two roles cannot share one metadata file."""
        if name in self.roles:
            raise UserError(
                f"expected one role per name, found two roles named {name!r}",
                where=name,
                hint="rename the folder whose name ends like a page run, year or hash bin",
            )

    def _parent(
        self,
        name: str,
        parent: str,
        key_role: str,
        expiry_role: str,
        patterns: tuple[str, ...],
        buckets: list[_Bucket],
    ) -> None:
        children = tuple(b.name for b in buckets)
        self._claim(name)
        self.roles[name] = RoleSpec(
            name, parent, key_role, expiry_role, patterns, None, children, ()
        )
        for bucket in buckets:
            spec = RoleSpec(bucket.name, name, key_role, expiry_role, bucket.paths, None, (), ())
            self._leaf_or_bins(spec, bucket.files, whole=bucket.whole)

    def _leaf_or_bins(self, spec: RoleSpec, files: list[str], *, whole: bool = False) -> None:
        """Add ``spec`` holding ``files``, or, above BIN_LIMIT files, delegating them to hash
        bins (TUF path_hash_prefixes, signed by the same key) so one change re-signs a bin."""
        self._claim(spec.name)
        files = sorted(files)
        width = (
            0 if whole or len(files) <= BIN_LIMIT else (1 if len(files) <= BIN_LIMIT * 16 else 2)
        )
        if not width:
            self.roles[spec.name] = replace(spec, targets=tuple(files))
            self.role_of.update(dict.fromkeys(files, spec.name))
            return
        bins: dict[str, list[str]] = {f"{i:0{width}x}": [] for i in range(16**width)}
        for path in files:
            bins[hashlib.sha256(path.encode()).hexdigest()[:width]].append(path)
        self.roles[spec.name] = replace(
            spec, children=tuple(f"{spec.name}-{p}" for p in bins), targets=()
        )
        for prefix, members in bins.items():
            name = f"{spec.name}-{prefix}"
            self._claim(name)
            self.roles[name] = RoleSpec(
                name, spec.name, spec.key_role, spec.expiry_role, None, (prefix,), (),
                tuple(members),
            )  # fmt: skip
            self.role_of.update(dict.fromkeys(members, name))


def _desk_bucket(desk: str, s: Sequence[str], merged: set[str], run: str) -> tuple[str, str]:
    """``(role name, kind)`` of a desk path: a closed year, a month, a page run, the rest."""
    if _dated(s):
        if s[2] in merged:
            return f"{desk}-{s[2]}", "year"
        if _MONTH.match(s[3]):
            return f"{desk}-{s[2]}-{s[3]}", "month"
    if run:
        # Each language's listing shifts on its own: one run role per language.
        return f"{desk}-page-{_SLUG.sub('-', s[0].lower()).strip('-')}-{run}", "run"
    return f"{desk}-pages", "pages"


def _desk_bucket_patterns(desk: str, kind: str, s: Sequence[str], run: str) -> tuple[str, ...]:
    name = _literal(desk)
    if kind == "year":
        return (f"*/{name}/{s[2]}/*/*/*", f"media/{name}/{s[2]}/*/*")
    if kind == "month":
        return (f"*/{name}/{s[2]}/{s[3]}/*/*", f"media/{name}/{s[2]}/{s[3]}/*")
    if kind == "run":
        head = _literal(s[0])
        return tuple(
            f"{head}/{name}/page/{seg}/{tail}" for seg in run_patterns(run) for tail in ("*", "*/*")
        )
    return desk_patterns(desk)


def _desk_buckets(desk: str, paths: list[_Path], newest: str) -> list[_Bucket]:
    """Closed years, months, page runs, then the catch-all ``NAME-pages`` (last)."""
    per_year: dict[str, int] = defaultdict(int)
    for _path, s in paths:
        if _dated(s):
            per_year[s[2]] += 1
    merged = {y for y, count in per_year.items() if y < newest and count <= YEAR_LIMIT}
    runs = _page_runs((s for _p, s in paths if len(s) in (5, 6)), 2)
    buckets: dict[str, _Bucket] = {}
    for path, s in paths:
        run = _in_run(s, 2, runs) if runs and len(s) in (5, 6) else ""
        key, kind = _desk_bucket(desk, s, merged, run)
        bucket = buckets.get(key)
        if bucket is None:
            patterns = _desk_bucket_patterns(desk, kind, s, run)
            bucket = buckets[key] = _Bucket(key, patterns, [], kind == "year")
        bucket.files.append(path)
    # Month/year/page patterns never overlap each other; the catch-all must come last.
    ordered = sorted(buckets, key=lambda k: (k == f"{desk}-pages", k))
    return [buckets[k] for k in ordered]


def _group_buckets(name: str, key: str, paths: list[_Path], newest: str) -> list[_Bucket]:
    """One bucket for the whole group, or its page runs / newest year, then ``-rest``."""
    if key.count("/") != 1:
        return [_Bucket(name, group_patterns(key), [p for p, _s in paths])]
    prefix = "/".join(_literal(p) for p in key.split("/"))
    runs = _page_runs((s for _p, s in paths), 1)
    segments: dict[str, tuple[str, ...]] = {}
    files: dict[str, list[str]] = defaultdict(list)
    for path, s in paths:
        run = _in_run(s, 1, runs) if runs else ""
        if run:
            bucket = f"{name}-{run}"
            segments[bucket] = run_patterns(run)
        elif newest and len(s) > 3 and s[2] == newest:
            bucket = f"{name}-{newest}"
            segments[bucket] = (newest,)
        else:
            bucket = f"{name}-rest"
        files[bucket].append(path)
    if list(files) == [f"{name}-rest"]:
        return [_Bucket(name, group_patterns(key), files[f"{name}-rest"])]
    result = []
    for bucket in sorted(files, key=lambda k: (k == f"{name}-rest", k)):
        if bucket in segments:
            depths = {f.count("/") + 1 for f in files[bucket]}
            patterns = tuple(
                p for seg in segments[bucket] for p in _depth_patterns(f"{prefix}/{seg}", depths)
            )
        else:
            patterns = group_patterns(key)
        result.append(_Bucket(bucket, patterns, files[bucket]))
    return result


def _group_role_name(key: str, taken: set[str]) -> str:
    slug = _SLUG.sub("-", key.lower()).strip("-") or "top"
    name = f"site-{slug}"
    if name in taken:
        name = f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    taken.add(name)
    return name


def plan_layout(paths: Iterable[str], desk_names: Sequence[str]) -> RoleLayout:
    """The role layout for these target paths and desks (see the module docstring).

    Raises:
        UserError: a desk name is reserved, or a path cannot be delegated (empty, ``.`` or
            ``..`` segments, deeper than ``MAX_DEPTH``).
    """
    for desk in desk_names:
        if desk in RESERVED_DESKS:
            raise UserError(
                f"desk name {desk!r} is reserved for site-wide pages",
                where=f"[desks.{desk}]",
                hint=f"rename the desk; reserved: {', '.join(sorted(RESERVED_DESKS))}",
            )
    planner = _Planner(desk_names)
    for path in paths:
        planner.add(path)
    return planner.plan()
