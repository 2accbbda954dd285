"""Progress reporting from library code without printing.

Long operations accept ``progress: Progress | None``; the CLI passes a reporter that draws
on stderr. Library code never prints.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["Progress", "report"]


class Progress(Protocol):
    """Told how far a named task has come. ``total`` may be unknown (``None``)."""

    def __call__(self, task: str, done: int, total: int | None, detail: str = "") -> None: ...


def report(
    progress: Progress | None, task: str, done: int, total: int | None, detail: str = ""
) -> None:
    """Call ``progress`` if there is one."""
    if progress is not None:
        progress(task, done, total, detail)
