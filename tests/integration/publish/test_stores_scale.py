"""Store behaviour that keeps large publishes fast and unstuck, on real loopback servers:
the SFTP store's one-time directory creation and parallel listing, and the S3 store's
whole-request deadline against a server that never answers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paramiko
import pytest

from tamizdat.config.mirrors import MirrorSettings
from tamizdat.errors import MirrorUnreachableError
from tamizdat.publish.stores import StoreLimits, open_store
from tamizdat.publish.stores.sftp import SftpStore

pytestmark = pytest.mark.integration


def _mirror(name: str, url: str) -> MirrorSettings:
    return MirrorSettings(name, url, f"https://{name}.example/", (), True, None, None)


class CountingSftp:
    """Wraps a paramiko SFTP session and counts the calls that cost a round trip."""

    def __init__(self, inner: paramiko.SFTPClient, counts: dict[str, int]) -> None:
        self._inner = inner
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name in ("mkdir", "stat", "open", "posix_rename", "listdir_attr"):
            self._counts[name] = self._counts.get(name, 0) + 1
        return attr


def counting_store(sshd_server, root: Path, counts: dict[str, int]) -> SftpStore:  # type: ignore[no-untyped-def]
    plain = open_store(_mirror("vps", sshd_server.url(root)))
    assert isinstance(plain, SftpStore)
    connect = plain._connect

    def counted() -> paramiko.SFTPClient:
        return CountingSftp(connect(), counts)  # type: ignore[return-value]

    return SftpStore("vps", counted, str(root), channels=3)


def test_sftp_makes_each_directory_once_and_lists_everything(tmp_path: Path, sshd_server) -> None:  # type: ignore[no-untyped-def]
    counts: dict[str, int] = {}
    store = counting_store(sshd_server, tmp_path / "mirror", counts)
    paths = [f"2024-{m:02d}/a{n}/index.html" for m in range(1, 4) for n in range(5)]
    try:
        assert store.list_sizes() == {}  # the mirror folder does not exist yet
        for path in paths:
            store.put_bytes(path, path.encode(), content_type="", cache_control="", atomic=False)
        # 19 new folders (root, 3 months, 15 articles): made once each; a folder whose parent
        # is missing costs one failed mkdir first (a0 and 2024-01 on the first file, then
        # each month's first article), never a stat per path component
        assert counts["mkdir"] == 19 + 2 + 2
        counts.clear()
        for path in paths:  # the same folders again: no mkdir, no stat at all
            store.put_bytes(path, b"v2", content_type="", cache_control="", atomic=False)
        store.put_bytes("index.html", b"front", content_type="", cache_control="", atomic=True)
        assert "mkdir" not in counts
        assert "stat" not in counts
        assert counts["posix_rename"] == 1
        assert counts["open"] == len(paths) + 1
        listed = store.list_sizes()
    finally:
        store.close()
    assert listed == dict.fromkeys(paths, 2) | {"index.html": 5}
    assert not [p for p in (tmp_path / "mirror").rglob("*") if p.name.startswith(".tamizdat-tmp")]


def test_sftp_store_reuses_known_directories_after_a_listing(tmp_path: Path, sshd_server) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "mirror" / "a" / "b").mkdir(parents=True)
    (tmp_path / "mirror" / "a" / "b" / "old.html").write_bytes(b"old")
    counts: dict[str, int] = {}
    store = counting_store(sshd_server, tmp_path / "mirror", counts)
    try:
        assert store.list_sizes() == {"a/b/old.html": 3}
        store.put_bytes("a/b/new.html", b"new", content_type="", cache_control="", atomic=True)
    finally:
        store.close()
    assert counts.get("mkdir", 0) == 0
    assert (tmp_path / "mirror" / "a" / "b" / "new.html").read_bytes() == b"new"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on loopback that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def test_s3_upload_to_a_server_that_never_answers_hits_the_deadline(
    silent_server: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no importorskip: without s3fs, open_store fails this test naming the 's3' extra
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    mirror = MirrorSettings(
        "cloud",
        "s3://bucket/site",
        "https://cloud.example/",
        (),
        True,
        None,
        None,
        options={"endpoint_url": f"http://127.0.0.1:{silent_server}"},
    )
    # the read timeout alone (60 s) would leave the request waiting; the deadline ends it
    store = open_store(mirror, limits=StoreLimits(request_deadline=1.5, min_upload_rate=1e9))
    started = time.monotonic()
    try:
        with pytest.raises(MirrorUnreachableError, match=r"index\.html"):
            store.put_bytes(
                "index.html", b"<p>hi</p>", content_type="text/html", cache_control="", atomic=True
            )
    finally:
        store.close()
    assert time.monotonic() - started < 10
