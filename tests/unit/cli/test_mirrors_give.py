"""``tamizdat mirrors give`` and the bucket report of ``mirrors check``, through ``main``.

The site is written by hand: a signed release is only read for its first root (the
fingerprint) and its mirror list, and the check's mirrors all point at a closed port on
127.0.0.1 (unreachable at once, nothing leaves the machine).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tamizdat.channels.distributor import Distributor
from tamizdat.channels.requests import KEY_FILE_ENV
from tamizdat.cli import main
from tamizdat.config import load_config
from tamizdat.errors import ExitCode
from tamizdat.layout import MIRRORS_JSON, metadata_path
from tamizdat.publish.mirrorlist import build_mirror_lists

NAMES = [f"m{i:02d}" for i in range(12)]
DEAD = "http://127.0.0.1:9/"
ROOT = b'{"signed": {"_type": "root"}}'
KEY = b"K" * 32


def _site(
    tmp_path: Path,
    *,
    working: list[str],
    key: bool = True,
    extra: str = "",
    unlisted: tuple[str, ...] = (),
) -> Path:
    site = tmp_path / "site"
    keys = tmp_path / "keys"
    lines = [
        "[site]",
        'title = "Exile News"',
        'base_url = "https://exile-news.example/"',
        "[signing]",
        'release_dir = "release"',
        f"keys_dir = {json.dumps(str(keys))}",
    ]
    for name in NAMES:
        lines += [
            "[[mirrors]]",
            f'name = "{name}"',
            f'url = "file://{tmp_path / name}"',
            f'public_url = "{DEAD}{name}/"',
            'created = "2026-01-01"',
            *(["listed = false"] if name in unlisted else []),
        ]
    site.mkdir()
    (site / "tamizdat.toml").write_text("\n".join(lines) + "\n" + extra)
    release = site / "release"
    (release / metadata_path("root", 1)).parent.mkdir(parents=True)
    (release / metadata_path("root", 1)).write_bytes(ROOT)
    timestamp = {"signed": {"meta": {"snapshot.json": {"version": 4}}}}
    (release / metadata_path("timestamp", None)).write_text(json.dumps(timestamp))
    listed = [{"name": n, "public_url": f"{DEAD}{n}/"} for n in NAMES if n not in unlisted]
    (release / MIRRORS_JSON).write_text(json.dumps({"version": 1, "mirrors": listed}))
    history = site / ".tamizdat" / "mirrors-history.jsonl"
    history.parent.mkdir()
    checked = datetime(2026, 1, 5, tzinfo=UTC).isoformat()
    rows = [
        {
            "time": checked,
            "mirror": n,
            "state": "current" if n in working else "unreachable",
            "version": 4,
            "latency_ms": 5,
        }
        for n in NAMES
    ]
    history.write_text("".join(json.dumps(r) + "\n" for r in rows))
    if key:
        keys.mkdir()
        (keys / "distribution.key").write_bytes(KEY)
    return site


@pytest.fixture(autouse=True)
def _no_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)


def _give(site: Path, *extra: str) -> list[str]:
    return ["-C", str(site), *extra, "mirrors", "give"]


def test_give_answers_from_working_signed_mirrors_and_repeats_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _site(tmp_path, working=NAMES[:8])
    args = [*_give(site, "--json"), "--channel", "email", "--requester", "Alice@Example.org"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    assert main([*args[:-1], "alice+x@example.org"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert first == again
    names = [m["name"] for m in first["mirrors"]]
    assert 1 <= len(names) <= 3
    assert set(names) <= set(NAMES[:8])
    assert first["fingerprint"] == hashlib.sha256(ROOT).hexdigest()
    dist = Distributor(KEY, first["fingerprint"])
    assert all(str(dist.bucket_of(n)) == first["served_from"] for n in names)
    # the store beside the site holds no address
    store = site / ".tamizdat" / "distribution-requests.sqlite"
    assert b"alice" not in store.read_bytes().lower()


def test_give_follows_the_distribution_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = '[distribution]\nchannels = ["signal"]\nanswer_size = 1\nrate_limit = 1\n'
    site = _site(tmp_path, working=NAMES, extra=extra)
    args = [*_give(site, "--json"), "--channel", "signal", "--requester", "Someone"]
    assert main(args) == 0
    answer = json.loads(capsys.readouterr().out)
    assert len(answer["mirrors"]) == 1
    assert answer["bucket"].startswith("signal/")
    assert main(args) == ExitCode.USER  # rate_limit = 1
    assert main([*args[:-3], "email", "--requester", "a@example.org"]) == ExitCode.USER
    assert "unknown channel 'email'" in capsys.readouterr().err


def test_give_human_output_is_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _site(tmp_path, working=NAMES)
    assert main([*_give(site), "--channel", "telegram", "--requester", "4242"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("Working addresses today:")
    assert "Publisher fingerprint:" in text
    assert "tamizdat verify URL --fingerprint" in text


def test_give_refuses_the_fourth_request_with_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _site(tmp_path, working=NAMES)
    args = [*_give(site), "--channel", "email", "--requester", "bob@example.org"]
    for _ in range(3):
        assert main(args) == 0
    capsys.readouterr()
    assert main(args) == ExitCode.USER
    err = capsys.readouterr().err
    assert err.startswith("error: email requester: requester already received 3 answers")
    assert "bob" not in err


def test_give_without_a_key_says_where_to_put_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _site(tmp_path, working=NAMES, key=False)
    code = main([*_give(site), "--channel", "email", "--requester", "a@example.org"])
    assert code == ExitCode.USER
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first == f"error: {tmp_path / 'keys' / 'distribution.key'}: no distribution key"
    assert KEY_FILE_ENV in err


@pytest.mark.parametrize(
    ("channel", "requester", "message"),
    [
        ("sms", "a@example.org", "unknown channel 'sms'"),
        ("email", "not-an-address", "expected an e-mail address"),
        ("telegram", "@someone", "expected a numeric Telegram user id"),
    ],
)
def test_give_bad_input_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], channel: str, requester: str, message: str
) -> None:
    site = _site(tmp_path, working=NAMES)
    code = main([*_give(site), "--channel", channel, "--requester", requester])
    assert code == ExitCode.USER
    assert message in capsys.readouterr().err.splitlines()[0]


def test_give_with_nothing_working_says_run_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _site(tmp_path, working=[])
    code = main([*_give(site), "--channel", "email", "--requester", "a@example.org"])
    assert code == ExitCode.USER
    assert "mirrors check" in capsys.readouterr().err


def test_check_reports_the_bucket_and_median_time_to_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _site(tmp_path, working=NAMES)  # all fine on 5 January, all dead now
    code = main(["-C", str(site), "--json", "mirrors", "check", "--timeout", "2"])
    assert code == ExitCode.UNREACHABLE
    report = json.loads(capsys.readouterr().out)
    dist = Distributor(KEY, hashlib.sha256(ROOT).hexdigest())
    expected = {n: str(dist.bucket_of(n)) for n in NAMES}
    assert report["distribution"]["mirror_buckets"] == expected
    blocked_after = (datetime.now(UTC) - datetime(2026, 1, 1, tzinfo=UTC)).total_seconds()
    for channel, row in report["distribution"]["per_channel"].items():
        assert row["blocked"] == sum(1 for b in expected.values() if b.startswith(channel + "/"))
        # the history says they failed first in this check: created 1 January → now
        assert row["median_time_to_block_seconds"] == pytest.approx(blocked_after, abs=600)
    assert sum(r["blocked"] for r in report["distribution"]["per_bucket"].values()) == 12

    assert main(["-C", str(site), "mirrors", "check", "--timeout", "2"]) == ExitCode.UNREACHABLE
    text = capsys.readouterr().out
    assert f"m00: blocked, leaked by bucket {expected['m00']}" in text
    assert "median time-to-block" in text


def test_check_names_the_fallback_leak_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dist = Distributor(KEY, hashlib.sha256(ROOT).hexdigest())
    home = dist.group_ranking("email", "carol@example.org")[0]
    site = _site(tmp_path, working=[n for n in NAMES if dist.bucket_of(n) != home])
    assert (
        main([*_give(site, "--json"), "--channel", "email", "--requester", "carol@example.org"])
        == 0
    )
    answer = json.loads(capsys.readouterr().out)
    assert answer["fallback"] is True
    assert answer["bucket"] == str(home)
    given = [m["name"] for m in answer["mirrors"]]
    assert main(["-C", str(site), "--json", "mirrors", "check", "--timeout", "2"]) == 7
    report = json.loads(capsys.readouterr().out)["distribution"]
    assert report["fallback_buckets"] == {n: [str(home)] for n in given}
    assert main(["-C", str(site), "mirrors", "check", "--timeout", "2"]) == 7
    assert f"(also given by fallback to {home})" in capsys.readouterr().out


def test_check_with_a_corrupt_request_store_still_reports_and_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _site(tmp_path, working=NAMES)
    store = site / ".tamizdat" / "distribution-requests.sqlite"
    store.write_bytes(b"not a database" * 200)
    assert main(["-C", str(site), "--json", "mirrors", "check", "--timeout", "2"]) == 7
    captured = capsys.readouterr()
    assert json.loads(captured.out)["distribution"]["fallback_buckets"] == {}
    assert "warning:" in captured.err
    assert str(store) in captured.err
    assert store.read_bytes() == b"not a database" * 200


def test_check_without_a_key_reports_no_buckets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _site(tmp_path, working=NAMES, key=False)
    assert main(["-C", str(site), "--json", "mirrors", "check", "--timeout", "2"]) == 7
    assert json.loads(capsys.readouterr().out)["distribution"] is None


def test_unlisted_mirrors_are_handed_out_though_no_signed_list_names_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hidden = tuple(NAMES)  # every mirror unlisted: only the distributor knows them
    site = _site(tmp_path, working=NAMES, unlisted=hidden)
    args = [*_give(site, "--json"), "--channel", "email", "--requester", "bob@example.org"]
    assert main(args) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["mirrors"]
    assert {m["name"] for m in answer["mirrors"]} <= set(hidden)


def test_unlisted_mirrors_stay_out_of_every_signed_list(tmp_path: Path) -> None:
    site = _site(tmp_path, working=NAMES, unlisted=("m01", "m02"))
    config = load_config(site)
    files = build_mirror_lists(config.site.base_url, config.mirrors)
    for path, data in files.items():
        assert b"m01" not in data, path
        assert b"m02" not in data, path
    assert b"m03" in files[MIRRORS_JSON]


def test_mirrors_add_unlisted_writes_listed_false(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _site(tmp_path, working=NAMES)
    args = ["-C", str(site), "--json", "mirrors", "add", "hidden", f"file://{tmp_path / 'h'}",
            "--public-url", "https://hidden.example/", "--unlisted"]  # fmt: skip
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["listed"] is False
    assert "listed = false" in (site / "tamizdat.toml").read_text()


def test_listed_must_be_a_boolean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = _site(tmp_path, working=NAMES, extra="")
    text = (
        (site / "tamizdat.toml").read_text().replace('name = "m00"', 'name = "m00"\nlisted = "no"')
    )
    (site / "tamizdat.toml").write_text(text)
    assert main(["-C", str(site), "mirrors", "list"]) == ExitCode.USER
    assert "listed" in capsys.readouterr().err
