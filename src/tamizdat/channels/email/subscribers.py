"""Newsletter subscribers in one SQLite file beside the site: double opt-in, per language.

Invariants:

- Nobody receives a newsletter who did not confirm: ``add`` stores a *pending* row with a
  random confirmation token (sent to the address); only ``confirm`` with that token (the
  CLI, or the robot for a reply from the same address) makes it *confirmed*. A pending
  token expires after :attr:`StoreLimits.confirm_days`; the same address gets at most one
  confirmation mail per :attr:`StoreLimits.confirm_interval` however often a stranger
  types it in (no mail bombing through the subscribe form or robot).
- A permanent delivery failure (SMTP 5xx for that recipient) marks the row *bounced* with
  the server's reply; bounced rows are not mailed again until re-confirmed.
- Deliveries are journalled per (announcement key, mailbox) in the same file, so a send
  killed after k of N messages and run again mails only the N − k others.
- The file is never inside ``public/``, ``release/`` or a folder the build publishes
  (:func:`check_store_location`), is created readable by its owner only, and its default
  folder carries a ``.gitignore`` so a site kept in git never commits readers' addresses.
- Every change is one transaction (``BEGIN IMMEDIATE``): an import with a bad line 40
  adds nothing, and the robot and ``announce`` can run at once.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tamizdat.channels.email.addresses import check_address, same_mailbox
from tamizdat.errors import UserError

__all__ = [
    "DEFAULT_STORE",
    "Invitation",
    "StoreLimits",
    "Subscriber",
    "SubscriberState",
    "SubscriberStore",
    "check_store_location",
]

SubscriberState = Literal["pending", "confirmed", "bounced"]
DEFAULT_STORE = Path("private") / "subscribers.sqlite"
_PAGE = 500  # rows read at a time while mailing: memory stays flat as the list grows

# Every query below is built from these constants and "?" placeholders only (never from
# input), hence the S608 exemptions.
_SELECT = "SELECT address, lang, state, created, confirmed, unsubscribe, failure"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS subscribers ("
    " mailbox TEXT NOT NULL, lang TEXT NOT NULL, address TEXT NOT NULL,"
    " state TEXT NOT NULL, token TEXT NOT NULL, unsubscribe TEXT NOT NULL UNIQUE,"
    " created REAL NOT NULL, confirm_sent REAL, confirmed REAL, failure TEXT,"
    " PRIMARY KEY (mailbox, lang))",
    "CREATE INDEX IF NOT EXISTS subscribers_token ON subscribers (token)",
    "CREATE TABLE IF NOT EXISTS deliveries ("
    " key TEXT NOT NULL, mailbox TEXT NOT NULL, lang TEXT NOT NULL, message_id TEXT NOT NULL,"
    " at REAL NOT NULL, PRIMARY KEY (key, mailbox, lang))",
)


@dataclass(frozen=True, slots=True)
class StoreLimits:
    """How long a confirmation token lives and how often one address may be asked."""

    confirm_days: float = 7.0
    confirm_interval: float = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One address subscribed to one language."""

    address: str
    lang: str
    state: SubscriberState
    created: float
    confirmed: float | None
    unsubscribe_token: str
    failure: str | None = None

    def to_json(self) -> dict[str, object]:
        return {
            "address": self.address,
            "lang": self.lang,
            "state": self.state,
            "created": _iso(self.created),
            "confirmed": None if self.confirmed is None else _iso(self.confirmed),
            "failure": self.failure,
        }


@dataclass(frozen=True, slots=True)
class Invitation:
    """What ``add`` decided: the token to mail, or None when no mail may be sent now."""

    subscriber: Subscriber
    token: str | None


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds")


def check_store_location(file: Path, published: Iterable[Path]) -> Path:
    """``file`` resolved, after checking it lies in none of the ``published`` folders.

    Raises:
        UserError: the store would be inside a folder that readers or mirrors receive.
    """
    resolved = Path(file).resolve()
    for folder in published:
        top = Path(folder).resolve()
        if resolved == top or resolved.is_relative_to(top):
            raise UserError(
                f"the subscriber list would be published inside {top}",
                where=str(file),
                hint="keep it beside the site, e.g. private/subscribers.sqlite (the default)",
            )
    return resolved


