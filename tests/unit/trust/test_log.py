"""The publication log: a deterministic, append-only hash chain of small immutable files."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from tamizdat.errors import InternalError, LogForkError, OversizeError, TamperedError
from tamizdat.layout import LOG_JSON, by_hash_path, log_entry_path, log_paths_path
from tamizdat.trust.log import (
    INLINE_PATHS_MAX,
    LogHead,
    LogLimits,
    PublicationLog,
    parse_head,
    path_history,
)
from tamizdat.trust.log_chain import check_extends, fetch_chain, read_log
from tamizdat.trust.sign.log_writer import append_entry, log_files

SNAP = "ab" * 32


def _three() -> PublicationLog:
    log = append_entry(
        PublicationLog(),
        version=1,
        time=datetime(2026, 1, 1, tzinfo=UTC),
        snapshot_sha256=SNAP,
        added=["b.html", "a.html"],
    )
    log = append_entry(
        log, version=2, time="2026-01-02T00:00:00Z", snapshot_sha256=SNAP, changed=["a.html"]
    )
    return append_entry(
        log, version=5, time="2026-01-03T00:00:00Z", snapshot_sha256=SNAP, removed=["a.html"]
    )


def _big_first() -> PublicationLog:
    paths = [f"en/news/2026/03/story-{i:05d}/index.html" for i in range(2000)]
    log = append_entry(
        PublicationLog(), version=1, time="2026-01-01T00:00:00Z", snapshot_sha256=SNAP, added=paths
    )
    return append_entry(
        log, version=2, time="2026-01-02T00:00:00Z", snapshot_sha256=SNAP, changed=[paths[7]]
    )


def _by_hash_store(log: PublicationLog) -> dict[str, bytes]:
    """What a mirror serves: every log file at its by-hash path (and the head)."""
    files = {}
    for path, data in log_files(log).items():
        files[by_hash_path(path, hashlib.sha256(data).hexdigest())] = data
        files[path] = data
    return files


class Recorder:
    """A fetch function over a dict that records what was asked for."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.asked: list[str] = []

    def __call__(self, path: str, cap: int) -> bytes:
        self.asked.append(path)
        data = self.files[path]
        if len(data) > cap:
            raise OversizeError(f"more than {cap}", where=path)
        return data


def _head(log: PublicationLog) -> LogHead:
    return parse_head(log_files(log)[LOG_JSON], LOG_JSON)


def test_append_chains_entries_and_sorts_paths() -> None:
    log = _three()
    assert [e.index for e in log.entries] == [0, 1, 2]
    assert log.entries[0].previous == ""
    assert log.entries[1].previous == log.entries[0].hash
    assert log.entries[0].added == ("a.html", "b.html")
    assert log.head == (2, log.entries[2].hash)


def test_files_are_canonical_and_an_entry_hash_is_its_file_hash() -> None:
    files = log_files(_three())
    assert set(files) == {LOG_JSON, *(log_entry_path(i) for i in range(3))}
    for entry in _three().entries:
        data = files[log_entry_path(entry.index)]
        assert hashlib.sha256(data).hexdigest() == entry.hash
        assert json.dumps(json.loads(data), sort_keys=True, separators=(",", ":")).encode() == data
    assert _head(_three()) == LogHead(2, _three().entries[2].hash)
    assert log_files(_three()) == files  # deterministic
    assert set(log_files(_three(), after=1)) == {LOG_JSON, log_entry_path(2)}


def test_empty_log_head_round_trip() -> None:
    head = parse_head(log_files(PublicationLog())[LOG_JSON], "x")
    assert head == LogHead(-1, "")
    assert fetch_chain(head, Recorder({}), first=0, where="x") == PublicationLog()
    assert _three().extends(-1, "")


