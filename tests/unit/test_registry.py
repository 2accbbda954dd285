"""The one registry of store kinds and channels: declarations, clashes, lazy loading."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tamizdat.channels.base import (
    Channel,
    ChannelReport,
    ChannelRequest,
    is_sender_factory,
    load_channel,
)
from tamizdat.errors import InternalError, UserError
from tamizdat.registry import BUILTINS, Extension, Registry


def test_builtins_declare_every_store_and_channel_once() -> None:
    assert [e.name for e in BUILTINS.of_kind("store")] == ["file", "s3", "sftp", "webdav"]
    assert [e.name for e in BUILTINS.of_kind("channel")] == ["bundle", "zim", "telegram", "email"]


@pytest.mark.parametrize("extension", BUILTINS.extensions, ids=lambda e: f"{e.kind}-{e.name}")
def test_every_builtin_target_exists(extension: Extension) -> None:
    module, _, attribute = extension.target.partition(":")
    __import__(module)
    assert hasattr(sys.modules[module], attribute)


def test_builtin_channels_implement_the_protocol() -> None:
    for declared in BUILTINS.of_kind("channel"):
        if is_sender_factory(declared.load()):  # announces: made per [[channels]] entry
            with pytest.raises(UserError, match="announces releases"):
                load_channel(declared.name)
            continue
        channel = load_channel(declared.name)
        assert isinstance(channel, Channel)
        assert channel.name == declared.name
        assert channel.stage == "export"


def test_a_new_channel_registers_like_a_builtin() -> None:
    registry = BUILTINS.register(Extension("channel", "echo", "tests_echo:EchoChannel"))
    assert registry is not BUILTINS
    assert [e.name for e in registry.of_kind("channel")][-1] == "echo"
    assert "echo" not in [e.name for e in BUILTINS.of_kind("channel")]  # unchanged


def test_two_stores_cannot_claim_one_scheme() -> None:
    with pytest.raises(ValueError, match="scheme 's3' is claimed by stores 's3' and 'mine'"):
        BUILTINS.register(Extension("store", "mine", "x:y", schemes=("s3",)))


def test_a_name_is_declared_once_per_kind() -> None:
    with pytest.raises(ValueError, match="channel 'zim' is declared twice"):
        BUILTINS.register(Extension("channel", "zim", "x:y"))


def test_malformed_declarations_are_refused() -> None:
    with pytest.raises(ValueError, match="expected 'module:attribute'"):
        Extension("channel", "bad", "no-colon")
    with pytest.raises(ValueError, match="at least one URL scheme"):
        Extension("store", "bad", "x:y")


def test_an_unknown_channel_says_which_exist() -> None:
    with pytest.raises(
        UserError, match=r"no channel named 'mail' \(declared: bundle, zim, telegram"
    ):
        load_channel("mail")


def test_a_missing_backend_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "needy_channel.py").write_text("import not_installed_backend_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry((Extension("channel", "needy", "needy_channel:Thing", extra="needy"),))
    with pytest.raises(UserError, match="needs the 'needy' extra") as caught:
        load_channel("needy", registry)
    assert caught.value.hint == "pip install 'tamizdat[needy]'"
    assert "not_installed_backend_xyz is not installed" in caught.value.message


def test_our_own_broken_module_is_not_blamed_on_an_extra() -> None:
    registry = Registry((Extension("channel", "gone", "tamizdat.no_such_module:X", extra="x"),))
    with pytest.raises(ImportError):
        load_channel("gone", registry)


def test_something_that_is_not_a_channel_is_a_bug() -> None:
    registry = Registry((Extension("channel", "json", "json:JSONDecoder"),))
    with pytest.raises(InternalError, match="is not a channel"):
        load_channel("json", registry)


def test_reports_are_frozen_and_serialisable() -> None:
    report = ChannelReport("bundle", 3, ("a.zip",), {"objects": 2})
    assert report.to_dict() == {
        "channel": "bundle", "release": 3, "outputs": ["a.zip"], "counts": {"objects": 2},
        "notes": [],
    }  # fmt: skip
    with pytest.raises(AttributeError):
        report.release = 4  # type: ignore[misc]


def test_an_export_without_output_is_a_user_error() -> None:
    request = ChannelRequest(Path("release"), config=None)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="the bundle channel writes a file"):
        load_channel("bundle").deliver(request)
