"""Run one job per mirror in its own forked process, so several mirrors use several cores.

Why processes: every store client (botocore, paramiko, fsspec) spends Python time per
object, and threads of one interpreter share one lock, so three mirrors pushed from threads
take about the sum of their times. A forked child shares the parent's read-only state (the
release manifest, settings, even closures) without pickling it; only progress and the result
come back, over a pipe.

Invariant: every job yields exactly one result — its own, or the ``failed`` one naming how
its process ended (killed by a signal, crashed) — and a dead child never blocks the parent.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

from tamizdat.progress import Progress

__all__ = ["fork_available", "run_forked"]

log = logging.getLogger(__name__)
T = TypeVar("T")


def fork_available() -> bool:
    """Whether this platform can fork (POSIX); elsewhere callers fall back to threads."""
    return "fork" in multiprocessing.get_all_start_methods()


def _child(
    index: int, work: Callable[[int, Progress], T], failed: Callable[[int, str], T], out: Connection
) -> None:
    def report(task: str, done: int, total: int | None, detail: str = "") -> None:
        out.send(("progress", (task, done, total, detail)))

    try:
        result = work(index, report)
    except BaseException as exc:  # a bug on one mirror must still come back as its result
        log.exception("internal error in the worker for job %d", index)
        result = failed(index, f"internal error: {exc!r}")
    out.send(("result", result))
    out.close()


def run_forked(
    count: int,
    work: Callable[[int, Progress], T],
    failed: Callable[[int, str], T],
    progress: Progress | None,
    names: Sequence[str] = (),
) -> list[T]:
    """``[work(i, progress) for i in range(count)]``, each call in a forked child, at once.

    ``progress`` is called in this process, from this thread, as the children report.
    A child that ends without a result gets ``failed(i, why)``. Never raises for a child's
    failure.
    """
    ctx = multiprocessing.get_context("fork")
    readers: dict[Connection, int] = {}
    procs: list[Any] = []
    for index in range(count):
        reader, writer = ctx.Pipe(duplex=False)
        name = names[index] if index < len(names) else str(index)
        proc = ctx.Process(
            target=_child, args=(index, work, failed, writer), name=f"publish-{name}", daemon=True
        )
        proc.start()
        writer.close()  # the child holds the only writer: EOF here means it is gone
        readers[reader] = index
        procs.append(proc)
    results: dict[int, T] = {}
    while readers:
        for ready in wait(list(readers)):
            conn = ready if isinstance(ready, Connection) else None
            if conn is None:
                continue
            index = readers[conn]
            try:
                kind, payload = conn.recv()
            except (EOFError, OSError):
                del readers[conn]
                conn.close()
                continue
            if kind == "progress" and progress is not None:
                progress(*payload)
            elif kind == "result":
                results[index] = payload
    for index, proc in enumerate(procs):
        proc.join()
        if index not in results:
            code = proc.exitcode
            why = f"killed by signal {-code}" if code is not None and code < 0 else f"exit {code}"
            results[index] = failed(index, f"the worker process for this mirror died ({why})")
    log.debug("forked jobs done in pid %d", os.getpid())
    return [results[i] for i in range(count)]
