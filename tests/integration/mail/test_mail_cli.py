"""``tamizdat subscribers`` and ``tamizdat robot`` through ``main``, against aiosmtpd and
Dovecot on loopback, with a hand-written site (a signed release is only read for its first
root and its mirror list, as in the ``mirrors give`` tests)."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from support.mail import ENVIRON, ImapServer, MailServer, parse
from tamizdat.channels.requests import KEY_FILE_ENV
from tamizdat.cli import main
from tamizdat.layout import MIRRORS_JSON, metadata_path

NAMES = [f"m{i:02d}" for i in range(12)]


def _toml(value: Any) -> str:
    return json.dumps(value)  # a JSON string or number is a TOML one


def make_site(
    tmp_path: Path, smtp: MailServer, imap: ImapServer | None = None, **extra: Any
) -> Path:
    site, keys = tmp_path / "site", tmp_path / "keys"
    options = {k: v for k, v in smtp.options(tmp_path).items() if k != "site_dir"}
    if imap is not None:
        options |= {"imap_host": "127.0.0.1", "imap_port": imap.imaps_port,
                    "imap_user_env": "T_IMAP_USER", "imap_password_env": "T_IMAP_PASSWORD",
                    "imap_ca_file": str(imap.ca_file)}  # fmt: skip
    options |= extra
    lines = ["[site]", 'title = "Free Voice"', 'base_url = "https://free-voice.example/"',
             "[signing]", 'release_dir = "release"', f"keys_dir = {_toml(str(keys))}"]  # fmt: skip
    for name in NAMES:
        lines += ["[[mirrors]]", f'name = "{name}"', f'url = "file://{tmp_path / name}"',
                  f'public_url = "https://{name}.example/"', 'created = "2026-01-01"']  # fmt: skip
    lines += ["[[channels]]", 'name = "newsletter"', 'kind = "email"', "[channels.options]"]
    lines += [f"{k} = {_toml(v)}" for k, v in options.items()]
    site.mkdir()
    (site / "tamizdat.toml").write_text("\n".join(lines) + "\n")
    release = site / "release"
    (release / metadata_path("root", 1)).parent.mkdir(parents=True)
    (release / metadata_path("root", 1)).write_bytes(b'{"signed": {"_type": "root"}}')
    listed = [{"name": n, "public_url": f"https://{n}.example/"} for n in NAMES]
    (release / MIRRORS_JSON).write_text(json.dumps({"version": 1, "mirrors": listed}))
    history = site / ".tamizdat" / "mirrors-history.jsonl"
    history.parent.mkdir()
    when = datetime(2026, 1, 5, tzinfo=UTC).isoformat()
    rows = [{"time": when, "mirror": n, "state": "current", "version": 4, "latency_ms": 5}
            for n in NAMES]  # fmt: skip
    history.write_text("".join(json.dumps(r) + "\n" for r in rows))
    keys.mkdir()
    (keys / "distribution.key").write_bytes(b"K" * 32)
    return site


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    for key, value in ENVIRON.items():
        monkeypatch.setenv(key, value)


def run(site: Path, *args: str) -> int:
    return main(["-C", str(site), *args])


def listing(site: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert run(site, "--json", "subscribers", "list") == 0
    rows: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["subscribers"]
    return rows


def test_add_mails_a_code_and_only_confirm_subscribes(
    smtp: MailServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = make_site(tmp_path, smtp)
    assert run(site, "subscribers", "add", "Reader@Readers.Example", "--lang", "ru") == 0
    (accepted,) = smtp.handler.accepted
    message = parse(accepted.data)
    assert accepted.recipients == ["Reader@readers.example"]
    assert message["Auto-Submitted"] == "auto-replied"
    code = message["Subject"].rsplit("[", 1)[1].rstrip("]")
    assert f"confirm {code}" in message.get_content()
    assert [r["state"] for r in listing(site, capsys)] == ["pending"]
    assert run(site, "subscribers", "add", "reader@readers.example", "--lang", "ru") == 0
    assert len(smtp.handler.accepted) == 1  # asked again at once: no second mail
    assert run(site, "subscribers", "confirm", "not-the-code-at-all-xxxx") == 2
    assert run(site, "subscribers", "confirm", code) == 0
    assert [r["state"] for r in listing(site, capsys)] == ["confirmed"]
    assert run(site, "subscribers", "remove", "READER@readers.example") == 0
    assert listing(site, capsys) == []


def test_the_store_is_private_ignored_by_git_and_exportable(
    smtp: MailServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = make_site(tmp_path, smtp)
    listed = tmp_path / "list.csv"
    listed.write_text("address,lang\nana@readers.example,en\nboris@readers.example\n")
    assert run(site, "subscribers", "import", str(listed), "--lang", "ru", "--confirmed") == 0
    store = site / "private" / "subscribers.sqlite"
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert (site / "private" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert smtp.handler.accepted == []  # --confirmed: they opted in elsewhere
    out = tmp_path / "export.json"
    assert run(site, "subscribers", "export", "--format", "json", "-o", str(out)) == 0
    rows = json.loads(out.read_text())
    assert [(r["address"], r["lang"], r["state"]) for r in rows] == [
        ("ana@readers.example", "en", "confirmed"), ("boris@readers.example", "ru", "confirmed")]  # fmt: skip
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    capsys.readouterr()
    assert run(site, "subscribers", "export") == 0
    assert capsys.readouterr().out.startswith("address,lang,state,created,confirmed,failure\n")


BAD_IMPORTS = {
    "bad.csv": ("ana@readers.example,en\nbad address,en\n", "bad.csv:2"),
    "injection.csv": ('ana@readers.example,en\n"eve@evil.example\r\nBcc: x@y.example",en\n', "injection.csv:2"),
    "columns.csv": ("ana@readers.example,en,extra\n", "columns.csv:1"),
    "nolang.txt": ("ana@readers.example\n", "nolang.txt:1"),
    "list.json": ('{"address": "ana@readers.example"}', "list.json"),
    "item.json": ('["ana@readers.example", 7]', "item.json: [1]"),
    "notjson.json": ("[", "notjson.json"),
    "lang.csv": ("ana@readers.example,../../etc\n", "lang.csv:1"),
    "latin1.txt": ("ana@readers.example\n\xe9\n".encode("latin-1").decode("latin-1"), "latin1.txt"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BAD_IMPORTS))
def test_a_malformed_import_names_its_line_and_adds_nothing(
    name: str, smtp: MailServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = make_site(tmp_path, smtp)
    text, where = BAD_IMPORTS[name]
    file = tmp_path / name
    file.write_bytes(text.encode("latin-1" if name == "latin1.txt" else "utf-8"))
    capsys.readouterr()
    assert (
        run(
            site,
            "subscribers",
            "import",
            str(file),
            *([] if "nolang" in name else ["--lang", "en"]),
        )
        == 2
    )
    error = capsys.readouterr().err.strip().splitlines()[0]
    assert error.startswith("error: ")
    assert where in error
    assert listing(site, capsys) == []
    assert smtp.handler.accepted == []


@pytest.mark.parametrize("folder", ["public", "release", "content", "static", "theme"])
def test_the_subscriber_store_is_never_put_in_a_published_folder(
    folder: str, smtp: MailServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = make_site(tmp_path, smtp, subscribers_file=f"{folder}/people.sqlite")
    capsys.readouterr()
    assert run(site, "subscribers", "add", "ana@readers.example", "--lang", "en") == 2
    assert "would be published" in capsys.readouterr().err
    assert not (site / folder / "people.sqlite").exists()
    assert smtp.handler.accepted == []


def test_robot_once_answers_through_the_distributor_and_never_twice(
    smtp: MailServer, dovecot: ImapServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("T_IMAP_USER", dovecot.user)
    monkeypatch.setenv("T_IMAP_PASSWORD", dovecot.password)
    site = make_site(tmp_path, smtp, dovecot)
    dovecot.deliver(b"From: ana@readers.example\r\nSubject: mirrors\r\n\r\nhi\r\n")
    dovecot.deliver(b"From: MAILER-DAEMON@readers.example\r\nSubject: mirrors\r\n\r\nx\r\n")
    capsys.readouterr()
    assert run(site, "--json", "robot", "--once") == 0
    (source,) = json.loads(capsys.readouterr().out)["sources"]
    assert source == {"channel": "newsletter", "kind": "email", "answered": 1, "refused": 0,
                      "ignored": 1, "replies": {"mirrors": 1}, "error": None}  # fmt: skip
    (answer,) = smtp.handler.accepted
    assert "https://m" in parse(answer.data).get_content()
    assert run(site, "robot") == 0
    assert capsys.readouterr().out.strip() == "newsletter (email): no new requests"
    assert len(smtp.handler.accepted) == 1


def test_robot_without_its_imap_secret_is_one_line_naming_the_channel(
    smtp: MailServer, dovecot: ImapServer, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("T_IMAP_USER", dovecot.user)
    monkeypatch.delenv("T_IMAP_PASSWORD", raising=False)
    site = make_site(tmp_path, smtp, dovecot)
    capsys.readouterr()
    assert run(site, "robot", "--once") == 2
    (line, *_) = capsys.readouterr().err.splitlines()
    assert "channel newsletter: options.imap_password_env" in line
    assert "T_IMAP_PASSWORD" in line