def test_big_path_lists_live_in_their_own_file_and_the_entry_stays_small() -> None:
    log = _big_first()
    files = log_files(log)
    assert set(files) == {LOG_JSON, log_entry_path(0), log_entry_path(1), log_paths_path(0)}
    assert len(files[log_entry_path(0)]) < 400
    assert len(files[log_paths_path(0)]) > INLINE_PATHS_MAX
    assert len(files[log_entry_path(1)]) < 400  # one changed path: inline


def test_continuity_needs_neither_old_entries_nor_big_lists() -> None:
    log = _big_first()
    fetch = Recorder(_by_hash_store(log))
    chain = fetch_chain(_head(log), fetch, first=1, where="m")
    assert fetch.asked == [by_hash_path(log_entry_path(1), log.entries[1].hash)]
    assert not chain.complete
    check_extends(chain, 0, log.entries[0].hash, "m")  # links to the seen head: accepted
    assert chain.entries[0].changed == ("en/news/2026/03/story-00007/index.html",)


def test_full_chain_with_lists_matches_what_was_appended() -> None:
    log = _big_first()
    chain = fetch_chain(
        _head(log), Recorder(_by_hash_store(log)), first=0, where="m", with_lists=True
    )
    assert chain == log
    assert chain.complete
    events = path_history(chain, "en/news/2026/03/story-00007/index.html")
    assert [(e.kind, e.version) for e in events] == [("added", 1), ("changed", 2)]


def test_lists_not_fetched_are_not_guessed() -> None:
    log = _big_first()
    chain = fetch_chain(_head(log), Recorder(_by_hash_store(log)), first=0, where="m")
    with pytest.raises(InternalError, match="lists of log entry 0 were not loaded"):
        path_history(chain, "x")


def test_read_log_from_natural_paths() -> None:
    log = _big_first()
    files = log_files(log)
    assert read_log(files.__getitem__, "release") == log


def test_extends_accepts_prefix_and_rejects_other_history() -> None:
    log = _three()
    first = log.entries[0]
    assert log.extends(0, first.hash)
    assert not log.extends(0, "00" * 32)
    assert not log.extends(7, first.hash)
    with pytest.raises(LogForkError, match="extend entry 7"):
        check_extends(log, 7, first.hash, "mirror-a")


def test_a_tail_that_does_not_link_to_the_seen_head_is_a_fork() -> None:
    log = _three()
    tail = fetch_chain(_head(log), Recorder(_by_hash_store(log)), first=2, where="m")
    with pytest.raises(LogForkError, match=r"extend entry 1 .* naming previous"):
        check_extends(tail, 1, "00" * 32, "m")


def test_rewritten_entry_is_refused_by_hash() -> None:
    log = _three()
    files = _by_hash_store(log)
    location = by_hash_path(log_entry_path(1), log.entries[1].hash)
    files[location] = files[location].replace(b"a.html", b"z.html")
    with pytest.raises(TamperedError, match="the bytes the log chain names"):
        fetch_chain(_head(log), Recorder(files), first=0, where="m")


def test_altered_lists_file_is_refused_by_hash() -> None:
    log = _big_first()
    files = _by_hash_store(log)
    ref = log.entries[0].ref
    assert ref is not None
    location = by_hash_path(log_paths_path(0), ref.sha256)
    files[location] = files[location].replace(b"story-00001", b"story-99999")
    with pytest.raises(TamperedError, match="log chain names"):
        fetch_chain(_head(log), Recorder(files), first=0, where="m", with_lists=True)


def test_a_chain_whose_entry_sits_at_another_index_is_a_fork() -> None:
    # The head names entry 1's bytes as entry 2: the file says index 1.
    log = _three()
    files = _by_hash_store(log)
    entry = log.entries[1]
    files[by_hash_path(log_entry_path(2), entry.hash)] = entry.data
    with pytest.raises(LogForkError, match="expected index 2, found 1"):
        fetch_chain(LogHead(2, entry.hash), Recorder(files), first=0, where="m")


