"""Publish a site, and SIGKILL this very process right after its k-th completed upload.

Usage: ``python crashing_publish.py SITE K``. The crash is injected on the tests' side, by
wrapping each mirror's store, not by a switch in tamizdat: it lands exactly where a real
crash would hurt most, after the bytes are on the mirror and before the journal knows.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterable
from pathlib import Path

from tamizdat.config import load_config
from tamizdat.config.mirrors import MirrorSettings
from tamizdat.publish.push import publish_release
from tamizdat.publish.stores import Store, open_store


class CrashingStore:
    """Delegates to ``inner``; the ``limit``-th completed upload kills the process."""

    def __init__(self, inner: Store, limit: int) -> None:
        self.inner = inner
        self.name = inner.name
        self.limit = limit
        self.done = 0

    def _uploaded(self) -> None:
        self.done += 1
        if self.done >= self.limit:
            os.kill(os.getpid(), signal.SIGKILL)

    def put_bytes(
        self, path: str, data: bytes, *, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        self.inner.put_bytes(
            path, data, content_type=content_type, cache_control=cache_control, atomic=atomic
        )
        self._uploaded()

    def put_file(
        self, path: str, local: Path, *, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        self.inner.put_file(
            path, local, content_type=content_type, cache_control=cache_control, atomic=atomic
        )
        self._uploaded()

    def list_sizes(self) -> dict[str, int]:
        return self.inner.list_sizes()

    def get(self, path: str) -> bytes | None:
        return self.inner.get(path)

    def delete(self, paths: Iterable[str]) -> None:
        self.inner.delete(paths)

    def exists(self, path: str) -> bool:
        return self.inner.exists(path)

    def commit(self) -> None:
        self.inner.commit()

    def close(self) -> None:
        self.inner.close()


def main(site: Path, limit: int) -> None:
    config = load_config(site)

    def crashing(mirror: MirrorSettings) -> Store:
        return CrashingStore(open_store(mirror, base_dir=config.root), limit)

    publish_release(
        config.signing.release_dir,
        config.mirrors,
        open_store=crashing,
        max_workers_per_mirror=1,  # one upload at a time: the k-th is well defined
        state_dir=config.build.cache_dir / "publish",  # the journal `tamizdat publish` keeps
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
