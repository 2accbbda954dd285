"""A crash at an exact point: stores and sources that SIGKILL their own process after N operations.

Shipped code has no test switch for this: the tests run this module in a subprocess
(``python -m support.killing publish SITE N`` or ``… sync HOME NAME N``), which does what the
command would do but through a :class:`KillingStore` or :class:`KillingSource` wrapped around
the real one. The process dies right after the N-th completed upload or download, before
tamizdat records it anywhere — the worst moment for a crash.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

from tamizdat.publish.stores import Store
from tamizdat.transport.sources import Source

__all__ = ["Countdown", "KillingSource", "KillingStore", "main", "run_killing"]


class Countdown:
    """Counts completed operations across threads; SIGKILLs this process at ``after``."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.count = 0
        self._lock = threading.Lock()

    def done(self) -> None:
        with self._lock:
            self.count += 1
            if self.count >= self.after:
                os.kill(os.getpid(), signal.SIGKILL)


class KillingStore:
    """A publish store that counts completed uploads (file or bytes) on ``countdown``."""

    def __init__(self, inner: Store, countdown: Countdown) -> None:
        self.inner = inner
        self.name = inner.name
        self.countdown = countdown

    def put_bytes(
        self, path: str, data: bytes, *, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        self.inner.put_bytes(
            path, data, content_type=content_type, cache_control=cache_control, atomic=atomic
        )
        self.countdown.done()

    def put_file(
        self, path: str, local: Path, *, content_type: str, cache_control: str, atomic: bool
    ) -> None:
        self.inner.put_file(
            path, local, content_type=content_type, cache_control=cache_control, atomic=atomic
        )
        self.countdown.done()

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


class KillingSource:
    """A reader source that counts files it delivered on ``countdown``."""

    def __init__(self, inner: Source, countdown: Countdown) -> None:
        self.inner = inner
        self.name = inner.name
        self.remote = inner.remote
        self.countdown = countdown

    @property
    def wire_bytes(self) -> int | None:
        return self.inner.wire_bytes

    def fetch(self, path: str, max_length: int) -> bytes:
        data = self.inner.fetch(path, max_length)
        self.countdown.done()
        return data


def _publish(site: Path, after: int) -> None:
    from tamizdat.config import load_config
    from tamizdat.publish.push import publish_release, select_mirrors
    from tamizdat.publish.stores import open_store

    config = load_config(site)
    countdown = Countdown(after)
    publish_release(
        config.signing.release_dir,
        select_mirrors(config.mirrors),
        open_store=lambda m: KillingStore(open_store(m, base_dir=config.root), countdown),
        max_workers_per_mirror=1,
        state_dir=config.build.cache_dir / "publish",  # as `tamizdat publish` keeps it
    )


def _sync(home: Path, name: str, after: int) -> None:
    from tamizdat.reader.store import Store as ReaderStore
    from tamizdat.reader.sync import update_store
    from tamizdat.transport.failover import MirrorPool
    from tamizdat.transport.sources import HttpSource

    store = ReaderStore.open(name, home)
    countdown = Countdown(after)
    sources = [HttpSource(url, name=url) for url in store.subscription.all_mirrors]
    update_store(store, MirrorPool([KillingSource(s, countdown) for s in sources], deadline=60))


def run_killing(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run this module with ``args`` in a fresh interpreter (``support`` importable there)."""
    tests = str(Path(__file__).resolve().parent.parent)
    paths = [tests, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [sys.executable, "-m", "support.killing", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def main(argv: list[str]) -> int:
    """``publish SITE N`` or ``sync HOME NAME N``; returns only if never killed."""
    if argv[0] == "publish":
        _publish(Path(argv[1]), int(argv[2]))
    elif argv[0] == "sync":
        _sync(Path(argv[1]), argv[2], int(argv[3]))
    else:
        raise SystemExit(f"unknown action {argv[0]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
