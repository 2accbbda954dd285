"""A wrong passphrase names the key and where the passphrase came from; at a terminal it is
asked again (three times at most), from a variable it fails at once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from keykit import ONLINE, PASS_ENV

from tamizdat.config import Config
from tamizdat.errors import KeyStoreError
from tamizdat.trust.sign.keys import open_store
from tamizdat.trust.sign.keystore import KeyStore
from tamizdat.trust.sign.passphrase import Prompter


class Terminal:
    """A terminal that types ``answers`` in turn and records what it was told."""

    def __init__(self, answers: list[str], *, tty: bool = True) -> None:
        self.answers = list(answers)
        self.asked: list[str] = []
        self.told: list[str] = []
        self.tty = tty

    def prompter(self) -> Prompter:
        return Prompter(ask=self.ask, tell=self.told.append, interactive=lambda: self.tty)

    def ask(self, text: str) -> str:
        self.asked.append(text)
        return self.answers.pop(0)


def store_with(config: Config, terminal: Terminal) -> KeyStore:
    store = open_store(config)
    store.prompter = terminal.prompter()
    return store


@pytest.mark.parametrize("wrong_first", [0, 1, 2])
def test_the_prompt_asks_again_naming_the_key(
    holders_site: Config, clear_passphrases: Callable[[], None], wrong_first: int
) -> None:
    clear_passphrases()
    terminal = Terminal(["nope"] * wrong_first + [ONLINE])
    store = store_with(holders_site, terminal)
    key = store.active_keys("timestamp")[0]
    assert store.signer(key).public_key.keyid == key.keyid
    assert len(terminal.asked) == wrong_first + 1
    assert all(f"timestamp key {key.keyid[:8]}" in line for line in terminal.asked)
    assert len(terminal.told) == wrong_first
    for line in terminal.told:
        assert f"wrong passphrase for the timestamp key {key.keyid[:8]}" in line
        assert "typed at the prompt" in line
    # the passphrase that worked opens the next online key without asking again
    store.signer(store.active_keys("snapshot")[0])
    assert len(terminal.asked) == wrong_first + 1


def test_three_wrong_answers_are_an_error_and_nothing_else_is_asked(
    holders_site: Config, clear_passphrases: Callable[[], None]
) -> None:
    clear_passphrases()
    terminal = Terminal(["a", "b", "c", ONLINE])
    store = store_with(holders_site, terminal)
    key = store.active_keys("targets")[0]
    with pytest.raises(KeyStoreError) as caught:
        store.signer(key)
    assert "typed at the prompt 3 times" in caught.value.message
    assert f"targets key {key.keyid[:8]}" in caught.value.message
    assert caught.value.where == str(key.private_path)
    assert len(terminal.asked) == 3


def test_a_wrong_passphrase_from_the_environment_fails_at_once(
    holders_site: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASS_ENV, "wrong")
    terminal = Terminal([ONLINE])
    store = store_with(holders_site, terminal)
    key = store.active_keys("snapshot")[0]
    with pytest.raises(KeyStoreError) as caught:
        store.signer(key)
    assert f"snapshot key {key.keyid[:8]}" in caught.value.message
    assert f"came from ${PASS_ENV}" in caught.value.message
    assert terminal.asked == []  # a script never loops on a prompt


@pytest.mark.parametrize("value", [""])
def test_an_empty_passphrase_from_the_environment_is_wrong(
    holders_site: Config, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(PASS_ENV, value)
    store = store_with(holders_site, Terminal([]))
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        store.signer(store.active_keys("timestamp")[0])


def test_no_variable_and_no_terminal_names_the_variable(
    holders_site: Config, clear_passphrases: Callable[[], None]
) -> None:
    clear_passphrases()
    store = store_with(holders_site, Terminal([], tty=False))
    with pytest.raises(KeyStoreError) as caught:
        store.signer(store.active_keys("timestamp")[0])
    assert caught.value.where == f"${PASS_ENV}"
