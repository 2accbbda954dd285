"""Bot API servers on 127.0.0.1 for the Telegram tests.

- :class:`TelegramEmulator`: the npm package ``telegram-test-api`` run as a real process
  (``tests/telegram/serve.js``, installed by ``scripts/setup.sh --dev``): it stores what bots
  send and lets a test write as a user. Missing, it FAILS the tests (never a skip).
- :class:`ScriptedBotApi`: a tiny HTTP server answering each request with the next scripted
  (status, JSON body) — the Bot API's faults the emulator cannot produce (429 with
  ``retry_after``, 403, 400, 5xx, garbage) — and recording every request.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support.processes import free_port, stop

__all__ = [
    "ScriptedBotApi",
    "TelegramEmulator",
    "free_port",
    "scripted_bot_api",
    "telegram_emulator",
]

EMULATOR_DIR = Path(__file__).resolve().parent.parent / "telegram"


def _post(url: str, payload: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@dataclass
class TelegramEmulator:
    """A running emulator; ``api_url`` is what a bot is configured with."""

    api_url: str

    def bot_messages(self, token: str) -> list[dict[str, Any]]:
        """Everything the bot with ``token`` sent, oldest first (the ``message`` fields)."""
        rows = _post(f"{self.api_url}/getUpdatesHistory", {"token": token})["result"]
        return [r["message"] for r in rows if "chat_id" in r["message"]]

    def send_as_user(
        self, token: str, text: str, *, user_id: int = 1001, language_code: str | None = "en"
    ) -> None:
        """A private message from a user to the bot with ``token``."""
        sender: dict[str, Any] = {"id": user_id, "first_name": "Reader", "is_bot": False}
        if language_code is not None:
            sender["language_code"] = language_code
        message = {
            "botToken": token,
            "from": sender,
            "chat": {"id": user_id, "first_name": "Reader", "type": "private"},
            "date": int(time.time()),
            "text": text,
        }
        _post(f"{self.api_url}/sendMessage", message)


@contextlib.contextmanager
def telegram_emulator() -> Iterator[TelegramEmulator]:
    """Start ``node tests/telegram/serve.js PORT``; stop it afterwards."""
    node = shutil.which("node")
    if node is None or not (EMULATOR_DIR / "node_modules" / "telegram-test-api").is_dir():
        raise RuntimeError(
            "the Telegram emulator is not installed: run 'bash scripts/setup.sh --dev' "
            "(node, then npm ci in tests/telegram)"
        )
    port = free_port()
    process = subprocess.Popen(
        [node, "serve.js", str(port)],
        cwd=EMULATOR_DIR,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        line = process.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"the Telegram emulator did not start: {process.stderr.read()}")
        yield TelegramEmulator(f"http://127.0.0.1:{port}")
    finally:
        stop(process)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@dataclass
class ScriptedBotApi:
    """See the module docstring. ``script``: (status, body) per request; the last repeats.
    ``requests``: (monotonic time, path, JSON payload or None) of every request received."""

    api_url: str
    script: list[tuple[int, Any]]
    requests: list[tuple[float, str, Any]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # every request body as received


@contextlib.contextmanager
def scripted_bot_api(script: Sequence[tuple[int, Any]]) -> Iterator[ScriptedBotApi]:
    """A scripted Bot API on a free loopback port (a ``bytes`` body is sent as is)."""
    state = ScriptedBotApi("", list(script))
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            is_json = self.headers.get("Content-Type", "").startswith("application/json")
            with lock:
                payload = json.loads(raw or b"null") if is_json else None
                state.requests.append((time.monotonic(), self.path, payload))
                state.raw.append(raw)
                status, body = state.script.pop(0) if len(state.script) > 1 else state.script[0]
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.api_url = f"http://127.0.0.1:{server.server_address[1]}"
    # A short poll interval: shutdown() waits for one, and tests start many servers.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