def test_versions_must_increase_along_the_chain() -> None:
    log = append_entry(
        PublicationLog(), version=4, time="2026-01-01T00:00:00Z", snapshot_sha256=SNAP
    )
    forged = PublicationLog(
        (
            *log.entries,
            append_entry(log, version=5, time="2026-01-01T00:00:00Z", snapshot_sha256=SNAP).entries[
                -1
            ],
        )
    )
    raw = json.loads(forged.entries[1].data)
    raw["version"] = 3
    data = json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(data).hexdigest()
    files = _by_hash_store(log)
    files[by_hash_path(log_entry_path(1), digest)] = data
    with pytest.raises(LogForkError, match="expected a version below 3, found 4"):
        fetch_chain(LogHead(1, digest), Recorder(files), first=0, where="m")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(time="yesterday"),
        lambda d: d.update(snapshot_sha256="zz"),
        lambda d: d.update(paths={"added": ["b", "a"], "changed": [], "removed": []}),
        lambda d: d.update(extra=1),
        lambda d: d.update(version=-1),
        lambda d: d.update(paths={"counts": [1, 0, 0], "length": 10, "sha256": SNAP}),
    ],
)
def test_malformed_entries_are_tampered(mutate: object) -> None:
    log = _three()
    raw = json.loads(log.entries[2].data)
    mutate(raw)  # type: ignore[operator]
    data = json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(data).hexdigest()
    files = {by_hash_path(log_entry_path(2), digest): data}
    with pytest.raises(TamperedError):
        fetch_chain(LogHead(2, digest), Recorder(files), first=2, where="m")


@pytest.mark.parametrize(
    "document",
    [
        b"\xff{",
        b'{"format":"other","head":{"hash":"","index":-1,"path":""},"spec_version":2}',
        b'{"format":"tamizdat-log","head":{"hash":"","index":-1,"path":""},"spec_version":1}',
        b'{"format":"tamizdat-log","head":{"hash":"","index":3,"path":""},"spec_version":2}',
        b'{"format":"tamizdat-log","head":{"hash":"'
        + SNAP.encode()
        + b'","index":3,"path":".well-known/tamizdat/log/2.json"},"spec_version":2}',
    ],
)
def test_malformed_heads_are_tampered(document: bytes) -> None:
    with pytest.raises(TamperedError, match=r"^log\.json: expected"):
        parse_head(document, "log.json")


def test_an_entry_above_the_limit_is_endless_data() -> None:
    log = _three()
    with pytest.raises(OversizeError, match="more than 10"):
        fetch_chain(
            _head(log),
            Recorder(_by_hash_store(log)),
            first=0,
            where="m",
            limits=LogLimits(entry_max_bytes=10),
        )
    with pytest.raises(OversizeError, match="at most 2 log entries"):
        fetch_chain(
            _head(log),
            Recorder(_by_hash_store(log)),
            first=0,
            where="m",
            limits=LogLimits(max_entries=2),
        )


def test_version_must_increase() -> None:
    with pytest.raises(LogForkError, match="above 5"):
        append_entry(_three(), version=5, time="2026-01-04T00:00:00Z", snapshot_sha256=SNAP)


def test_path_history_lists_each_event() -> None:
    events = path_history(_three(), "a.html")
    assert [(e.kind, e.version) for e in events] == [("added", 1), ("changed", 2), ("removed", 5)]
    assert path_history(_three(), "zzz") == []


def test_a_head_above_the_limit_is_refused_before_parsing() -> None:
    head = log_files(_three())[LOG_JSON]
    assert parse_head(head, "h", limits=LogLimits(head_max_bytes=len(head))).index == 2
    padded = head[:-1] + b" " * 5000 + b"}"  # still valid JSON, only bigger
    with pytest.raises(OversizeError, match="at most 4096 bytes"):
        parse_head(padded, "h")
    with pytest.raises(OversizeError, match="at most 10 bytes"):
        parse_head(head, "h", limits=LogLimits(head_max_bytes=10))
