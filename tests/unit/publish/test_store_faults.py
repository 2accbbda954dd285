"""What a store failure becomes, by who must act: a refused permission is the user's (a
ConfigError naming the mirror, never retried), a lost connection is the network's, any other
store failure is the mirror's — and publish reports each once, with its own exit code."""

from __future__ import annotations

from pathlib import Path

import pytest
from releasekit import article_files, write_release
from test_push_memory import FAST, NOW, mirror

from tamizdat.errors import ConfigError, MirrorResponseError, MirrorUnreachableError
from tamizdat.publish.push import publish_release
from tamizdat.publish.stores import MemoryStore, Store


class Refusing(MemoryStore):
    """A store whose every upload fails with ``error``; counts the attempts."""

    def __init__(self, name: str, error: BaseException) -> None:
        super().__init__(name)
        self.error = error
        self.attempts: dict[str, int] = {}

    def _put_bytes(self, path: str, data: bytes, ct: str, cc: str, atomic: bool) -> None:
        self.attempts[path] = self.attempts.get(path, 0) + 1
        raise self.error


@pytest.mark.parametrize(
    ("error", "kind", "exit_code", "retried"),
    [
        (PermissionError(13, "Permission denied"), ConfigError, 2, False),
        (PermissionError("Forbidden"), ConfigError, 2, False),
        (ConnectionResetError(104, "reset"), MirrorUnreachableError, 7, True),
        (TimeoutError("slow"), MirrorUnreachableError, 7, True),
        (OSError(28, "No space left on device"), MirrorResponseError, 7, True),
    ],
)
def test_store_failures_are_grouped_by_who_must_act(
    tmp_path: Path,
    error: BaseException,
    kind: type[Exception],
    exit_code: int,
    retried: bool,
) -> None:
    store = Refusing("m", error)
    with pytest.raises(kind) as caught:
        store.put_bytes("a.html", b"x", content_type="text/html", cache_control="", atomic=True)
    assert caught.value.where == "mirror m"  # type: ignore[attr-defined]

    release = tmp_path / "release"
    write_release(release, 1, article_files(1, count=2))
    fresh = Refusing("m", error)

    def open_store(_m: object) -> Store:
        return fresh

    report = publish_release(release, [mirror("m")], open_store=open_store,
                             state_dir=tmp_path / "journal", retry=FAST, now=NOW,
                             sleep=lambda _s: None)  # fmt: skip
    (failed,) = report.failed
    assert failed.exit_code == exit_code
    # uploads run in parallel, so several paths may be tried; none again unless retried
    assert (max(fresh.attempts.values()) > 1) is retried
