"""What one mirror needs: uploads per phase, the next state file, and what to delete after.

Invariant: the plan is computed from one listing of the mirror (plus the local journal)
before anything moves, so a dry run and a real run agree, and a re-run after an
interruption plans only what is still missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tamizdat.errors import RollbackError
from tamizdat.layout import METADATA_DIR, TARGETS_DIR
from tamizdat.publish.headers import PUBLISH_STATE, TEMP_PREFIX, Phase, classify
from tamizdat.publish.release import ReleaseFile, ReleaseManifest
from tamizdat.publish.state import Journal, PublishState, plan_prune

__all__ = ["MirrorPlan", "plan_mirror"]


@dataclass(frozen=True, slots=True)
class MirrorPlan:
    """Everything one push to one mirror will do, in order."""

    uploads: tuple[ReleaseFile, ...]
    state: bytes | None  # new publish-state.json, or None if unchanged
    delete_after: tuple[str, ...]  # pruned by-hash objects, stale pages, temp leftovers

    def phase_totals(self) -> dict[str, tuple[int, int]]:
        """``phase name → (objects, bytes)`` for the report."""
        totals: dict[str, tuple[int, int]] = {}
        for item in self.uploads:
            count, size = totals.get(item.phase.name.lower(), (0, 0))
            totals[item.phase.name.lower()] = (count + 1, size + item.size)
        if self.state is not None:
            totals["state"] = (1, len(self.state))
        return totals

    @property
    def upload_bytes(self) -> int:
        return sum(f.size for f in self.uploads) + (len(self.state) if self.state else 0)


def _needs_upload(item: ReleaseFile, on_mirror: dict[str, int], journal: Journal) -> bool:
    if on_mirror.get(item.path) != item.size:
        return True
    if item.phase is Phase.BY_HASH:
        return False  # the name is the hash: same name and size means same bytes
    return not journal.matches(item.path, item.size, item.sha256)


def _is_ours_to_delete(path: str, release_paths: set[str]) -> bool:
    if path.rsplit("/", 1)[-1].startswith(TEMP_PREFIX):
        return True  # left by a publish that was killed between write and rename
    if path in release_paths or path == PUBLISH_STATE:
        return False
    # Metadata is kept: an old N.snapshot.json costs little and a client mid-update needs it.
    return classify(path) is Phase.NATURAL and not path.startswith(f"{METADATA_DIR}/")


def plan_mirror(
    manifest: ReleaseManifest,
    on_mirror: dict[str, int],
    journal: Journal,
    previous: PublishState,
    previous_bytes: bytes | None,
    *,
    keep_releases: int,
    grace: timedelta,
    now: datetime,
) -> MirrorPlan:
    """Plan one mirror's push from its listing, the journal and its state file.

    Raises:
        RollbackError: the mirror already serves a newer release than ``manifest`` (pushing
            it would only make every verifying client refuse the mirror, TUF §5.4).
    """
    newest = max(previous.releases, default=0)
    if manifest.version < newest:
        raise RollbackError(
            f"the mirror already serves release {newest}; refusing to push older release "
            f"{manifest.version}",
            hint="sign a new release (the version must grow) and publish that",
        )
    uploads = tuple(
        sorted(
            (f for f in manifest.files if _needs_upload(f, on_mirror, journal)),
            key=lambda f: (f.phase, f.path),
        )
    )
    remote_by_hash = [p for p in on_mirror if p.startswith(f"{TARGETS_DIR}/")]
    state, prune = plan_prune(
        previous,
        version=manifest.version,
        referenced=manifest.by_hash,
        on_mirror=[p for p in remote_by_hash if not p.rsplit("/", 1)[-1].startswith(TEMP_PREFIX)],
        keep_releases=keep_releases,
        grace=grace,
        now=now,
    )
    release_paths = {f.path for f in manifest.files}
    stale = [p for p in on_mirror if _is_ours_to_delete(p, release_paths)]
    state_bytes = state.to_bytes()
    return MirrorPlan(
        uploads=uploads,
        state=None if state_bytes == previous_bytes else state_bytes,
        delete_after=tuple(sorted(set(prune) | set(stale))),
    )
