"""``tamizdat robot`` serving telegram bots (``answer_requests = true``) against the Bot API
emulator on 127.0.0.1: a reader's /mirrors answered once with working mirrors and the
publisher's fingerprint, a dead Bot API reported on one line while the other bot is served,
and ``--loop`` stopped by SIGINT or SIGTERM after it answered."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tamizdat
from support.announce_site import copy_site, mark_working, signed_site, story
from support.telegram_servers import TelegramEmulator, free_port
from tamizdat.cli import main
from tamizdat.fingerprint import format_fingerprint, root_fingerprint
from tamizdat.layout import metadata_path

ARTICLES = {"en/flood": story("Flood in the capital", "2026-03-01")}
READER = 4242


@pytest.fixture(scope="module")
def base_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return signed_site(tmp_path_factory.mktemp("robot") / "site", ARTICLES)


def add_bot(site: Path, name: str, api_url: str, token_env: str, **extra: object) -> None:
    lines = ["", "[[channels]]", f'name = "{name}"', 'kind = "telegram"', "[channels.options]",
             'chat_id = "@exile_news"', f"api_url = {json.dumps(api_url)}",
             f'token_env = "{token_env}"']  # fmt: skip
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    with (site / "tamizdat.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


@pytest.fixture
def site(
    base_site: Path, tmp_path: Path, emulator: TelegramEmulator, bot_token: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:  # fmt: skip
    """The signed site with one bot, ``tg``, answering requests through the emulator."""
    copy = copy_site(base_site, tmp_path / "site")
    add_bot(copy, "tg", emulator.api_url, "TEST_TG_TOKEN", answer_requests=True)
    key = tmp_path / "distribution.key"
    key.write_bytes(b"s" * 32)
    monkeypatch.setenv("TAMIZDAT_DISTRIBUTION_KEY_FILE", str(key))
    monkeypatch.setenv("TEST_TG_TOKEN", bot_token)
    return copy


def add_dead_bot_first(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A second bot, ``tg-dead``, whose Bot API is a closed loopback port; declared first, so
    it is polled first: its failure must not stop ``tg`` after it."""
    text = (site / "tamizdat.toml").read_text(encoding="utf-8")
    head, tg = text.split("\n[[channels]]", 1)
    (site / "tamizdat.toml").write_text(head + "\n", encoding="utf-8")
    add_bot(site, "tg-dead", f"http://127.0.0.1:{free_port()}", "TEST_DEAD_TOKEN",
            answer_requests=True)  # fmt: skip
    with (site / "tamizdat.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[[channels]]" + tg)
    monkeypatch.setenv("TEST_DEAD_TOKEN", "99:dead-bot")


def fingerprint(site: Path) -> str:
    return root_fingerprint((site / "release" / metadata_path("root", 1)).read_bytes())


def replies_to(emulator: TelegramEmulator, token: str, user: int) -> list[str]:
    return [m["text"] for m in emulator.bot_messages(token) if m["chat_id"] == user]


def urls(text: str) -> list[str]:
    return [word for word in text.split() if word.startswith("https://")]


