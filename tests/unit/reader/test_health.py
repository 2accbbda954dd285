"""The reader's memory of its mirrors: the ones that delivered go first, recent failures last."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tamizdat.reader.health import (
    FORGIVE_AFTER,
    MEMORY_FILE,
    MirrorMemory,
    load_memory,
    order_mirrors,
    remember_sync,
)
from tamizdat.transport.failover import MirrorNote

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
A, B, C, D = (f"https://m{n}.example/" for n in range(1, 5))


def _at(delta: timedelta) -> str:
    return (NOW + delta).isoformat()


def test_a_sync_is_remembered_and_orders_the_next_one(tmp_path: Path) -> None:
    notes = [MirrorNote(A, "timestamp.json", "unreachable", "did not answer within 2 s")]
    remember_sync(tmp_path, {}, {C: 0.5, B: 0.04}, notes, NOW)
    memory = load_memory(tmp_path)
    assert memory[A] == MirrorMemory(failed=NOW.isoformat(), problem="did not answer within 2 s")
    assert memory[B].seconds == 0.04
    # Delivered (quickest first), then never seen, then failed recently.
    assert order_mirrors([A, B, C, D], memory, NOW + timedelta(minutes=5)) == [B, C, D, A]


def test_a_failure_is_forgiven_after_a_while() -> None:
    memory = {A: MirrorMemory(failed=NOW.isoformat(), problem="refused the connection")}
    assert order_mirrors([A, B], memory, NOW + timedelta(minutes=1)) == [B, A]
    assert order_mirrors([A, B], memory, NOW + FORGIVE_AFTER + timedelta(seconds=1)) == [A, B]


def test_a_mirror_that_delivered_after_failing_is_trusted_again() -> None:
    memory = {A: MirrorMemory(ok=_at(timedelta(0)), seconds=0.2, failed=_at(-timedelta(hours=1)))}
    assert order_mirrors([B, A], memory, NOW) == [A, B]


def test_a_missing_file_is_no_failure(tmp_path: Path) -> None:
    notes = [MirrorNote(A, "x.html", "missing", "no file x.html (HTTP 404)")]
    memory = remember_sync(tmp_path, {}, {A: 0.1}, notes, NOW)
    assert memory[A].failed is None
    assert memory[A].ok == NOW.isoformat()


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[1, 2]", b'{"https://m1.example/": 5}',
     b'{"https://m1.example/": {"ok": 5, "seconds": "fast", "failed": [], "problem": 1}}'],
)  # fmt: skip
def test_an_unreadable_memory_is_no_memory(tmp_path: Path, content: bytes) -> None:
    (tmp_path / MEMORY_FILE).write_bytes(content)
    memory = load_memory(tmp_path)
    assert all(entry == MirrorMemory() for entry in memory.values())
    assert order_mirrors([A, B], memory, NOW) == [A, B]


def test_a_store_that_cannot_be_written_keeps_the_sync_going(tmp_path: Path) -> None:
    (tmp_path / MEMORY_FILE).mkdir()  # a folder where the file should go: write fails
    memory = remember_sync(tmp_path, {}, {A: 0.1}, [], NOW)
    assert memory[A].ok == NOW.isoformat()
    assert (tmp_path / MEMORY_FILE).is_dir()  # nothing was replaced
