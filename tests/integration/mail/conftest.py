"""Mail servers on 127.0.0.1: aiosmtpd (STARTTLS or implicit TLS, AUTH) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.mail import MailServer, smtp_server


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[MailServer]:
    (tmp_path / "smtp").mkdir()
    with smtp_server(tmp_path / "smtp", "starttls") as server:
        yield server


@pytest.fixture
def smtps(tmp_path: Path) -> Iterator[MailServer]:
    (tmp_path / "smtps").mkdir()
    with smtp_server(tmp_path / "smtps", "tls") as server:
        yield server