def test_robot_once_answers_mirrors_from_the_latest_check_with_the_fingerprint_once(
    site: Path, emulator: TelegramEmulator, bot_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    mark_working(site, ["m2", "m4"])  # the latest 'mirrors check': m1 and m3 now blocked
    emulator.send_as_user(bot_token, "/mirrors", user_id=READER, language_code="en")
    capsys.readouterr()
    assert main(["--json", "-C", str(site), "robot", "--once"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["sources"] == [{"channel": "tg", "kind": "telegram", "answered": 1, "refused": 0,
                                  "ignored": 0, "replies": {"/mirrors": 1}, "error": None}]  # fmt: skip
    (reply,) = replies_to(emulator, bot_token, READER)
    assert urls(reply)
    assert set(urls(reply)) <= {"https://m2.example.net/", "https://m4.example.net/"}
    assert format_fingerprint(fingerprint(site)) in reply
    assert f"--fingerprint {fingerprint(site)}" in reply
    assert main(["-C", str(site), "robot", "--once"]) == 0  # a second run: nothing twice
    assert capsys.readouterr().out.strip() == "tg (telegram): no new requests"
    assert len(replies_to(emulator, bot_token, READER)) == 1


def test_the_announcer_accepts_a_bot_that_answers_requests(
    site: Path, emulator: TelegramEmulator, bot_token: str
) -> None:
    assert main(["-q", "-C", str(site), "announce"]) == 0
    assert [m["chat_id"] for m in emulator.bot_messages(bot_token)] == ["@exile_news"]


def test_a_dead_bot_api_is_one_error_naming_its_channel_and_the_other_bot_still_answers(
    site: Path, emulator: TelegramEmulator, bot_token: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    add_dead_bot_first(site, monkeypatch)
    emulator.send_as_user(bot_token, "/verify", user_id=READER, language_code="en")
    capsys.readouterr()
    assert main(["--json", "-C", str(site), "robot", "--once"]) == 7  # unreachable
    captured = capsys.readouterr()
    (error,) = [line for line in captured.err.splitlines() if line.strip()]
    assert error.startswith("error: channel tg-dead: cannot reach the Bot API")
    assert "Traceback" not in captured.err
    dead, live = json.loads(captured.out)["sources"]
    assert (dead["channel"], dead["answered"]) == ("tg-dead", 0)
    assert dead["error"].startswith("channel tg-dead:")
    assert (live["channel"], live["answered"], live["error"]) == ("tg", 1, None)
    (reply,) = replies_to(emulator, bot_token, READER)
    assert format_fingerprint(fingerprint(site)) in reply


@pytest.mark.parametrize(
    ("options", "argv", "where"),
    [
        ({"answer_requests": False}, [], "no request inbox to serve"),
        ({"answer_requests": "yes"}, [], "channel tg: options.answer_requests"),
        ({"answer_requests": True}, ["--channel", "nope"], "no e-mail or telegram channel"),
    ],
)
def test_robot_configuration_faults_are_one_error_before_any_poll(
    options: dict[str, object], argv: list[str], where: str, base_site: Path, tmp_path: Path,
    emulator: TelegramEmulator, bot_token: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    site = copy_site(base_site, tmp_path / "site")
    add_bot(site, "tg", emulator.api_url, "TEST_TG_TOKEN", **options)
    monkeypatch.setenv("TEST_TG_TOKEN", bot_token)
    emulator.send_as_user(bot_token, "/mirrors", user_id=READER)
    capsys.readouterr()
    assert main(["-C", str(site), "robot", "--once", *argv]) == 2
    (line, *_) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ")
    assert where in line
    assert emulator.bot_messages(bot_token) == []


def test_two_channels_of_one_bot_cannot_both_answer_it(
    site: Path, emulator: TelegramEmulator, bot_token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each would read the bot's updates with its own offset: every reader answered twice."""
    add_bot(site, "tg-en", emulator.api_url + "/", "TEST_TG_TOKEN", answer_requests=True)
    emulator.send_as_user(bot_token, "/mirrors", user_id=READER)
    capsys.readouterr()
    assert main(["-C", str(site), "robot", "--once"]) == 2
    (line, *_) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: channel tg-en: options.answer_requests: channels tg and tg-en")
    assert bot_token.split(":")[1] not in line  # the secret part of the token is never shown
    assert replies_to(emulator, bot_token, READER) == []
    assert main(["-q", "-C", str(site), "robot", "--once", "--channel", "tg-en"]) == 0
    assert len(replies_to(emulator, bot_token, READER)) == 1


def _robot_process(site: Path) -> subprocess.Popen[str]:
    """``tamizdat robot --loop`` in a fresh interpreter running this checkout's code."""
    src = str(Path(tamizdat.__file__).resolve().parent.parent)
    paths = [src, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.Popen(
        [sys.executable, "-m", "tamizdat", "-C", str(site), "robot", "--loop", "--interval", "0.2"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for_replies(
    emulator: TelegramEmulator, token: str, user: int, process: subprocess.Popen[str]
) -> None:
    """Until the robot answered ``user`` (bounded only so that a broken robot fails the test
    instead of hanging it); the robot must still be running."""
    for _ in range(600):
        if replies_to(emulator, token, user) or process.poll() is not None:
            break
        time.sleep(0.1)
    assert process.poll() is None, process.stderr.read() if process.stderr else ""
    assert replies_to(emulator, token, user)


def stop(process: subprocess.Popen[str], signum: int) -> tuple[str, str]:
    process.send_signal(signum)
    try:
        return process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_loop_answers_then_stops_cleanly_on_a_signal(
    signum: int, site: Path, emulator: TelegramEmulator, bot_token: str
) -> None:
    emulator.send_as_user(bot_token, "/mirrors", user_id=READER, language_code="ru")
    process = _robot_process(site)
    try:
        wait_for_replies(emulator, bot_token, READER, process)
    finally:
        out, err = stop(process, signum)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    assert "error" not in err
    assert out.strip() == "tg (telegram): 1 answered (1 mirrors)"
    (reply,) = replies_to(emulator, bot_token, READER)
    assert reply.startswith("Рабочие адреса на сегодня:")


def test_loop_keeps_answering_while_another_bot_api_is_down(
    site: Path, emulator: TelegramEmulator, bot_token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_dead_bot_first(site, monkeypatch)
    emulator.send_as_user(bot_token, "/mirrors", user_id=READER)
    process = _robot_process(site)
    try:
        wait_for_replies(emulator, bot_token, READER, process)
        # A request that arrives after tg-dead already failed at least once is answered too.
        emulator.send_as_user(bot_token, "/verify", user_id=READER + 1)
        wait_for_replies(emulator, bot_token, READER + 1, process)
    finally:
        out, err = stop(process, signal.SIGTERM)
    assert process.returncode == 0, err
    assert "Traceback" not in err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert warnings
    assert all(w.startswith("warning: channel tg-dead: cannot reach the Bot API") for w in warnings)
    assert [line for line in err.splitlines() if line.startswith("error")] == []
    assert out.splitlines()[1] == "tg (telegram): 2 answered (1 mirrors, 1 verify)"
    assert out.splitlines()[0].startswith("tg-dead (telegram): failed")
