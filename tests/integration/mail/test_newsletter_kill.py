"""The sender killed (SIGKILL) after k of N messages, then run again: every subscriber
receives exactly one copy. The kill lands while the server holds message k+1 before its
final reply, the window where the client has handed over the data but nothing is
delivered yet (RFC 5321 §4.1.1.4: no reply, no delivery)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from support.mail import ENVIRON, MailServer, announcement
from tamizdat.channels.email.sender import EmailSender, open_store

READERS = [f"reader{n}@readers.example" for n in range(5)]
_CHILD = """
import json, sys
from support.mail import announcement
from tamizdat.channels.email.sender import EmailSender
options, environ = json.loads(sys.argv[1]), json.loads(sys.argv[2])
EmailSender("newsletter", options, environ).send(announcement())
"""


@pytest.mark.parametrize("k", [0, 2, 4])
def test_killed_after_k_then_rerun_sends_each_reader_exactly_one_copy(
    k: int, smtp: MailServer, tmp_path: Path
) -> None:
    options = smtp.options(tmp_path)
    sender = EmailSender("newsletter", options, ENVIRON)
    store = open_store(sender.settings)
    store.import_rows([(a, "en", "t") for a in READERS], 0.0, confirmed=True)
    store.close()
    smtp.handler.hold_at = k + 1
    tests = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests.parent / "src"), str(tests)])}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, json.dumps(options), json.dumps(ENVIRON)], env=env
    )
    try:
        assert smtp.handler.held.wait(60), "the child never reached message k+1"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        smtp.handler.release.set()
    assert len(smtp.handler.accepted) == k
    try:
        receipt = sender.send(announcement())
    finally:
        sender.close()
    assert receipt.counts["already_sent"] == k
    assert receipt.counts["sent"] == len(READERS) - k
    for reader in READERS:
        assert len(smtp.handler.received_by(reader)) == 1, reader
