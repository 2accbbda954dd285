"""Per-requester rate limits and the distributor's secret key: the I/O around the distributor.

Invariants:

- The store holds keyed hashes of requesters and the times of their admitted requests
  within the window, nothing else: a seized store does not list readers' addresses.
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
from collections.abc import Mapping
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


class MemoryRequestStore:
    """A store in memory (one process: tests, a bot that keeps running)."""

    def __init__(self) -> None:
        self._times: dict[str, list[float]] = {}

    def admit(self, requester: str, now: float, window: float, limit: int) -> bool:
        recent = [t for t in self._times.get(requester, []) if now - window < t <= now]
        if len(recent) >= limit:
            self._times[requester] = recent
            return False
        self._times[requester] = [*recent, now]
        return True


class SqliteRequestStore:
    """A store in one SQLite file; old rows are pruned as requests arrive.

    Raises (from ``admit``):
        UserError: the file is not a usable SQLite database (names the file).
    """

    def __init__(self, file: Path) -> None:
        self.file = Path(file)

    def admit(self, requester: str, now: float, window: float, limit: int) -> bool:
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.file, timeout=10, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise UserError(f"cannot open the request store: {exc}", where=str(self.file)) from None
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "CREATE TABLE IF NOT EXISTS hits (requester TEXT NOT NULL, at REAL NOT NULL)"
            )
            db.execute("CREATE INDEX IF NOT EXISTS hits_requester ON hits (requester, at)")
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
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise UserError(
                f"expected a tamizdat request store, found an unusable file: {exc}",
                where=str(self.file),
            ) from None
        finally:
            db.close()


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
    return answer
