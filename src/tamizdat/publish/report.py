"""What a publish did (or, in a dry run, would do), per mirror: the ``--json`` report.

Invariant: plain frozen data, picklable, so a forked per-mirror worker can send its report
back to the publishing process unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["MirrorReport", "PublishReport"]


@dataclass(frozen=True, slots=True)
class MirrorReport:
    """What happened (or would happen, in a dry run) on one mirror."""

    name: str
    ok: bool
    error: str | None
    planned: dict[str, tuple[int, int]]
    uploaded_objects: int
    uploaded_bytes: int
    deleted: int
    seconds: float
    paths: tuple[str, ...] = ()
    # What the store did about cross-origin reads (see tamizdat.publish.cors.CorsOutcome);
    # None in a dry run or when the push failed first.
    cors_state: str | None = None
    cors_detail: str | None = None
    # The failure's exit code (tamizdat.errors.ExitCode): a user or configuration error on
    # one mirror is not the mirror being unreachable.
    exit_code: int | None = None

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "name": self.name,
            "ok": self.ok,
            "error": self.error,
            "planned": {k: {"objects": c, "bytes": b} for k, (c, b) in self.planned.items()},
            "uploaded_objects": self.uploaded_objects,
            "uploaded_bytes": self.uploaded_bytes,
            "deleted": self.deleted,
            "seconds": round(self.seconds, 3),
        }
        if self.exit_code is not None:
            doc["exit_code"] = self.exit_code
        if self.paths:
            doc["paths"] = list(self.paths)
        if self.cors_state is not None:
            doc["cors"] = {"state": self.cors_state, "detail": self.cors_detail}
        return doc


@dataclass(frozen=True, slots=True)
class PublishReport:
    """The outcome on every selected mirror."""

    version: int
    dry_run: bool
    mirrors: tuple[MirrorReport, ...]
    seconds: float

    @property
    def failed(self) -> tuple[MirrorReport, ...]:
        return tuple(m for m in self.mirrors if not m.ok)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "dry_run": self.dry_run,
            "seconds": round(self.seconds, 3),
            "failed": [m.name for m in self.failed],
            "mirrors": [m.to_json() for m in self.mirrors],
        }
