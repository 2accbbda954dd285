"""``tamizdat announce``'s decisions on a real signed site: what is new, what is a correction,
which mirrors are linked, the per-channel journal (first run, dry run, failures, crashes).

Deliveries go to the test outbox sender (support.outbox_sender), which can confirm delivery;
Telegram, which cannot, is tested against its emulator in tests/integration/channels/.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from support.announce_killing import run_announce_killing
from support.announce_site import (
    copy_site,
    mark_working,
    mirror_states,
    resign,
    signed_site,
    story,
    write_article,
)
from support.outbox_sender import REGISTRY, delivered
from tamizdat.channels.announcer import AnnounceReport, announce_channels
from tamizdat.channels.journal import journal_file
from tamizdat.cli import main
from tamizdat.config import load_config
from tamizdat.errors import ChannelError, ConfigError, ExitCode, UserError

ARTICLES = {
    "en/flood": story("Flood in the capital", "2026-03-01", tags=["weather", "city"]),
    "en/court": story("Court frees reporter", "2026-03-02", tags=["courts"]),
    "en/rain": story("More rain expected", "2026-03-03", tags=["weather"]),
    "ru/flood": story("Наводнение в столице", "2026-03-01", lang="ru", tags=["weather"]),
}


@pytest.fixture(scope="module")
def base_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return signed_site(tmp_path_factory.mktemp("announce") / "site", ARTICLES)


@pytest.fixture
def site(base_site: Path, tmp_path: Path) -> Path:
    return copy_site(base_site, tmp_path / "site")


def add_channel(site: Path, name: str = "out", *, confirm: bool = True, **keys: Any) -> Path:
    """Append an outbox ``[[channels]]`` entry; return its delivery folder."""
    folder = site.parent / f"outbox-{name}"
    options = keys.pop("options", {})
    kind = keys.pop("kind", "outbox")
    lines = ["", "[[channels]]", f'name = "{name}"', f'kind = "{kind}"']
    lines += [f"{k} = {json.dumps(v)}" for k, v in keys.items()]
    lines += ["[channels.options]"]
    if kind == "outbox":
        lines += [f"folder = {json.dumps(str(folder))}", f"confirm = {json.dumps(confirm)}"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in options.items()]
    with (site / "tamizdat.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return folder


def announce(site: Path, **kwargs: Any) -> AnnounceReport:
    return announce_channels(
        load_config(site),
        mirror_states=mirror_states(site),
        environ={},
        registry=REGISTRY,
        **kwargs,
    )


def titles(folder: Path) -> list[str]:
    return [s["title"] for row in delivered(folder) for s in row["stories"]]


def test_first_run_announces_the_newest_and_records_the_rest(site: Path) -> None:
    folder = add_channel(site, max_stories=2, languages=["en"])
    report = announce(site)
    assert report.errors == []
    assert titles(folder) == ["Court frees reporter", "More rain expected"]  # oldest first
    assert report.channels[0].started_at == 1
    again = announce(site)
    assert again.channels[0].sent == []
    assert len(delivered(folder)) == 1


def test_new_article_then_its_correction(site: Path) -> None:
    folder = add_channel(site, per_story=True, languages=["en"])
    announce(site)
    assert len(delivered(folder)) == 3
    write_article(site, "en/strike", story("Strike at the port", "2026-03-04"))
    resign(site)
    announce(site)
    assert titles(folder)[-1] == "Strike at the port"
    assert delivered(folder)[-1]["stories"][0]["correction"] is False
    write_article(
        site,
        "en/flood",
        story("Flood in the capital", "2026-03-01", tags=["weather"], updated="2026-03-05"),
    )
    resign(site)
    announce(site)
    last = delivered(folder)[-1]
    assert last["stories"] == [
        {"path": last["stories"][0]["path"], "title": "Flood in the capital", "correction": True}
    ]
    assert len(delivered(folder)) == 5
    assert announce(site).channels[0].sent == []


def test_a_built_but_unsigned_article_is_not_announced(site: Path) -> None:
    folder = add_channel(site, languages=["en"])
    announce(site)
    write_article(site, "en/secret", story("Not signed yet", "2026-03-09"))
    assert main(["-q", "-C", str(site), "build"]) == 0  # built, not signed
    announce(site)
    assert "Not signed yet" not in titles(folder)


def test_links_only_to_working_mirrors_of_the_signed_list(site: Path) -> None:
    folder = add_channel(site, languages=["en"], mirrors=5)
    announce(site)
    # m4 works but is unlisted: a public post must never reveal it.
    assert delivered(folder)[0]["mirrors"] == [
        "https://m1.example.net/",
        "https://m2.example.net/",
        "https://m3.example.net/",
    ]
    write_article(site, "en/strike", story("Strike at the port", "2026-03-04"))
    resign(site)
    mark_working(site, ["m2", "m4"])
    announce(site)
    assert delivered(folder)[-1]["mirrors"] == ["https://m2.example.net/"]


def test_no_working_mirror_is_an_error_naming_the_channel(site: Path) -> None:
    folder = add_channel(site)
    mark_working(site, [])
    report = announce(site)
    (error,) = report.errors
    assert isinstance(error, UserError)
    assert str(error).startswith("channel out: no mirror of the signed list")
    assert delivered(folder) == []


def test_languages_and_tags_select_stories(site: Path) -> None:
    ru = add_channel(site, "ru-weather", languages=["ru"], tags=["Weather"])
    en = add_channel(site, "en-weather", languages=["en"], tags=["weather"])
    announce(site)
    assert titles(ru) == ["Наводнение в столице"]
    assert [r["lang"] for r in delivered(ru)] == ["ru"]
    assert titles(en) == ["Flood in the capital", "More rain expected"]


def test_dont_miss_lists_related_stories_not_in_the_announcement(site: Path) -> None:
    folder = add_channel(site, per_story=True, languages=["en"])
    announce(site)
    by_title = {r["stories"][0]["title"]: r for r in delivered(folder)}
    rain = by_title["More rain expected"]
    assert rain["dont_miss"] == [by_title["Flood in the capital"]["stories"][0]["path"]]
    assert len(rain["fingerprint"]) == 64
    assert rain["site_dir"] == str(site.resolve())  # announce tells a sender where the site is


def test_dry_run_sends_nothing_and_leaves_the_journal_alone(site: Path) -> None:
    folder = add_channel(site)
    journal = journal_file(site / ".tamizdat", "out")
    report = announce(site, dry_run=True)
    assert [len(c.planned) for c in report.channels] == [2]  # one per language
    assert not journal.exists()
    assert delivered(folder) == []
    announce(site)
    before = journal.read_bytes()
    write_article(site, "en/strike", story("Strike at the port", "2026-03-04"))
    resign(site)
    report = announce(site, dry_run=True)
    assert [s["title"] for s in report.channels[0].planned[0]["stories"]] == ["Strike at the port"]
    assert journal.read_bytes() == before
    assert len(delivered(folder)) == 2


@pytest.mark.parametrize(
    ("kind", "message"),
    [("telegarm", "unknown channel kind 'telegarm'"), ("bundle", "does not announce")],
)
def test_a_bad_kind_is_a_config_error_naming_the_key(site: Path, kind: str, message: str) -> None:
    add_channel(site, kind=kind)
    for dry_run in (True, False):
        (error,) = announce(site, dry_run=dry_run).errors
        assert isinstance(error, ConfigError)
        assert message in error.message
        assert "channels[0].kind" in str(error.where)


def test_server_drops_mid_batch_then_rerun_sends_exactly_the_rest(site: Path) -> None:
    folder = add_channel(site, per_story=True, options={"refuse_after": 2})
    report = announce(site)
    (error,) = report.errors
    assert isinstance(error, ChannelError)
    assert "channel out" in str(error)
    assert len(delivered(folder)) == 2
    doc = json.loads(journal_file(site / ".tamizdat", "out").read_text())
    assert sorted(e["state"] for e in doc["entries"]) == ["failed", "sent", "sent"]
    text = (site / "tamizdat.toml").read_text().replace("refuse_after = 2", "refuse_after = 99")
    (site / "tamizdat.toml").write_text(text)
    assert announce(site).errors == []
    keys = [r["key"] for r in delivered(folder)]
    assert len(keys) == 4
    assert len(set(keys)) == 4


@pytest.mark.parametrize("confirm", [True, False])
def test_killed_after_k_deliveries_then_rerun(site: Path, confirm: bool) -> None:
    """Killed right after the 2nd delivery, before its journal entry: a sender that can
    confirm settles it and the re-run sends exactly the rest; one that cannot reports the
    key and never sends it twice."""
    folder = add_channel(site, per_story=True, confirm=confirm)
    killed = run_announce_killing(site, 2)
    assert killed.returncode < 0, killed.stderr  # SIGKILLed
    assert len(delivered(folder)) == 2
    rerun = run_announce_killing(site, 1_000)
    assert rerun.returncode == 0, rerun.stderr
    keys = [r["key"] for r in delivered(folder)]
    assert len(keys) == 4
    assert len(set(keys)) == 4
    unresolved = [line for line in rerun.stdout.splitlines() if line.startswith("unresolved")]
    assert len(unresolved) == (0 if confirm else 1)
    if not confirm:
        assert unresolved[0].split()[2] == keys[1]
        # The human checked the channel and says: send it again.
        again = run_announce_killing(site, 1_000, "--retry-pending")
        assert again.returncode == 0
        assert "unresolved" not in again.stdout
        assert len(delivered(folder)) == 4  # the outbox keeps one file per key


def test_a_digest_goes_out_once_per_period(site: Path) -> None:
    folder = add_channel(site, mode="digest", digest_hours=24, languages=["en"])
    noon = datetime(2026, 3, 10, 12, tzinfo=UTC)
    announce(site, now=noon)
    (first,) = delivered(folder)
    assert first["kind"] == "digest"
    assert [s["title"] for s in first["stories"]] == [
        "Flood in the capital", "Court frees reporter", "More rain expected",
    ]  # fmt: skip
    write_article(site, "en/strike", story("Strike at the port", "2026-03-04"))
    resign(site)
    assert announce(site, now=noon + timedelta(hours=23)).channels[0].sent == []
    announce(site, now=noon + timedelta(hours=24))
    assert titles(folder)[-1] == "Strike at the port"
    assert len(delivered(folder)) == 2


def test_the_signed_delta_bundle_rides_with_the_first_announcement_per_language(
    site: Path,
) -> None:
    from tamizdat.channels.bundle import read_bundle_safely

    folder = add_channel(site, per_story=True, attach_bundle=True)
    announce(site)
    rows = delivered(folder)
    with_bundle = [r for r in rows if r["attachment"]]
    assert sorted(r["lang"] for r in with_bundle) == ["en", "ru"]
    first = read_bundle_safely(Path(with_bundle[0]["attachment_file"]))
    assert (first.release, first.since) == (1, None)  # the whole release, the first time
    write_article(site, "en/strike", story("Strike at the port", "2026-03-04"))
    resign(site)
    announce(site)
    (last,) = delivered(folder)[len(rows) :]
    delta = read_bundle_safely(Path(last["attachment_file"]))
    assert (delta.release, delta.since) == (2, 1)  # only what changed since release 1
    assert last["attachment"] == "out-r1-r2.zip"
    assert len(delta.entries) < len(first.entries)


def test_an_oversized_bundle_stops_the_channel_before_sending(site: Path) -> None:
    folder = add_channel(site, attach_bundle=True, attach_max_bytes=1000)
    (error,) = announce(site).errors
    assert isinstance(error, UserError)
    assert "over attach_max_bytes = 1000" in error.message
    assert str(error.where).endswith("channels[0].attach_max_bytes")
    assert delivered(folder) == []
    assert not journal_file(site / ".tamizdat", "out").exists()


def test_cli_dry_run_json_and_one_line_errors(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_channel(site, "tg", kind="telegram", options={"chat_id": "@exile_news"})
    code = main(["-C", str(site), "announce", "--dry-run", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dry_run"] is True
    assert len(doc["channels"][0]["planned"]) == 2
    code = main(["-C", str(site), "announce", "--channel", "tg"])
    err = capsys.readouterr().err
    assert code == ExitCode.USER
    assert err.startswith("error: channel tg: the bot token is not set")
    assert "TAMIZDAT_TELEGRAM_TOKEN" in err
    assert not journal_file(site / ".tamizdat", "tg").exists()
    assert main(["-C", str(site), "announce", "--channel", "nope"]) == ExitCode.USER
    assert "no channel named 'nope'" in capsys.readouterr().err


def test_a_damaged_journal_is_reported_and_kept(site: Path) -> None:
    add_channel(site)
    journal = journal_file(site / ".tamizdat", "out")
    journal.parent.mkdir(parents=True, exist_ok=True)
    journal.write_bytes(b'{"format": 1, "channel": "out", "stories": [')
    (error,) = announce(site).errors
    assert "damaged" in error.message
    assert str(journal) in str(error)
    assert journal.read_bytes() == b'{"format": 1, "channel": "out", "stories": ['
