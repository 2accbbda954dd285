"""The per-channel journal of ``tamizdat announce``: what each channel was told, and when.

One JSON file per channel, ``CACHE_DIR/channels/NAME.journal.json`` (beside the site, never
in ``public/`` or ``release/``), a lock file beside it, and ``NAME.known.json``: the story
revisions the channel took as its starting point, and older announced ones moved there so
that the journal, written twice per message, stays small.

Invariants:

- *Written before and after every send.* An announcement is recorded ``pending`` (with the
  story revisions it carries) before :meth:`Sender.send` is called and ``sent`` (with the
  :class:`Receipt`) right after; a sender's :class:`ChannelError` records it ``failed``.
  Each write is a whole new file renamed over the old one after ``fsync``, so a run killed
  at any instant leaves either the previous journal or the next, never a torn one.
- *A story revision is announced once.* ``stories`` (then ``known``) maps each announced
  article path to the revision last announced (or recorded as the channel's starting
  point); the known file is written before the journal that relies on it; a ``pending``
  entry's stories are never put into another announcement, so a re-run either confirms it
  (``Sender.was_sent``), sends that same key again (confirmed not sent), or reports it for a
  human (the sender cannot know).
- *One run per channel at a time*: an exclusive ``flock`` on the lock file for the whole run,
  so two runs cannot both send the same key.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from tamizdat.channels.announce import Receipt
from tamizdat.errors import UserError

__all__ = ["EntryState", "Journal", "JournalEntry", "journal_file", "known_file", "open_journal"]

EntryState = Literal["pending", "sent", "failed"]
_FORMAT = 1
_STATES = ("pending", "sent", "failed")
# Sent entries kept for reading (the ``stories`` map is the record that matters): a channel
# posting every story for years must not make each journal write slower.
_KEEP_SENT = 2000
_COMPACT_AT = 2000  # announced stories kept in the journal before moving to the known file


def journal_file(cache_dir: Path, channel: str) -> Path:
    """Where the journal of ``channel`` lives."""
    return Path(cache_dir) / "channels" / f"{channel}.journal.json"


def known_file(cache_dir: Path, channel: str) -> Path:
    """Where the starting point (and older announced stories) of ``channel`` live."""
    return Path(cache_dir) / "channels" / f"{channel}.known.json"


@dataclass(slots=True)
class JournalEntry:
    """One announcement as the journal knows it."""

    key: str
    state: EntryState
    lang: str
    release: int
    stories: tuple[tuple[str, str], ...]  # (path, revision)
    corrections: tuple[str, ...] = ()  # paths announced as corrections
    at: str = ""
    ids: tuple[str, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "state": self.state,
            "lang": self.lang,
            "release": self.release,
            "stories": [list(s) for s in self.stories],
            "corrections": list(self.corrections),
            "at": self.at,
            "ids": list(self.ids),
            "counts": dict(self.counts),
            "notes": list(self.notes),
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: Any) -> JournalEntry:
        if not isinstance(data, dict) or data.get("state") not in _STATES:
            raise ValueError("entry")
        stories = tuple((str(p), str(r)) for p, r in data["stories"])
        return cls(
            key=str(data["key"]),
            state=data["state"],
            lang=str(data["lang"]),
            release=int(data["release"]),
            stories=stories,
            corrections=tuple(str(p) for p in data.get("corrections", ())),
            at=str(data.get("at", "")),
            ids=tuple(str(i) for i in data.get("ids", ())),
            counts={str(k): int(v) for k, v in dict(data.get("counts", {})).items()},
            notes=tuple(str(n) for n in data.get("notes", ())),
            error=str(data.get("error", "")),
        )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _write_durable(path: Path, data: bytes) -> None:
    """Replace ``path`` by ``data``: temp file, fsync, rename, fsync of the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


