"""``tamizdat announce`` through the e-mail channel end to end: a signed site, its
``[[channels]]`` entry of kind ``email`` (the registry's EmailSender, made with announce's
site options), subscribers in the site's store, aiosmtpd on loopback. Each confirmed reader
of the language receives the new stories once; a second run sends nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.announce_site import copy_site, mark_working, mirror_states, signed_site, story
from support.mail import ENVIRON, MailServer
from tamizdat.channels.announcer import announce_channels
from tamizdat.channels.email.subscribers import DEFAULT_STORE, SubscriberStore
from tamizdat.config import load_config

ARTICLES = {
    "en/flood": story("Flood in the capital", "2026-03-01", tags=["weather"]),
    "en/court": story("Court frees reporter", "2026-03-02", tags=["courts"]),
    "ru/flood": story("Наводнение в столице", "2026-03-01", lang="ru", tags=["weather"]),
}


@pytest.fixture(scope="module")
def base_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return signed_site(tmp_path_factory.mktemp("announce-mail") / "site", ARTICLES)


def test_announce_mails_each_confirmed_reader_of_the_language_once(
    base_site: Path, smtp: MailServer, tmp_path: Path
) -> None:
    site = copy_site(base_site, tmp_path / "site")
    options = {k: v for k, v in smtp.options(tmp_path).items() if k != "site_dir"}
    lines = ["", "[[channels]]", 'name = "newsletter"', 'kind = "email"', "max_stories = 10",
             "[channels.options]", *[f"{k} = {json.dumps(v)}" for k, v in options.items()]]  # fmt: skip
    with (site / "tamizdat.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    with SubscriberStore(site / DEFAULT_STORE) as store:
        store.import_rows([("ana@readers.example", "en", "t"), ("boris@readers.example", "ru", "t")],
                          0.0, confirmed=True)  # fmt: skip
        store.add("pending@readers.example", "en", 0.0)
    mark_working(site, ["m1", "m2", "m3"])
    config = load_config(site)
    report = announce_channels(config, mirror_states=mirror_states(site), environ=ENVIRON)
    assert report.errors == []
    got = {r: [a.message for a in smtp.handler.received_by(r)] for r in
           ("ana@readers.example", "boris@readers.example", "pending@readers.example")}  # fmt: skip
    assert got["pending@readers.example"] == []
    assert len(got["ana@readers.example"]) >= 1
    assert len(got["boris@readers.example"]) >= 1
    english = "\n".join(m.get_body(("plain",)).get_content() for m in got["ana@readers.example"])  # type: ignore[union-attr]
    assert "Court frees reporter" in english
    assert "Наводнение" not in english
    russian = "\n".join(m.get_body(("plain",)).get_content() for m in got["boris@readers.example"])  # type: ignore[union-attr]
    assert "Наводнение в столице" in russian
    assert "мин чтения" in russian
    count = len(smtp.handler.accepted)
    again = announce_channels(load_config(site), mirror_states=mirror_states(site), environ=ENVIRON)
    assert again.errors == []
    assert len(smtp.handler.accepted) == count  # nothing new: nothing sent twice
