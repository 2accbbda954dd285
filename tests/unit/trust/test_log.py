"""The publication log: a deterministic, append-only hash chain."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tamizdat.errors import LogForkError, TamperedError
from tamizdat.trust.log import (
    PublicationLog,
    append_entry,
    check_extends,
    parse_log,
    path_history,
    serialize_log,
)

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


def test_append_chains_entries_and_sorts_paths() -> None:
    log = _three()
    assert [e.index for e in log.entries] == [0, 1, 2]
    assert log.entries[0].previous == ""
    assert log.entries[1].previous == log.entries[0].hash
    assert log.entries[0].added == ("a.html", "b.html")
    assert log.head == (2, log.entries[2].hash)


def test_serialize_parse_round_trip_is_byte_identical() -> None:
    data = serialize_log(_three())
    again = parse_log(data, "log.json")
    assert again == _three()
    assert serialize_log(again) == data
    assert json.loads(data)["format"] == "tamizdat-log"


def test_empty_log_round_trip_and_head() -> None:
    empty = parse_log(serialize_log(PublicationLog()), "x")
    assert empty.head == (-1, "")
    assert _three().extends(-1, "")


def test_extends_accepts_prefix_and_rejects_other_history() -> None:
    log = _three()
    first = log.entries[0]
    assert log.extends(0, first.hash)
    assert not log.extends(0, "00" * 32)
    assert not log.extends(7, first.hash)
    with pytest.raises(LogForkError, match="extend entry 7"):
        check_extends(log, 7, first.hash, "mirror-a")


def test_rewritten_entry_breaks_the_chain() -> None:
    document = json.loads(serialize_log(_three()))
    document["entries"][0]["added"] = ["evil.html"]
    with pytest.raises(LogForkError, match=r"log\.json: entry 1"):
        parse_log(json.dumps(document).encode(), "log.json")


def test_reordered_index_is_refused() -> None:
    document = json.loads(serialize_log(_three()))
    document["entries"][1]["index"] = 5
    with pytest.raises(LogForkError, match="expected index 1"):
        parse_log(json.dumps(document).encode(), "m")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(format="other"),
        lambda d: d["entries"][0].update(time="yesterday"),
        lambda d: d["entries"][0].update(snapshot_sha256="zz"),
        lambda d: d["entries"][0].update(added=["b", "a"]),
        lambda d: d["entries"][0].update(extra=1),
        lambda d: d["entries"][0].update(version=-1),
    ],
)
def test_malformed_documents_are_tampered(mutate: object) -> None:
    document = json.loads(serialize_log(_three()))
    mutate(document)  # type: ignore[operator]
    with pytest.raises(TamperedError):
        parse_log(json.dumps(document).encode(), "m")


def test_not_json_is_tampered() -> None:
    with pytest.raises(TamperedError, match=r"where\.json: expected a JSON"):
        parse_log(b"\xff{", "where.json")


def test_version_must_increase() -> None:
    with pytest.raises(LogForkError, match="above 5"):
        append_entry(_three(), version=5, time="2026-01-04T00:00:00Z", snapshot_sha256=SNAP)


def test_path_history_lists_each_event() -> None:
    events = path_history(_three(), "a.html")
    assert [(e.kind, e.version) for e in events] == [("added", 1), ("changed", 2), ("removed", 5)]
    assert path_history(_three(), "zzz") == []
