"""A process per mirror: results and progress come back, a dead worker is reported as that
mirror's failure, and publish_release in process mode pushes every mirror completely."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from releasekit import article_files, check_consistent, directory_reader, write_release

from tamizdat.config.mirrors import MirrorSettings
from tamizdat.progress import Progress
from tamizdat.publish.forked import fork_available, run_forked
from tamizdat.publish.push import publish_release
from tamizdat.publish.stores import open_store

pytestmark = pytest.mark.skipif(not fork_available(), reason="needs os.fork")


def test_results_come_back_in_order_with_progress_and_the_child_pid() -> None:
    seen: list[tuple[str, int, int | None, str]] = []

    def work(index: int, progress: Progress) -> tuple[int, int]:
        progress(f"job{index}", 1, 1, "done")
        return index * 10, os.getpid()

    results = run_forked(
        3,
        work,
        lambda i, why: (-1, 0),
        lambda task, done, total, detail="": seen.append((task, done, total, detail)),
    )
    assert [r[0] for r in results] == [0, 10, 20]
    assert os.getpid() not in {r[1] for r in results}  # each ran in a child
    assert sorted(seen) == [(f"job{i}", 1, 1, "done") for i in range(3)]


def test_a_killed_or_crashing_worker_fails_only_its_own_job() -> None:
    def work(index: int, progress: Progress) -> str:
        if index == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        if index == 1:
            raise RuntimeError("bug in the store client")
        return "ok"

    results = run_forked(3, work, lambda i, why: f"failed: {why}", None)
    assert results[0] == "failed: the worker process for this mirror died (killed by signal 9)"
    assert results[1].startswith("failed: internal error: RuntimeError")
    assert results[2] == "ok"


def test_publish_in_process_mode_pushes_each_mirror_completely(tmp_path: Path) -> None:
    release = tmp_path / "release"
    files = write_release(release, 1, article_files(1))
    mirrors = [
        MirrorSettings(n, f"file://{tmp_path / n}", f"https://{n}.example/", (), True, None, None)
        for n in ("a", "b", "c")
    ]
    progress: set[str] = set()
    report = publish_release(
        release,
        mirrors,
        open_store=open_store,
        state_dir=tmp_path / "journal",
        processes=True,
        progress=lambda task, done, total, detail="": progress.add(task),
    )
    assert [m.ok for m in report.mirrors] == [True, True, True], report.to_json()
    assert progress == {"a", "b", "c"}
    for m in report.mirrors:
        assert m.uploaded_objects == len(files) + 1  # + the state file
        assert check_consistent(directory_reader(tmp_path / m.name)) == 1
    again = publish_release(
        release, mirrors, open_store=open_store, state_dir=tmp_path / "journal", processes=True
    )
    assert [m.uploaded_objects for m in again.mirrors] == [0, 0, 0]
