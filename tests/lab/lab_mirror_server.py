"""The lab's internet: every mirror address serves its folder over HTTP (:80) and HTTPS (:443).

Run inside the lab's internet namespace (``python lab_mirror_server.py CONFIG``); prints
``ready`` once every socket listens. ``www/<address>`` (a symlink the tests switch) is the
folder each address serves, read per request. Files are served with ``Accept-Ranges``,
``ETag`` and single ``Range``/``If-Range`` support, kept alive (HTTP/1.1). The forger's
address serves with a certificate from a CA the reader does not trust. TLS handshakes happen
in the handler thread under a timeout, so one eaten ClientHello never freezes a mirror.
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


class MirrorServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: str, port: int, www: Path, tls: ssl.SSLContext | None) -> None:
        self.www = www
        self.address = address
        self.tls = tls
        super().__init__((address, port), Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind() calls getfqdn(): seconds of DNS in a bare namespace.
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(self.server_address)
        self.server_name, self.server_port = self.address, self.server_address[1]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 20
    disable_nagle_algorithm = True  # as real servers do: no 40 ms wait for a delayed ACK
    server: MirrorServer

    def setup(self) -> None:
        if self.server.tls is not None:
            self.request.settimeout(5)
            self.request = self.server.tls.wrap_socket(
                self.request, server_side=True, do_handshake_on_connect=False
            )
            self.request.do_handshake()
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, *, body: bool) -> None:
        root = (self.server.www / self.server.address).resolve()
        relative = self.path.split("?", 1)[0].lstrip("/")
        target = (root / relative).resolve()
        if relative.endswith("/") or not relative:
            target = target / "index.html"
        if root not in target.parents or not target.is_file():
            self._status(404)
            return
        data = target.read_bytes()
        stat = target.stat()
        etag = f'"{stat.st_ino:x}-{stat.st_size:x}-{stat.st_mtime_ns:x}"'
        start, end = 0, len(data)
        status = 200
        wanted = _RANGE.match(self.headers.get("Range", ""))
        if_range = self.headers.get("If-Range")
        if wanted and (if_range is None or if_range == etag):
            start = int(wanted.group(1))
            end = min(end, int(wanted.group(2)) + 1) if wanted.group(2) else end
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = 206
        self.send_response(status)
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
        self.end_headers()
        if body:
            self.wfile.write(data[start:end])

    def _status(self, code: int) -> None:
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _tls(cert: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert)
    return context


def main() -> None:
    config = json.loads(Path(sys.argv[1]).read_text())
    www = Path(config["www"])
    servers = []
    for address in [*config["addresses"], config["forger"]]:
        cert = config["forger_cert"] if address == config["forger"] else config["cert"]
        servers.append(MirrorServer(address, 80, www, None))
        servers.append(MirrorServer(address, 443, www, _tls(cert)))
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    os.write(1, b"ready\n")
    threading.Event().wait()


if __name__ == "__main__":
    main()
