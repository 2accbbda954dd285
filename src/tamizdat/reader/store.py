"""A reader's local store: the mirror layout on disk, per publisher, updated transactionally.

::

    <home>/<NAME>/
      subscription.json               name, pinned fingerprint (or TOFU), mirrors
      objects/<dir>/<sha256>.<name>   verified by-hash objects (= TARGETS_DIR), immutable
      releases/<id>/metadata/…        the verified metadata set of one release
      releases/<id>/site/…            natural paths: hard links to verified objects
      releases/<id>/release.json      version, dates, stale flag; seen.json: rollback floors
      current -> releases/<id>        the release being read

Invariant: ``current`` always names a complete, verified release. A sync writes new objects
first (each atomically, under its content hash, only after verification), then builds a new
release directory, and switches ``current`` with one atomic ``os.replace`` of a symlink at
the very end; a sync that fails or is killed (even SIGKILL) leaves the previous release as
it was. Natural paths are materialised from verified objects only.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tamizdat.errors import InternalError, TamperedError, UserError
from tamizdat.files import copy_regular, read_below, write_atomic
from tamizdat.layout import METADATA_DIR, TARGETS_DIR
from tamizdat.release.listing import TargetEntry
from tamizdat.trust.verify.policy import SeenVersions
from tamizdat.trust.verify.seen import seen_from_json, seen_to_json

__all__ = ["ReleaseInfo", "Store", "Subscription", "reader_home", "subscription_names"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
HOME_ENV = "TAMIZDAT_READER_HOME"


def reader_home(store_dir: Path | str | None = None) -> Path:
    """``--store-dir``, else ``$TAMIZDAT_READER_HOME``, else ``~/.local/share/tamizdat/reader``."""
    if store_dir is not None:
        return Path(store_dir).expanduser()
    env = os.environ.get(HOME_ENV)
    return Path(env).expanduser() if env else Path("~/.local/share/tamizdat/reader").expanduser()


def subscription_names(home: Path) -> list[str]:
    """The names subscribed under ``home``, sorted."""
    if not home.is_dir():
        return []
    return sorted(
        p.name
        for p in home.iterdir()
        if _NAME.match(p.name) and (p / "subscription.json").is_file()
    )


@dataclass(frozen=True, slots=True)
class Subscription:
    """Whom a reader follows: the pinned root fingerprint (or TOFU) and where to fetch."""

    name: str
    fingerprint: str | None
    trust_on_first_use: bool
    mirrors: tuple[str, ...]
    learned_mirrors: tuple[str, ...] = ()

    @property
    def all_mirrors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.mirrors, *self.learned_mirrors)))


@dataclass(frozen=True, slots=True)
class ReleaseInfo:
    """What the store knows about the release it holds (written with it, atomically)."""

    version: int
    timestamp_version: int
    fingerprint: str
    published: str | None
    expires: str
    stale: bool
    verified_at: str
    source: str
    languages: tuple[str, ...] = field(default=())


def _safe_parts(path: str) -> list[str]:
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") or "\\" in p for p in parts):
        raise TamperedError(f"expected a relative target path, found {path!r}", where=path)
    return parts


class Store:
    """One publisher's store; also a read-only :class:`~tamizdat.release.listing.Layout`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.current = root / "current"

    # --- creation and the subscription ----------------------------------------------------

    @classmethod
    def open(cls, name: str, store_dir: Path | str | None = None) -> Store:
        """The store of subscription ``name``.

        Raises:
            UserError: the name is not valid or there is no such subscription.
        """
        home = reader_home(store_dir)
        store = cls(home / cls.check_name(name))
        if not (store.root / "subscription.json").is_file():
            known = subscription_names(home)
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            hint = (
                f"did you mean '{close[0]}'?"
                if close
                else f"add it with 'tamizdat reader add {name} --mirror URL --fingerprint FP'"
                + (f" (subscribed: {', '.join(known[:10])})" if known else "")
            )
            raise UserError(f"no subscription named {name!r}", where=str(store.root), hint=hint)
        return store

    @classmethod
    def create(cls, subscription: Subscription, store_dir: Path | str | None = None) -> Store:
        """Create the store for a new subscription.

        Raises:
            UserError: the name is invalid or already subscribed.
        """
        root = reader_home(store_dir) / cls.check_name(subscription.name)
        if (root / "subscription.json").exists():
            raise UserError(f"already subscribed to {subscription.name!r}", where=str(root))
        store = cls(root)
        store.save_subscription(subscription)
        return store

    @staticmethod
    def check_name(name: str) -> str:
        if not _NAME.match(name):
            raise UserError(
                f"expected a short name (letters, digits, . _ -), found {name!r}", where="NAME"
            )
        return name

    @property
    def subscription(self) -> Subscription:
        data = json.loads((self.root / "subscription.json").read_bytes())
        return Subscription(
            name=data["name"],
            fingerprint=data.get("fingerprint"),
            trust_on_first_use=bool(data.get("trust_on_first_use")),
            mirrors=tuple(data.get("mirrors", ())),
            learned_mirrors=tuple(data.get("learned_mirrors", ())),
        )

    def save_subscription(self, subscription: Subscription) -> None:
        data = json.dumps(asdict(subscription), indent=2, sort_keys=True).encode()
        write_atomic(self.root / "subscription.json", data)

    # --- the release being read -----------------------------------------------------------

    @property
    def has_release(self) -> bool:
        return (self.current / "release.json").is_file()

    @property
    def release(self) -> ReleaseInfo | None:
        try:
            data = json.loads((self.current / "release.json").read_bytes())
        except FileNotFoundError:
            return None
        data["languages"] = tuple(data.get("languages", ()))
        return ReleaseInfo(**data)

    @property
    def seen(self) -> SeenVersions | None:
        """The rollback floors kept with the current release (role keys included).

        Raises:
            UserError: the file exists but cannot be read back (never silently reset:
                that would re-open the door to rollback).
        """
        file = self.current / "seen.json"
        try:
            return seen_from_json(json.loads(file.read_bytes()))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise UserError(
                f"expected the seen versions of this store, found unreadable data ({exc})",
                where=str(file),
            ) from None

    def metadata_file(self, name: str) -> Path:
        return self.current / "metadata" / name

    def site_file(self, path: str) -> Path:
        return self.current.joinpath("site", *_safe_parts(path))

    # --- Layout interface (what bundles and the share server read) ------------------------

    def locate(self, path: str) -> Path:
        if path.startswith(TARGETS_DIR + "/"):
            return self.objects.joinpath(*_safe_parts(path[len(TARGETS_DIR) + 1 :]))
        if path.startswith(METADATA_DIR + "/"):
            return self.metadata_file(path[len(METADATA_DIR) + 1 :])
        return self.site_file(path)

    def _base(self, path: str) -> tuple[Path, str]:
        """The folder ``path`` is read below and the part below it (validated)."""
        if path.startswith(TARGETS_DIR + "/"):
            inner = path[len(TARGETS_DIR) + 1 :]
            return self.objects, "/".join(_safe_parts(inner))
        if path.startswith(METADATA_DIR + "/"):
            inner = path[len(METADATA_DIR) + 1 :]
            return self.current, "metadata/" + "/".join(_safe_parts(inner))
        return self.current, "site/" + "/".join(_safe_parts(path))

    def read(self, path: str) -> bytes:
        """The bytes at layout path ``path`` — a regular file, reached through no link
        below the store's own ``current`` switch (:func:`tamizdat.files.open_below`).

        Raises:
            FileNotFoundError: nothing there. TamperedError: a malformed path.
            UnsafeFileError: a link, FIFO, socket or device file in the store.
        """
        return self._read_below(*self._base(path), path)

    def _read_below(self, base: Path, inner: str, path: str) -> bytes:
        try:
            return read_below(base, inner, where=f"{self.root.name}: {path}")
        except (NotADirectoryError, IsADirectoryError):
            raise FileNotFoundError(2, "no such file", path) from None

    def read_site(self, path: str) -> bytes:
        """The current release's site file at natural path ``path`` (see :meth:`read`)."""
        return self._read_below(self.current, "site/" + "/".join(_safe_parts(path)), path)

    def read_metadata(self, name: str) -> bytes:
        """The current release's metadata file ``name`` (see :meth:`read`)."""
        return self.read(f"{METADATA_DIR}/{name}")

    def exists(self, path: str) -> bool:
        try:
            return self.locate(path).is_file()
        except TamperedError:
            return False

    # --- transactional updates ------------------------------------------------------------

    def has_object(self, entry: TargetEntry) -> bool:
        return self.locate(entry.by_hash).is_file()

    def put_object(self, entry: TargetEntry, data: bytes) -> None:
        """Store a verified object under its content hash (atomic; idempotent)."""
        write_atomic(self.locate(entry.by_hash), data)

    def commit(
        self,
        metadata: Mapping[str, bytes],
        targets: Iterable[TargetEntry],
        info: ReleaseInfo,
        seen: SeenVersions,
    ) -> None:
        """Make the verified release current: build its directory, then switch atomically.

        ``metadata`` maps file names (``N.role.json``, ``timestamp.json``) to verified bytes;
        every target's object must already be in the store.

        Raises:
            InternalError: an object is missing (objects must be stored first).
        """
        releases = self.root / "releases"
        releases.mkdir(parents=True, exist_ok=True)
        self._collect_garbage(releases)
        final = releases / f"{info.version}-{secrets.token_hex(4)}"
        building = releases / f".building-{final.name}"
        building.mkdir()
        for name, data in metadata.items():
            write_atomic(building / "metadata" / name, data)
        for entry in targets:
            self._link_natural(building / "site", entry)
        write_atomic(
            building / "seen.json", json.dumps(seen_to_json(seen), sort_keys=True).encode()
        )
        write_atomic(building / "release.json", json.dumps(asdict(info), sort_keys=True).encode())
        _fsync_tree_root(building)
        building.replace(final)
        link = self.root / f".current-{secrets.token_hex(4)}"
        link.symlink_to(Path("releases") / final.name)
        link.replace(self.current)  # the one atomic switch (rename(2))

    def _link_natural(self, site: Path, entry: TargetEntry) -> None:
        source = self.locate(entry.by_hash)
        if not source.is_file():
            raise InternalError(f"object for {entry.path} was not stored before commit")
        dest = site.joinpath(*_safe_parts(entry.path))
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, dest)
        except OSError:  # file systems without hard links (FAT on a USB stick)
            copy_regular(source, dest)

    def _collect_garbage(self, releases: Path) -> None:
        """Remove releases no longer current and leftovers of killed syncs."""
        keep = os.path.realpath(self.current) if self.current.is_symlink() else None
        for child in releases.iterdir():
            if str(child.resolve()) != keep:
                shutil.rmtree(child, ignore_errors=True)
        for child in self.root.glob(".current-*"):
            child.unlink(missing_ok=True)


def _fsync_tree_root(path: Path) -> None:
    """Flush the directory entry so the rename that follows is not reordered before it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