class Journal:
    """The journal of one channel (see the module docstring). Made by :func:`open_journal`."""

    def __init__(self, file: Path, channel: str) -> None:
        self.file = file
        self.known_file = file.with_name(f"{channel}.known.json")
        self.known: dict[str, str] = {}
        self.channel = channel
        self.started = False  # False until the channel's first announcement run was recorded
        self.stories: dict[str, str] = {}
        self.entries: dict[str, JournalEntry] = {}
        self.last_digest: str | None = None
        self.last_release: int | None = None  # the newest release announced on the channel

    # -- reading -------------------------------------------------------------------------
    def _damaged(self, file: Path) -> UserError:
        return UserError(
            f"expected the journal of channel {self.channel!r}, found a damaged file",
            where=str(file),
            hint="restore it from a backup; deleting it would announce the latest stories again",
        )

    def _load_known(self) -> None:
        try:
            raw = self.known_file.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise UserError(f"cannot read: {exc.strerror}", where=str(self.known_file)) from None
        try:
            doc = json.loads(raw)
            if doc.get("format") != _FORMAT or doc.get("channel") != self.channel:
                raise ValueError("format")
            if not isinstance(doc["stories"], dict):
                raise ValueError("shape")
            self.known = {str(k): str(v) for k, v in doc["stories"].items()}
        except (ValueError, KeyError, TypeError, AttributeError):
            raise self._damaged(self.known_file) from None

    def _save_known(self) -> None:
        doc = {
            "format": _FORMAT,
            "channel": self.channel,
            "stories": dict(sorted(self.known.items())),
        }
        data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        try:
            _write_durable(self.known_file, data)
        except OSError as exc:
            raise UserError(f"cannot write: {exc.strerror}", where=str(self.known_file)) from None

    def revision_of(self, path: str) -> str | None:
        """The revision of ``path`` last announced (or taken as known), if any."""
        found = self.stories.get(path)
        return found if found is not None else self.known.get(path)

    def _load(self) -> None:
        self._load_known()
        try:
            raw = self.file.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            raise UserError(
                f"cannot read the journal: {exc.strerror}", where=str(self.file)
            ) from None
        try:
            doc = json.loads(raw)
            if doc.get("format") != _FORMAT or doc.get("channel") != self.channel:
                raise ValueError("format")
            if not isinstance(doc["stories"], dict) or not isinstance(doc["entries"], list):
                raise ValueError("shape")
            stories = {str(k): str(v) for k, v in doc["stories"].items()}
            entries = [JournalEntry.from_json(e) for e in doc["entries"]]
            last_digest = doc.get("last_digest")
            last_release = doc.get("last_release")
            if last_release is not None and (
                not isinstance(last_release, int) or isinstance(last_release, bool)
            ):
                raise ValueError("last_release")
        except (ValueError, KeyError, TypeError, AttributeError):
            raise self._damaged(self.file) from None
        self.started = True
        self.stories = stories
        self.entries = {e.key: e for e in entries}
        self.last_digest = str(last_digest) if last_digest else None
        self.last_release = last_release

    # -- writing -------------------------------------------------------------------------
    def save(self) -> None:
        """Write the journal (atomically, durably).

        Raises:
            UserError: the folder cannot be written (names the file).
        """
        doc = {
            "format": _FORMAT,
            "channel": self.channel,
            "stories": dict(sorted(self.stories.items())),
            "last_digest": self.last_digest,
            "last_release": self.last_release,
            "entries": [e.to_json() for e in self.entries.values()],
        }
        data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        try:
            _write_durable(self.file, data)
        except OSError as exc:
            raise UserError(
                f"cannot write the journal: {exc.strerror}", where=str(self.file)
            ) from None
        self.started = True

    def record_start(self, known: Mapping[str, str]) -> None:
        """The channel's starting point: ``known`` story revisions count as announced."""
        if known:
            for path, revision in known.items():
                self.known.setdefault(path, revision)
            self._save_known()  # before the journal that relies on it
        self.save()

    def begin(self, entry: JournalEntry) -> None:
        """Record ``entry`` as pending (before its send)."""
        entry.state, entry.at, entry.error = "pending", _now(), ""
        self.entries[entry.key] = entry
        self.save()

    def finish(self, key: str, receipt: Receipt, *, digest_at: datetime | None = None) -> None:
        """Record the pending ``key`` as sent with ``receipt`` (after its send); ``digest_at``:
        it was the digest of the period containing that moment."""
        entry = self.entries[key]
        entry.state, entry.at = "sent", _now()
        entry.ids, entry.counts, entry.notes = receipt.ids, dict(receipt.counts), receipt.notes
        for path, revision in entry.stories:
            self.stories[path] = revision
        if digest_at is not None:
            self.last_digest = digest_at.astimezone(UTC).isoformat()
        self.last_release = max(self.last_release or 0, entry.release)
        sent = [k for k, e in self.entries.items() if e.state == "sent"]
        for old in sent[: max(len(sent) - _KEEP_SENT, 0)]:
            del self.entries[old]
        if len(self.stories) > _COMPACT_AT:
            self.known.update(self.stories)
            self._save_known()  # both files hold them for a moment: harmless
            self.stories = {}
        self.save()

    def fail(self, key: str, error: str) -> None:
        """Record ``key`` as failed: it was not delivered and a re-run sends it again."""
        entry = self.entries[key]
        entry.state, entry.at, entry.error = "failed", _now(), error[:500]
        self.save()

    def forget(self, key: str) -> None:
        """Drop an unsent entry (a failed one whose stories are now planned anew)."""
        entry = self.entries.get(key)
        if entry is not None and entry.state != "sent":
            del self.entries[key]

    # -- questions -----------------------------------------------------------------------
    def unsettled(self) -> list[JournalEntry]:
        """Entries not yet sent, oldest first."""
        return [e for e in self.entries.values() if e.state != "sent"]

    def held_paths(self) -> set[str]:
        """Paths carried by an unsettled entry: never planned into another announcement."""
        return {path for e in self.unsettled() for path, _ in e.stories}


@contextlib.contextmanager
def open_journal(cache_dir: Path, channel: str, *, lock: bool = True) -> Iterator[Journal]:
    """The journal of ``channel``, locked for this run (``lock=False``: a dry run, read-only).

    Raises:
        UserError: another run holds the lock; the journal is damaged or unreadable.
    """
    journal = Journal(journal_file(cache_dir, channel), channel)
    if not lock:
        journal._load()
        yield journal
        return
    lock_file = journal.file.with_name(f"{channel}.lock")
    try:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise UserError(f"cannot open the lock: {exc.strerror}", where=str(lock_file)) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"another 'tamizdat announce' is running for channel {channel!r}",
                where=str(lock_file),
                hint="wait for it to finish",
            ) from None
        journal._load()
        yield journal
    finally:
        os.close(fd)  # releases the lock
