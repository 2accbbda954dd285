"""A sender that delivers into a folder (one JSON file per announcement key): the test double
for a channel that *can* confirm delivery (as an SMTP server with a Message-ID search could).

Declared for tests as ``Extension("channel", "outbox", "support.outbox_sender:OutboxSender")``
in :data:`REGISTRY`; options: ``folder`` (where announcements land), ``confirm`` (whether
the sender claims ``can_confirm``), ``refuse_after`` (a ChannelError from the N+1-th send on:
a server that drops mid-batch). It is built with the exact factory signature every sender
has: ``(name, options, environ)``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tamizdat.channels.announce import Announcement, Receipt
from tamizdat.errors import ChannelError, ConfigError
from tamizdat.registry import BUILTINS, Extension

__all__ = ["REGISTRY", "OutboxSender", "delivered"]

REGISTRY = BUILTINS.register(
    Extension("channel", "outbox", "support.outbox_sender:OutboxSender", summary="test outbox")
)


def _file(folder: Path, key: str) -> Path:
    return folder / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")


def delivered(folder: Path) -> list[dict[str, Any]]:
    """Every announcement in ``folder``, in delivery order."""
    rows = [json.loads(p.read_text()) for p in folder.glob("*.json")] if folder.is_dir() else []
    return sorted(rows, key=lambda r: r["n"])


class OutboxSender:
    """See the module docstring."""

    def __init__(self, name: str, options: Mapping[str, Any], environ: Mapping[str, str]) -> None:
        self.name = name
        folder = options.get("folder")
        if not isinstance(folder, str):
            raise ConfigError("the outbox channel needs options.folder", where=f"channel {name}")
        self.folder = Path(folder)
        self.can_confirm = bool(options.get("confirm", False))
        self.refuse_after = int(options.get("refuse_after", 1_000_000))
        self.sent = 0
        self.closed = False
        self.site_dir = options.get("tamizdat.site_dir")

    def send(self, announcement: Announcement) -> Receipt:
        if self.sent >= self.refuse_after:
            raise ChannelError("the server dropped the connection", where=f"channel {self.name}")
        self.folder.mkdir(parents=True, exist_ok=True)
        n = len(list(self.folder.glob("*.json")))
        row = {
            "n": n,
            "key": announcement.key,
            "lang": announcement.lang,
            "kind": announcement.kind,
            "release": announcement.release,
            "stories": [
                {"path": s.path, "title": s.title, "correction": s.correction}
                for s in announcement.stories
            ],
            "dont_miss": [s.path for s in announcement.dont_miss],
            "mirrors": list(announcement.mirrors),
            "fingerprint": announcement.fingerprint,
            "attachment": announcement.attachment_name,
            "site_dir": self.site_dir,
        }
        if announcement.attachment is not None:
            bundle = _file(self.folder, announcement.key).with_suffix(".zip")
            bundle.write_bytes(announcement.attachment)
            row["attachment_file"] = str(bundle)
        _file(self.folder, announcement.key).write_text(json.dumps(row))
        self.sent += 1
        return Receipt(ids=(str(n),), counts={"messages": 1})

    def was_sent(self, announcement: Announcement) -> bool | None:
        if not self.can_confirm:
            return None
        return _file(self.folder, announcement.key).is_file()

    def close(self) -> None:
        self.closed = True
