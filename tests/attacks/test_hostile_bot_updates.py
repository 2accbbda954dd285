"""A stranger writes to the bot: every update is attacker data.

The bot answers only private chats with a human (a positive numeric id), reads only the
first word, replies as plain text, never crashes on a malformed update, and keeps its offset
so nothing is answered twice. A censor renaming accounts or spoofing ids as strings gains
nothing: the requester is the numeric id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from support.telegram_servers import ScriptedBotApi, scripted_bot_api
from tamizdat.channels.distributor import DistributionConfig, Distributor
from tamizdat.channels.requests import MemoryRequestStore
from tamizdat.channels.telegram import BotApi
from tamizdat.channels.telegram_requests import TelegramRequests
from tamizdat.errors import ChannelError

WORKING = {f"m{i}": f"https://m{i}.example.net/" for i in range(12)}


def human(update_id: int, text: str, user: Any = 4242, **changes: Any) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": update_id,
        "from": {"id": user, "is_bot": False, "first_name": "R", "language_code": "en"},
        "chat": {"id": user, "type": "private"},
        "date": 0,
        "text": text,
    }
    message.update(changes)
    return {"update_id": update_id, "message": message}


HOSTILE: list[Any] = [
    None,
    "update",
    [],
    {"update_id": "7", "message": {}},
    {"update_id": True, "message": {}},
    {"update_id": 3},
    {"update_id": 4, "message": "text"},
    {"update_id": 5, "edited_message": human(5, "/mirrors")["message"]},
    human(6, "/mirrors", user="4242"),  # an id as a string
    human(7, "/mirrors", user=True),
    human(8, "/mirrors", user=-100123),  # a group or channel id
    human(9, "/mirrors", user=0),
    human(10, "/mirrors", chat={"id": -100, "type": "supergroup"}),
    human(11, "/mirrors", chat={"id": 999, "type": "private"}),  # chat is not the sender
    human(12, "/mirrors", **{"from": {"id": 4242, "is_bot": True}}),
    human(13, "/mirrors", **{"from": None}),
    human(14, "/mirrors", chat=None),
]


def make_bot(api: ScriptedBotApi, tmp_path: Path) -> TelegramRequests:
    return TelegramRequests(
        BotApi(api.api_url, "1:token", channel="tg"),
        Distributor(b"k" * 32, "ab" * 32, DistributionConfig(groups=1)),
        MemoryRequestStore(),
        working=lambda: WORKING,
        offset_file=tmp_path / "offset.json",
        site_title="Exile News",
    )


def sent(api: ScriptedBotApi) -> list[dict[str, Any]]:
    return [p for _, path, p in api.requests if path.endswith("/sendMessage")]


def test_malformed_and_non_private_updates_are_ignored(tmp_path: Path) -> None:
    updates = [*HOSTILE, human(20, "/verify")]
    script = [(200, {"ok": True, "result": updates}), (200, {"ok": True, "result": {}})]
    with scripted_bot_api(script) as api:
        report = make_bot(api, tmp_path).poll_once()
    assert report.replies == {"/verify": 1}
    assert report.ignored == len(HOSTILE)
    (reply,) = sent(api)
    assert reply["chat_id"] == 4242
    assert "parse_mode" not in reply
    assert (tmp_path / "offset.json").read_text() == '{"offset": 21}'


@pytest.mark.parametrize(
    "text",
    [
        "/mirrors" + "x" * 100_000,
        "/MIRRORS@SomeOtherBot extra words",
        "<b>/mirrors</b>",
        "\u202e/mirrors",
        "/mirrors\x00\n/verify",
        "",
        " ",
    ],
)
def test_any_text_gets_at_most_one_plain_reply(tmp_path: Path, text: str) -> None:
    script = [(200, {"ok": True, "result": [human(1, text)]}), (200, {"ok": True, "result": {}})]
    with scripted_bot_api(script) as api:
        report = make_bot(api, tmp_path).poll_once()
    assert sum(report.replies.values()) == 1
    (reply,) = sent(api)
    assert "parse_mode" not in reply
    assert text[:50] not in reply["text"] or not text.strip()  # never echoed back


def test_a_user_who_blocked_the_bot_does_not_stop_the_others(tmp_path: Path) -> None:
    blocked = (403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"})
    script = [
        (200, {"ok": True, "result": [human(1, "/verify", user=1), human(2, "/verify", user=2)]}),
        blocked,
        (200, {"ok": True, "result": {"message_id": 9}}),
    ]
    with scripted_bot_api(script) as api:
        report = make_bot(api, tmp_path).poll_once()
    assert (report.refused, report.replies) == (1, {"/verify": 1})


def test_a_failing_get_updates_is_a_channel_error_and_keeps_the_offset(tmp_path: Path) -> None:
    (tmp_path / "offset.json").write_text('{"offset": 77}')
    with (
        scripted_bot_api([(502, b"Bad Gateway")]) as api,
        pytest.raises(ChannelError, match="channel tg"),
    ):
        make_bot(api, tmp_path).poll_once()
    assert api.requests[0][2]["offset"] == 77
    assert (tmp_path / "offset.json").read_text() == '{"offset": 77}'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(json_values, max_size=5))
def test_arbitrary_json_updates_never_crash_the_bot(tmp_path: Path, updates: list[Any]) -> None:
    script = [(200, {"ok": True, "result": updates}), (200, {"ok": True, "result": {}})]
    (tmp_path / "offset.json").unlink(missing_ok=True)
    with scripted_bot_api(script) as api:
        report = make_bot(api, tmp_path).poll_once()
    assert report.updates == len(updates)
    assert sum(report.replies.values()) + report.ignored + report.refused == len(updates)
