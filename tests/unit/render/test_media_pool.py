"""The build's worker pool (``run_forked``): errors come back intact, and no failure, stuck
worker or Ctrl-C leaves the parent waiting forever or a worker process behind.

Every wait here is bounded by small ``PoolLimits``; none of these tests asserts on speed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from tamizdat.errors import ContentError, InternalError
from tamizdat.render.media import PoolLimits, run_forked, stop_requested

SHORT = PoolLimits(task_timeout=1.0, stop_timeout=1.0)
PATIENT = PoolLimits(task_timeout=60.0, stop_timeout=60.0)


# Tasks are pickled by name, so they live at module level.
def _sigint_ignored(_item: int) -> bool:
    return signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def _fail_on_three(item: int) -> int:
    if item == 3:
        raise ContentError("not a readable image", where="media/three.jpg:1", hint="re-export it")
    return item


def _crash(_item: int) -> int:
    raise ZeroDivisionError("division by zero in a worker")


def _hang_on_zero(item: int) -> int:
    if item == 0:
        time.sleep(3600)  # stands for a worker stuck forever; it is killed by the pool
    return item


def _die(_item: int) -> int:
    os._exit(3)


def _wait_for(path: Path) -> None:
    for _ in range(2000):  # at most ~20 s: a lost signal fails the test, never hangs it
        if path.exists():
            return
        time.sleep(0.01)


def _fail_or_wait_for_stop(item: tuple[int, str]) -> int:
    number, marker_dir = item
    if number == 0:
        _wait_for(Path(marker_dir, "task-1-running"))  # fail only while task 1 runs
        raise ContentError("first task fails", where="content/a0.md:2")
    Path(marker_dir, "task-1-running").touch()
    for _ in range(2000):  # at most ~20 s, as above
        if stop_requested():
            Path(marker_dir, "task-1-saw-stop").touch()
            return number
        time.sleep(0.01)
    return number


def _no_children_left() -> None:
    assert multiprocessing.active_children() == []


def test_results_all_arrive() -> None:
    got: dict[int, int] = {}
    run_forked(_fail_on_three, [0, 1, 2, 4, 5], 2, got.__setitem__, SHORT)
    assert got == {0: 0, 1: 1, 2: 2, 4: 4, 5: 5}
    _no_children_left()


def test_workers_ignore_ctrl_c() -> None:
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN itself when run under nohup or '&'
    got: dict[int, bool] = {}
    run_forked(_sigint_ignored, [0, 1], 2, got.__setitem__, SHORT)
    assert got == {0: True, 1: True}
    assert signal.getsignal(signal.SIGINT) is before  # the parent's own handling is untouched


def test_error_keeps_type_message_where_and_hint() -> None:
    with pytest.raises(ContentError) as caught:
        run_forked(_fail_on_three, list(range(8)), 2, lambda _i, _r: None, PATIENT)
    assert caught.value.message == "not a readable image"
    assert caught.value.where == "media/three.jpg:1"
    assert caught.value.hint == "re-export it"
    _no_children_left()


def test_other_exception_becomes_internal_error() -> None:
    with pytest.raises(InternalError, match="work failed: ZeroDivisionError: division by zero"):
        run_forked(_crash, [1, 2], 2, lambda _i, _r: None, PATIENT)
    _no_children_left()


def test_running_tasks_see_the_stop_flag(tmp_path: Path) -> None:
    items = [(0, str(tmp_path)), (1, str(tmp_path))]
    with pytest.raises(ContentError, match="first task fails"):
        run_forked(_fail_or_wait_for_stop, items, 2, lambda _i, _r: None, PATIENT)
    # Task 1 was running when task 0 failed; the pool waits for it before returning, and
    # it returned because of the flag (else it would still be polling, with no marker).
    assert (tmp_path / "task-1-saw-stop").exists()
    _no_children_left()


def test_stuck_worker_is_an_internal_error_not_a_hang() -> None:
    with pytest.raises(InternalError, match="no worker finished a task within 1 s"):
        run_forked(_hang_on_zero, [0], 1, lambda _i, _r: None, SHORT)
    _no_children_left()  # the stuck worker was killed, not left running


def test_dead_worker_is_an_internal_error() -> None:
    with pytest.raises(InternalError, match="worker process died"):
        run_forked(_die, [1, 2], 2, lambda _i, _r: None, PATIENT)
    _no_children_left()


def test_ctrl_c_in_the_parent_stops_every_worker() -> None:
    def interrupted(_item: int, _result: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_forked(_fail_on_three, [0, 1, 2], 2, interrupted, PATIENT)
    _no_children_left()
