"""Per-requester rate limits and the distributor's secret key: the I/O around the distributor.

Invariants:

- The store holds keyed hashes of requesters and the times of their admitted requests
  within the window, and which mirrors a fallback handed to which other bucket (a leak
  path for ``mirrors check``), nothing else: a seized store does not list readers.
- Admission is atomic: counting and recording happen in one SQLite transaction
  (``BEGIN IMMEDIATE``), so a mail robot and a Telegram bot running at once cannot both
  slip past the limit. A refused request is not recorded.
- The store lives beside the site (the cache folder), never in ``public/`` or ``release/``.
- The secret key is read from the file named by ``TAMIZDAT_DISTRIBUTION_KEY_FILE`` or from
  ``distribution.key`` in the signing keys folder: like signing keys, kept outside the site.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Protocol

from tamizdat.channels.distributor import MIN_KEY_BYTES, Answer, Distributor
from tamizdat.errors import KeyStoreError, RateLimitedError, UserError

__all__ = [
    "KEY_FILE_ENV",
    "KEY_FILE_NAME",
    "MemoryRequestStore",
    "RequestStore",
    "SqliteRequestStore",
    "give_answer",
    "load_distribution_key",
]

KEY_FILE_ENV = "TAMIZDAT_DISTRIBUTION_KEY_FILE"
KEY_FILE_NAME = "distribution.key"


class RequestStore(Protocol):
    """Where admitted requests are counted."""

    def admit(self, requester: str, now: float, window: float, limit: int) -> bool:
        """Record a request at ``now`` and return True if fewer than ``limit`` were admitted
        in the ``window`` seconds before it; otherwise record nothing and return False."""
        ...

    def record_fallback(self, mirrors: Sequence[str], bucket: str, now: float) -> None:
        """Note that ``mirrors`` were handed to a requester of ``bucket`` (not their own)."""
        ...

    def fallback_buckets(self) -> dict[str, frozenset[str]]:
        """``mirror → buckets`` that received it by fallback: its other leak paths."""
        ...


class MemoryRequestStore:
    """A store in memory (one process: tests, a bot that keeps running)."""

    def __init__(self) -> None:
        self._times: dict[str, list[float]] = {}
        self._fallbacks: dict[str, set[str]] = {}

    def admit(self, requester: str, now: float, window: float, limit: int) -> bool:
        recent = [t for t in self._times.get(requester, []) if now - window < t <= now]
        if len(recent) >= limit:
            self._times[requester] = recent
            return False
        self._times[requester] = [*recent, now]
        return True

    def record_fallback(self, mirrors: Sequence[str], bucket: str, now: float) -> None:
        for name in mirrors:
            self._fallbacks.setdefault(name, set()).add(bucket)

    def fallback_buckets(self) -> dict[str, frozenset[str]]:
        return {name: frozenset(found) for name, found in self._fallbacks.items()}


class SqliteRequestStore:
    """A store in one SQLite file; old rows are pruned as requests arrive.

    Raises (from every method):
        UserError: the file is not a usable SQLite database (names the file).
    """

    def __init__(self, file: Path) -> None:
        self.file = Path(file)

    def _connect(self) -> sqlite3.Connection:
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.file, timeout=10, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from None
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "CREATE TABLE IF NOT EXISTS hits (requester TEXT NOT NULL, at REAL NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS hits_requester ON hits (requester, at)")
            db.execute(
                "CREATE TABLE IF NOT EXISTS fallbacks (mirror TEXT NOT NULL, bucket TEXT NOT NULL,"
                " first REAL NOT NULL, PRIMARY KEY (mirror, bucket))"
            )
        except sqlite3.Error as exc:
            db.close()
            raise self._error(exc) from None
        return db

    def _error(self, exc: Exception) -> UserError:
        return UserError(
            f"expected a tamizdat request store, found an unusable file: {exc}",
            where=str(self.file),
        )

    def admit(self, requester: str, now: float, window: float, limit: int) -> bool:
        db = self._connect()
        try:
            db.execute("DELETE FROM hits WHERE at <= ?", (now - window,))
            (count,) = db.execute(
                "SELECT count(*) FROM hits WHERE requester = ? AND at <= ?", (requester, now)
            ).fetchone()
            admitted = int(count) < limit
            if admitted:
                db.execute("INSERT INTO hits VALUES (?, ?)", (requester, now))
            db.execute("COMMIT")
            return admitted
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        finally:
            db.close()  # an uncommitted transaction is rolled back

    def record_fallback(self, mirrors: Sequence[str], bucket: str, now: float) -> None:
        db = self._connect()
        try:
            db.executemany(
                "INSERT OR IGNORE INTO fallbacks VALUES (?, ?, ?)",
                [(name, bucket, now) for name in mirrors],
            )
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        finally:
            db.close()

    def fallback_buckets(self) -> dict[str, frozenset[str]]:
        if not self.file.is_file():  # nothing handed out yet: create nothing
            return {}
        db = self._connect()
        try:
            rows = db.execute("SELECT mirror, bucket FROM fallbacks").fetchall()
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        finally:
            db.close()
        found: dict[str, set[str]] = {}
        for mirror, bucket in rows:
            found.setdefault(str(mirror), set()).add(str(bucket))
        return {name: frozenset(buckets) for name, buckets in found.items()}


def load_distribution_key(keys_dir: Path, environ: Mapping[str, str] | None = None) -> bytes:
    """The distributor's secret: the file named by ``$TAMIZDAT_DISTRIBUTION_KEY_FILE``, else
    ``KEYS_DIR/distribution.key``.

    Raises:
        KeyStoreError: no key file, unreadable, or shorter than 32 bytes.
    """
    env = os.environ if environ is None else environ
    named = env.get(KEY_FILE_ENV)
    file = Path(named).expanduser() if named else Path(keys_dir) / KEY_FILE_NAME
    hint = (
        f"create one outside the site: 'head -c 32 /dev/urandom > {file}' (or set "
        f"{KEY_FILE_ENV}); keep it like a signing key, and the same for every robot and bot"
    )
    try:
        key = file.read_bytes()
    except FileNotFoundError:
        raise KeyStoreError("no distribution key", where=str(file), hint=hint) from None
    except OSError as exc:
        raise KeyStoreError(
            f"cannot read the distribution key: {exc.strerror}", where=str(file)
        ) from None
    if len(key) < MIN_KEY_BYTES:
        raise KeyStoreError(
            f"expected a distribution key of at least {MIN_KEY_BYTES} bytes, found {len(key)}",
            where=str(file),
            hint=hint,
        )
    return key


def give_answer(
    distributor: Distributor,
    store: RequestStore,
    *,
    requester: str,
    channel: str,
    now: datetime,
    working: Mapping[str, str],
) -> Answer:
    """Rate-limit ``requester`` on ``channel``, then answer.

    Raises:
        RateLimitedError: the requester already had its answers for this window.
        UserError: unknown channel, implausible requester, no working mirror.
    """
    config = distributor.config
    key = distributor.requester_key(channel, requester)
    # Answer first: a request that cannot be answered does not use up the requester's quota.
    answer = distributor.answer(requester, channel, now, working)
    window = config.rate_window.total_seconds()
    if not store.admit(key, now.timestamp(), window, config.rate_limit):
        raise RateLimitedError(
            f"requester already received {config.rate_limit} answers in the last "
            f"{config.rate_window}",
            where=f"{channel} requester",
            hint="the answer stays the same until the period ends; ask again later",
        )
    if answer.fallback:
        # The home bucket had no working mirror: these now leak through it too.
        names = [m.name for m in answer.mirrors]
        store.record_fallback(names, str(answer.bucket), now.timestamp())
    return answer
