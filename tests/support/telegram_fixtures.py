"""Fixtures: the Telegram Bot API emulator (``support.telegram_servers``), one per test
module, and a fresh bot token per test. Re-exported by ``tests/integration/conftest.py`` for
the channel and mail tests (test_telegram.py keeps its own)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from support.telegram_servers import TelegramEmulator, telegram_emulator

__all__ = ["bot_token", "emulator"]

_tokens = itertools.count(1)


@pytest.fixture(scope="module")
def emulator() -> Iterator[TelegramEmulator]:
    with telegram_emulator() as running:
        yield running


@pytest.fixture
def bot_token() -> str:
    """A token no other test used (the emulator keeps each bot's messages apart by token)."""
    return f"{next(_tokens) + 500}00:robot-token-for-the-emulator"
