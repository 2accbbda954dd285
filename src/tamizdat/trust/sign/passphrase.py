"""Where a key's passphrase comes from, and what happens when it is wrong.

Invariant: a passphrase from an environment variable is tried once — a wrong one is an error
at once, naming the key and the variable (a script must not loop); a passphrase typed at a
terminal may be typed again, up to :attr:`Prompter.attempts` times, each failure naming the
key and saying it came from the prompt. No passphrase is ever logged or echoed.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from tamizdat.errors import KeyStoreError

__all__ = ["Prompter", "ask_new_passphrase", "unlock_with"]

T = TypeVar("T")


@dataclass
class Prompter:
    """The terminal: ``ask`` reads a hidden line, ``tell`` prints a line on stderr."""

    ask: Callable[[str], str] = getpass.getpass
    tell: Callable[[str], None] = field(default=lambda text: print(text, file=sys.stderr))
    interactive: Callable[[], bool] = field(default=lambda: sys.stdin.isatty())
    attempts: int = 3


def unlock_with(
    try_open: Callable[[bytes], T | None],
    *,
    describe: str,
    env: str,
    path: Path,
    prompter: Prompter,
    cached: bytes | None = None,
) -> tuple[T, bytes]:
    """Open a key with the passphrase from ``$env``, else ``cached``, else the prompt.

    Returns what ``try_open`` gave and the passphrase that worked (to try on the next key).

    Raises:
        KeyStoreError: the passphrase from ``$env`` is wrong (at once), the prompt's was wrong
            every time, or there is neither a variable nor a terminal.
    """
    value = os.environ.get(env)
    if value is not None:
        opened = try_open(value.encode()) if value else None
        if opened is None:
            raise KeyStoreError(
                f"wrong passphrase for the {describe} (the passphrase came from ${env})",
                where=str(path),
                hint=f"check ${env}, or unset it to be asked at the prompt",
            )
        return opened, value.encode()
    if cached is not None:
        opened = try_open(cached)
        if opened is not None:
            return opened, cached
    if not prompter.interactive():
        raise KeyStoreError(
            f"no passphrase for the {describe}",
            where=f"${env}",
            hint=f"set {env} or run in a terminal to be asked",
        )
    for attempt in range(1, prompter.attempts + 1):
        typed = prompter.ask(f"passphrase for the {describe}: ")
        opened = try_open(typed.encode()) if typed else None
        if opened is not None:
            return opened, typed.encode()
        left = prompter.attempts - attempt
        if left:
            prompter.tell(
                f"wrong passphrase for the {describe} (typed at the prompt); "
                f"{left} {'try' if left == 1 else 'tries'} left"
            )
    raise KeyStoreError(
        f"wrong passphrase for the {describe}, typed at the prompt {prompter.attempts} times",
        where=str(path),
        hint="ask the key's holder; or the file is damaged: use a backup copy",
    )


def ask_new_passphrase(*, describe: str, env: str, prompter: Prompter) -> bytes:
    """A passphrase for a new key file: ``$env``, or typed twice at the prompt.

    Raises:
        KeyStoreError: neither a variable nor a terminal, an empty passphrase, or the two
            typed ones differ.
    """
    value = os.environ.get(env)
    if value is None:
        if not prompter.interactive():
            raise KeyStoreError(
                f"no passphrase for the new {describe}",
                where=f"${env}",
                hint=f"set {env} or run in a terminal to be asked",
            )
        value = prompter.ask(f"new passphrase for the {describe}: ")
        if prompter.ask("repeat it: ") != value:
            raise KeyStoreError(f"the two passphrases for the {describe} differ", where="prompt")
    if not value:
        raise KeyStoreError(f"the passphrase for the {describe} is empty", where=f"${env}")
    return value.encode()
