"""Passphrases of the test newsroom: the online keys' and each root holder's."""

from __future__ import annotations

import pytest

PASS_ENV = "TAMIZDAT_PASSPHRASE"
ONLINE = "online keys passphrase"


def holder_pass(index: int, generation: int = 1) -> str:
    return f"holder {index} passphrase, generation {generation}"


def set_passphrases(mp: pytest.MonkeyPatch, generation: int = 1) -> None:
    mp.setenv(PASS_ENV, ONLINE)
    for index in (1, 2, 3):
        mp.setenv(f"{PASS_ENV}_HOLDER_{index}", holder_pass(index, generation))
