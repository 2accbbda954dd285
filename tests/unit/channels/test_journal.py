"""The per-channel journal: pending before a send, sent after, written whole every time, one
run per channel at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tamizdat.channels import journal as journal_module
from tamizdat.channels.announce import Receipt
from tamizdat.channels.journal import JournalEntry, journal_file, known_file, open_journal
from tamizdat.errors import UserError


def entry(key: str, *paths: str) -> JournalEntry:
    return JournalEntry(key, "pending", "en", 3, tuple((p, "2026-03-01") for p in paths))


def test_pending_then_sent_records_the_stories_and_the_receipt(tmp_path: Path) -> None:
    with open_journal(tmp_path, "tg") as journal:
        assert journal.started is False
        journal.begin(entry("k1", "/en/a/", "/en/b/"))
        on_disk = json.loads(journal_file(tmp_path, "tg").read_text())
        assert on_disk["entries"][0]["state"] == "pending"
        assert on_disk["stories"] == {}
        assert journal.held_paths() == {"/en/a/", "/en/b/"}
        journal.finish("k1", Receipt(ids=("41", "42"), counts={"messages": 2}))
    with open_journal(tmp_path, "tg") as again:
        assert again.started is True
        assert again.stories == {"/en/a/": "2026-03-01", "/en/b/": "2026-03-01"}
        (done,) = again.entries.values()
        assert (done.state, done.ids) == ("sent", ("41", "42"))
        assert again.unsettled() == []
    leftovers = [p.name for p in journal_file(tmp_path, "tg").parent.iterdir()]
    assert sorted(leftovers) == ["tg.journal.json", "tg.lock"]  # no temp file left behind


def test_a_failed_entry_keeps_its_stories_unannounced(tmp_path: Path) -> None:
    with open_journal(tmp_path, "tg") as journal:
        journal.begin(entry("k1", "/en/a/"))
        journal.fail("k1", "server down " * 100)
    with open_journal(tmp_path, "tg") as again:
        (failed,) = again.unsettled()
        assert failed.state == "failed"
        assert len(failed.error) == 500
        assert again.stories == {}


def test_one_run_per_channel_at_a_time(tmp_path: Path) -> None:
    with open_journal(tmp_path, "tg"):
        with (
            pytest.raises(UserError, match="another 'tamizdat announce' is running"),
            open_journal(tmp_path, "tg"),
        ):
            pass
        with open_journal(tmp_path, "mail"):  # another channel is independent
            pass
        with open_journal(tmp_path, "tg", lock=False):  # a dry run only reads
            pass
    with open_journal(tmp_path, "tg"):  # released
        pass


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"[]",
        b'{"format": 2, "channel": "tg", "stories": {}, "entries": []}',
        b'{"format": 1, "channel": "other", "stories": {}, "entries": []}',
        b'{"format": 1, "channel": "tg", "stories": {}, "entries": [{"state": "lost"}]}',
        b'{"format": 1, "channel": "tg", "stories": [], "entries": []}',
        b"\xff\xfe",
    ],
)
def test_a_damaged_journal_is_refused_naming_the_file(tmp_path: Path, content: bytes) -> None:
    file = journal_file(tmp_path, "tg")
    file.parent.mkdir(parents=True)
    file.write_bytes(content)
    with pytest.raises(UserError, match="damaged") as caught, open_journal(tmp_path, "tg"):
        pass
    assert caught.value.where == str(file)
    assert file.read_bytes() == content


def test_the_starting_point_and_old_stories_live_in_the_known_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "_COMPACT_AT", 2)  # compact after a few stories
    with open_journal(tmp_path, "tg") as journal:
        journal.record_start({f"/en/old{i}/": "2020-01-01" for i in range(500)})
        for index in range(3):
            journal.begin(entry(f"k{index}", f"/en/new{index}/"))
            journal.finish(f"k{index}", Receipt(ids=(str(index),)))
    journal_doc = json.loads(journal_file(tmp_path, "tg").read_text())
    known_doc = json.loads(known_file(tmp_path, "tg").read_text())
    assert journal_doc["stories"] == {}  # moved out: the journal stays small
    assert len(known_doc["stories"]) == 503
    with open_journal(tmp_path, "tg") as again:
        assert again.revision_of("/en/old7/") == "2020-01-01"
        assert again.revision_of("/en/new2/") == "2026-03-01"
        assert again.revision_of("/en/never/") is None


def test_a_damaged_known_file_is_refused_naming_it(tmp_path: Path) -> None:
    file = known_file(tmp_path, "tg")
    file.parent.mkdir(parents=True)
    file.write_bytes(b'{"format": 1, "channel": "tg", "stories": ["x"]}')
    with pytest.raises(UserError, match="damaged") as caught, open_journal(tmp_path, "tg"):
        pass
    assert caught.value.where == str(file)