def _token() -> str:
    return secrets.token_urlsafe(16)


def _check_lang(lang: str) -> str:
    if not (1 <= len(lang) <= 12) or not all(
        c.isascii() and (c.isalnum() or c == "-") for c in lang
    ):
        raise UserError(f"expected a language code like 'ru', found {lang[:20]!r}", where="--lang")
    return lang


class SubscriberStore:
    """The subscriber list and delivery journal in one SQLite file.

    Raises (from every method):
        UserError: the file is not a usable subscriber store (names the file).
    """

    def __init__(self, file: Path, limits: StoreLimits | None = None) -> None:
        self.file = Path(file)
        self.limits = limits or StoreLimits()
        self._db: sqlite3.Connection | None = None

    # -- connection -------------------------------------------------------------------
    def _error(self, exc: BaseException) -> UserError:
        return UserError(
            f"expected a tamizdat subscriber store, found an unusable file: {exc}",
            where=str(self.file),
        )

    def _connect(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        fresh = not self.file.exists()
        try:
            if fresh:
                self._make_folder()
            old = os.umask(0o077)  # readers' addresses: owner only, from the first byte
            try:
                db = sqlite3.connect(self.file, timeout=10, isolation_level=None)
            finally:
                os.umask(old)
            # WAL with synchronous=NORMAL: a commit survives the process being killed (what
            # the delivery journal must survive) without an fsync per delivered message; a
            # power cut may lose the last commits, i.e. re-send those few copies.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("BEGIN IMMEDIATE")
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute("COMMIT")
        except (OSError, sqlite3.Error) as exc:
            raise self._error(exc) from None
        self._db = db
        return db

    def _make_folder(self) -> None:
        folder = self.file.parent
        if not folder.exists():
            folder.mkdir(mode=0o700, parents=True)
            (folder / ".gitignore").write_text("# readers' addresses: never commit\n*\n")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> SubscriberStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _write(self, statements: Iterable[tuple[str, tuple[object, ...]]]) -> None:
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            for sql, params in statements:
                db.execute(sql, params)
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise self._error(exc) from None

    def _rows(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        try:
            return list(self._connect().execute(sql, params).fetchall())
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    # -- subscribing ------------------------------------------------------------------

    @staticmethod
    def _subscriber(row: tuple[Any, ...]) -> Subscriber:
        address, lang, state, created, confirmed, unsubscribe, failure = row
        return Subscriber(
            address=str(address),
            lang=str(lang),
            state=state,  # written by this module only
            created=float(created),
            confirmed=None if confirmed is None else float(confirmed),
            unsubscribe_token=str(unsubscribe),
            failure=None if failure is None else str(failure),
        )

    def get(self, address: str, lang: str) -> Subscriber | None:
        """The row of ``address`` for ``lang``, or None."""
        rows = self._rows(
            _SELECT + " FROM subscribers WHERE mailbox = ? AND lang = ?",
            (same_mailbox(address), lang),
        )
        return self._subscriber(rows[0]) if rows else None

    def languages_of(self, address: str) -> tuple[str, ...]:
        """The languages ``address`` is (or is being) subscribed to."""
        rows = self._rows(
            "SELECT lang FROM subscribers WHERE mailbox = ? ORDER BY lang", (same_mailbox(address),)
        )
        return tuple(str(r[0]) for r in rows)

    def add(self, address: str, lang: str, now: float, *, smtputf8: bool = False) -> Invitation:
        """Start the double opt-in of ``address`` for ``lang``.

        A new or re-subscribing (bounced) address gets a pending row and a fresh token; an
        address already confirmed keeps its row (no token); a pending one gets a new token
        unless one was sent less than ``confirm_interval`` ago (then None: send nothing).

        Raises:
            UserError: an invalid address or language.
        """
        address = check_address(address, smtputf8=smtputf8, where="address")
        _check_lang(lang)
        found = self.get(address, lang)
        if found is not None and found.state == "confirmed":
            return Invitation(found, None)
        row = self._rows(
            "SELECT confirm_sent FROM subscribers WHERE mailbox = ? AND lang = ?",
            (same_mailbox(address), lang),
        )
        last = row[0][0] if row else None
        recent = last is not None and now - float(last) < self.limits.confirm_interval
        if found is not None and found.state == "pending" and recent:
            return Invitation(found, None)
        token = _token()
        self._write(
            [
                (
                    "INSERT INTO subscribers VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, NULL, NULL)"
                    " ON CONFLICT (mailbox, lang) DO UPDATE SET state = 'pending',"
                    " token = excluded.token, confirm_sent = excluded.confirm_sent,"
                    " failure = NULL, address = excluded.address",
                    (same_mailbox(address), lang, address, token, _token(), now, now),
                )
            ]
        )
        fresh = self.get(address, lang)
        assert fresh is not None
        return Invitation(fresh, token)

    def confirm(self, token: str, now: float, *, address: str | None = None) -> Subscriber:
        """Confirm the pending subscription holding ``token`` (and, from the robot, sent
        by ``address``: a token forwarded from another mailbox confirms nothing).

        Raises:
            UserError: no pending subscription has this token, or it expired.
        """
        token = token.strip()
        rows = self._rows(
            _SELECT + ", confirm_sent FROM subscribers WHERE token = ? AND state = 'pending'",
            (token,),
        )
        if not token or not rows:
            raise UserError("no pending subscription has this confirmation code", where="code")
        found = self._subscriber(rows[0][:7])
        sent = float(rows[0][7] or 0)
        if address is not None and same_mailbox(address) != same_mailbox(found.address):
            raise UserError("this confirmation code belongs to another address", where="code")
        if now - sent > self.limits.confirm_days * 86400:
            raise UserError(
                "this confirmation code has expired", where="code", hint="subscribe again"
            )
        self._write(
            [
                (
                    "UPDATE subscribers SET state = 'confirmed', confirmed = ?, token = ?"
                    " WHERE mailbox = ? AND lang = ?",
                    (now, _token(), same_mailbox(found.address), found.lang),
                )
            ]
        )
        confirmed = self.get(found.address, found.lang)
        assert confirmed is not None
        return confirmed

    def remove(self, address: str, lang: str | None = None) -> int:
        """Forget ``address`` (for ``lang`` only, or every language); the number of rows
        removed. Its delivery journal rows go too: nothing keeps the address."""
        mailbox = same_mailbox(address)
        if lang is None:
            count = len(self.languages_of(address))
            self._write(
                [
                    ("DELETE FROM subscribers WHERE mailbox = ?", (mailbox,)),
                    ("DELETE FROM deliveries WHERE mailbox = ?", (mailbox,)),
                ]
            )
            return count
        count = 1 if self.get(address, lang) else 0
        self._write(
            [
                ("DELETE FROM subscribers WHERE mailbox = ? AND lang = ?", (mailbox, lang)),
                ("DELETE FROM deliveries WHERE mailbox = ? AND lang = ?", (mailbox, lang)),
            ]
        )
        return count

    def unsubscribe(self, token: str) -> Subscriber | None:
        """Remove the subscription whose one-click unsubscribe token is ``token``."""
        rows = self._rows(
            _SELECT + " FROM subscribers WHERE unsubscribe = ?",
            (token.strip(),),
        )
        if not rows:
            return None
        found = self._subscriber(rows[0])
        self.remove(found.address, found.lang)
        return found

    # -- listing ----------------------------------------------------------------------
    def subscribers(
        self, lang: str | None = None, state: SubscriberState | None = None
    ) -> Iterator[Subscriber]:
        """Rows in address order, read a page at a time (never the whole list at once)."""
        last = ("", "")
        while True:
            where = ["(mailbox, lang) > (?, ?)"]
            params: list[object] = list(last)
            if lang is not None:
                where.append("lang = ?")
                params.append(lang)
            if state is not None:
                where.append("state = ?")
                params.append(state)
            rows = self._rows(
                f"{_SELECT}, mailbox FROM subscribers WHERE {' AND '.join(where)}"
                f" ORDER BY mailbox, lang LIMIT {_PAGE}",
                tuple(params),
            )
            for row in rows:
                yield self._subscriber(row[:7])
            if len(rows) < _PAGE:
                return
            last = (str(rows[-1][7]), str(rows[-1][1]))

    def count(self, lang: str | None = None, state: SubscriberState | None = None) -> int:
        sql, params = "SELECT count(*) FROM subscribers WHERE 1", list[object]()
        if lang is not None:
            sql, params = sql + " AND lang = ?", [*params, lang]
        if state is not None:
            sql, params = sql + " AND state = ?", [*params, state]
        return int(self._rows(sql, tuple(params))[0][0])

    def import_rows(
        self, rows: Iterable[tuple[str, str, str]], now: float, *, confirmed: bool
    ) -> list[Invitation]:
        """Add ``(address, lang, where)`` rows in ONE transaction: a bad row adds nothing.
        ``confirmed`` (the newsroom vouches for an earlier opt-in) skips the invitation.

        Raises:
            UserError: an invalid address or language, naming the row's ``where``.
        """
        checked = []
        for address, lang, where in rows:
            checked.append((check_address(address, where=where), _check_lang_at(lang, where)))
        statements: list[tuple[str, tuple[object, ...]]] = []
        invitations: list[tuple[str, str, str | None]] = []
        for address, lang in checked:
            token = _token()
            state = "confirmed" if confirmed else "pending"
            statements.append(
                (
                    "INSERT INTO subscribers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)"
                    " ON CONFLICT (mailbox, lang) DO NOTHING",
                    (
                        same_mailbox(address), lang, address, state, token, _token(), now,
                        None if confirmed else now, now if confirmed else None,
                    ),
                )
            )  # fmt: skip
            invitations.append((address, lang, None if confirmed else token))
        known = {(a, lang) for a, lang, _ in invitations if self.get(a, lang) is not None}
        self._write(statements)
        result = []
        for address, lang, code in invitations:
            row = self.get(address, lang)
            if row is not None:
                result.append(Invitation(row, None if (address, lang) in known else code))
        return result

    # -- delivery journal -------------------------------------------------------------
    def delivered(self, key: str, subscriber: Subscriber) -> bool:
        """Whether the announcement ``key`` already went to ``subscriber``."""
        return bool(
            self._rows(
                "SELECT 1 FROM deliveries WHERE key = ? AND mailbox = ? AND lang = ?",
                (key, same_mailbox(subscriber.address), subscriber.lang),
            )
        )

    def record_delivery(
        self, key: str, subscriber: Subscriber, message_id: str, now: float
    ) -> None:
        self._write(
            [
                (
                    "INSERT OR IGNORE INTO deliveries VALUES (?, ?, ?, ?, ?)",
                    (key, same_mailbox(subscriber.address), subscriber.lang, message_id, now),
                )
            ]
        )

    def deliveries(self, key: str) -> int:
        return int(self._rows("SELECT count(*) FROM deliveries WHERE key = ?", (key,))[0][0])

    def record_bounce(self, subscriber: Subscriber, reply: str) -> None:
        """Mark ``subscriber`` bounced with the server's permanent refusal (bounded)."""
        self._write(
            [
                (
                    "UPDATE subscribers SET state = 'bounced', failure = ?"
                    " WHERE mailbox = ? AND lang = ?",
                    (reply[:300], same_mailbox(subscriber.address), subscriber.lang),
                )
            ]
        )


def _check_lang_at(lang: str, where: str) -> str:
    try:
        return _check_lang(lang)
    except UserError as exc:
        raise UserError(exc.message, where=where) from None
