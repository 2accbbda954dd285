"""``tamizdat announce`` killed at an exact point: after the N-th delivered message, before
the journal records it (the worst moment: the reader got it, the journal says pending).

Shipped code has no switch for this: ``python -m support.announce_killing SITE N`` runs what
``tamizdat announce`` runs, with a registry whose senders are the real ones (Telegram, the
test outbox) wrapped to count deliveries on a :class:`support.killing.Countdown`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from support.killing import Countdown
from support.outbox_sender import OutboxSender
from tamizdat.channels.announce import Announcement, Receipt
from tamizdat.channels.telegram import TelegramSender
from tamizdat.registry import BUILTINS, Extension, Registry

__all__ = ["KILLING_REGISTRY", "run_announce_killing"]

_COUNTDOWN = Countdown(int(os.environ.get("ANNOUNCE_KILL_AFTER", "1000000")))


class KillingTelegram(TelegramSender):
    """The Telegram sender, killing the process after the N-th message it posted."""

    def send(self, announcement: Announcement) -> Receipt:
        receipt = super().send(announcement)
        _COUNTDOWN.done()
        return receipt


class KillingOutbox(OutboxSender):
    """The outbox sender, killing the process after the N-th announcement it delivered."""

    def __init__(self, name: str, options: Mapping[str, Any], environ: Mapping[str, str]) -> None:
        super().__init__(name, options, environ)

    def send(self, announcement: Announcement) -> Receipt:
        receipt = super().send(announcement)
        _COUNTDOWN.done()
        return receipt


KILLING_REGISTRY = Registry(
    (
        *(e for e in BUILTINS.extensions if (e.kind, e.name) != ("channel", "telegram")),
        Extension("channel", "telegram", "support.announce_killing:KillingTelegram"),
        Extension("channel", "outbox", "support.announce_killing:KillingOutbox"),
    )
)


def run_announce_killing(
    site: Path, after: int, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run this module on ``site`` in a fresh interpreter, killed after ``after`` messages."""
    tests = str(Path(__file__).resolve().parent.parent)
    base = dict(env if env is not None else os.environ)
    paths = [tests, *filter(None, base.get("PYTHONPATH", "").split(os.pathsep))]
    full = {**base, "PYTHONPATH": os.pathsep.join(paths), "ANNOUNCE_KILL_AFTER": str(after)}
    return subprocess.run(
        [sys.executable, "-m", "support.announce_killing", str(site), *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def main(argv: list[str]) -> int:
    """``SITE [--retry-pending]``: announce on every channel; returns only if never killed."""
    from support.announce_site import mirror_states
    from tamizdat.channels.announcer import announce_channels
    from tamizdat.config import load_config

    report = announce_channels(
        load_config(Path(argv[0])),
        mirror_states=mirror_states(Path(argv[0])),
        environ=os.environ,
        registry=KILLING_REGISTRY,
        retry_pending="--retry-pending" in argv[1:],
    )
    for outcome in report.channels:
        for key in outcome.unresolved:
            print(f"unresolved {outcome.channel} {key}")
        if outcome.error is not None:
            print(f"error {outcome.error}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
