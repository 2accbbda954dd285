"""Everything the command line prints goes through here: results, progress, errors.

Human output goes to stdout; progress and errors go to stderr; ``--json`` replaces the
human result with one JSON document on stdout (errors too, as ``{"error": …}``).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from tamizdat.errors import ExitCode, TamizdatError

__all__ = ["Output", "report_error"]


class Output:
    """The one place commands write to the terminal."""

    def __init__(
        self,
        *,
        json_mode: bool = False,
        quiet: bool = False,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.json_mode = json_mode
        self.quiet = quiet
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._last_draw = 0.0
        self._drawn = False

    def say(self, text: str = "") -> None:
        """A line of the human result (suppressed in ``--json`` mode)."""
        if not self.json_mode:
            print(text, file=self.stdout)

    def note(self, text: str) -> None:
        """A side remark on stderr (warnings, hints); shown in every mode unless quiet."""
        if not self.quiet:
            self._clear()
            print(text, file=self.stderr)

    def warn(self, text: str) -> None:
        self.note(f"warning: {text}")

    def result(self, data: Any, human: Callable[[], None] | None = None) -> None:
        """Emit the command's result: JSON in ``--json`` mode, else call ``human``."""
        self._clear()
        if self.json_mode:
            json.dump(data, self.stdout, ensure_ascii=False, indent=2, sort_keys=True, default=str)
            self.stdout.write("\n")
        elif human is not None:
            human()

    def progress(self, task: str, done: int, total: int | None, detail: str = "") -> None:
        """Draw a one-line progress indicator on stderr (a terminal only, throttled)."""
        if self.quiet or not self.stderr.isatty():
            return
        now = time.monotonic()
        finished = total is not None and done >= total
        if not finished and now - self._last_draw < 0.1:
            return
        self._last_draw = now
        if total:
            width = 24
            filled = int(width * min(done, total) / total)
            bar = "█" * filled + "·" * (width - filled)
            line = f"{task:<18} {bar} {done}/{total} {detail}"
        else:
            line = f"{task:<18} {done} {detail}"
        self.stderr.write("\r\x1b[2K" + line[:120])
        self.stderr.flush()
        self._drawn = True
        if finished:
            self.stderr.write("\n")
            self._drawn = False

    def _clear(self) -> None:
        if self._drawn:
            self.stderr.write("\r\x1b[2K")
            self.stderr.flush()
            self._drawn = False


def report_error(out: Output, error: TamizdatError) -> int:
    """Print one ``error: …`` line (and ``hint: …``) and return the exit code."""
    out._clear()
    if out.json_mode:
        payload = {
            "error": {
                "type": type(error).__name__,
                "message": error.message,
                "where": error.where,
                "hint": error.hint,
                "exit_code": int(error.exit_code),
            }
        }
        json.dump(payload, out.stdout, ensure_ascii=False, indent=2, sort_keys=True)
        out.stdout.write("\n")
    print(f"error: {error}", file=out.stderr)
    if error.hint:
        print(f"hint: {error.hint}", file=out.stderr)
    return int(error.exit_code)


def internal_error(out: Output, exc: BaseException) -> int:
    print(f"error: internal error: {type(exc).__name__}: {exc}", file=out.stderr)
    print("hint: this is a bug in tamizdat; run with --debug for the traceback", file=out.stderr)
    return int(ExitCode.INTERNAL)
