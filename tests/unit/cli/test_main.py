"""``tamizdat.cli.main``: every error becomes one ``error:`` line and its exit code; every
command's ``--help`` works and shows an example.

The error tests register a throwaway command group (so they do not depend on any real
command); the help tests walk the real argparse tree, so a new command without an example
in its epilog fails here.
"""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import tamizdat.cli as cli
from tamizdat import errors
from tamizdat.cli import build_parser, main
from tamizdat.errors import ExitCode, TamizdatError

ERROR_CLASSES = [
    getattr(errors, name)
    for name in errors.__all__
    if inspect.isclass(getattr(errors, name)) and issubclass(getattr(errors, name), TamizdatError)
]


def _throwaway_group(exc: BaseException) -> SimpleNamespace:
    """A command group with one command, ``boom``, whose handler raises ``exc``."""

    def handler(args: argparse.Namespace, out: Any) -> int:
        raise exc

    def register(sub: Any) -> None:
        parser = sub.add_parser("boom", help="raise an error (test only)")
        parser.set_defaults(handler=handler)

    return SimpleNamespace(register=register)


@pytest.fixture
def raising(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """``raising(exc)`` makes ``tamizdat boom`` raise ``exc``."""

    def install(exc: BaseException) -> None:
        monkeypatch.setattr(cli, "_GROUPS", (_throwaway_group(exc),))

    return install


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_error_is_one_line_hint_and_exit_code(cls, raising, capsys) -> None:  # type: ignore[no-untyped-def]
    raising(cls("expected 3 keys, found 2", where="tamizdat.toml: signing.keys", hint="add one"))
    assert main(["boom"]) == int(cls.exit_code)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert _lines(captured.err) == [
        "error: tamizdat.toml: signing.keys: expected 3 keys, found 2",
        "hint: add one",
    ]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_error_without_hint_or_where_is_exactly_one_line(cls, raising, capsys) -> None:  # type: ignore[no-untyped-def]
    raising(cls("expected a release, found nothing"))
    assert main(["-q", "boom"]) == int(cls.exit_code)
    assert _lines(capsys.readouterr().err) == ["error: expected a release, found nothing"]


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_error_as_json_document(cls, raising, capsys) -> None:  # type: ignore[no-untyped-def]
    raising(cls("expected 200, found 503", where="mirror-A", hint="try another mirror"))
    assert main(["--json", "boom"]) == int(cls.exit_code)
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {
        "error": {
            "type": cls.__name__,
            "message": "expected 200, found 503",
            "where": "mirror-A",
            "hint": "try another mirror",
            "exit_code": int(cls.exit_code),
        }
    }
    assert _lines(captured.err)[0] == "error: mirror-A: expected 200, found 503"


def test_unexpected_exception_is_an_internal_error(raising, capsys) -> None:  # type: ignore[no-untyped-def]
    raising(ZeroDivisionError("division by zero"))
    assert main(["boom"]) == int(ExitCode.INTERNAL)
    err = _lines(capsys.readouterr().err)
    assert err[0] == "error: internal error: ZeroDivisionError: division by zero"
    assert err[1].startswith("hint: this is a bug in tamizdat")
    assert len(err) == 2


def test_unexpected_exception_raises_with_debug(raising) -> None:  # type: ignore[no-untyped-def]
    raising(ZeroDivisionError("division by zero"))
    with pytest.raises(ZeroDivisionError):
        main(["--debug", "boom"])


def test_interrupt_exits_130(raising, capsys) -> None:  # type: ignore[no-untyped-def]
    raising(KeyboardInterrupt())
    assert main(["boom"]) == 130
    assert _lines(capsys.readouterr().err) == ["interrupted"]


def test_no_command_prints_help_and_exits_2(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([]) == int(ExitCode.USER)
    assert "usage: tamizdat" in capsys.readouterr().out


# --- every command's --help ---------------------------------------------------------------


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen: set[int] = set()
            for name, child in action.choices.items():
                if id(child) not in seen:  # aliases share a parser
                    seen.add(id(child))
                    yield from _walk(child, (*path, name))


COMMANDS = dict(_walk(build_parser()))


def _has_example(epilog: str | None) -> bool:
    text = epilog or ""
    lowered = text.lower()
    return (
        "example" in lowered
        or "e.g." in lowered
        or any(line.strip().startswith("tamizdat ") for line in text.splitlines())
    )


def test_command_tree_is_walked() -> None:
    assert {("verify",), ("build",)} <= set(COMMANDS)
    assert len(COMMANDS) > 5


@pytest.mark.parametrize("path", sorted(COMMANDS), ids=lambda p: " ".join(p) or "tamizdat")
def test_help_exits_0_and_shows_an_example(path: tuple[str, ...], capsys) -> None:  # type: ignore[no-untyped-def]
    parser = COMMANDS[path]
    assert _has_example(parser.epilog), (
        f"'tamizdat {' '.join(path)}' needs an epilog with an example "
        "(a 'tamizdat …' line, 'example' or 'e.g.')"
    )
    assert issubclass(parser.formatter_class, argparse.RawDescriptionHelpFormatter), (
        "use formatter_class=argparse.RawDescriptionHelpFormatter so examples keep their lines"
    )
    with pytest.raises(SystemExit) as done:
        main([*path, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tamizdat")
    first_epilog_line = next(line for line in (parser.epilog or "").splitlines() if line.strip())
    assert first_epilog_line in out


@pytest.mark.parametrize("path", sorted(p for p in COMMANDS if p), ids=lambda p: " ".join(p))
def test_command_has_help_text_in_its_group(path: tuple[str, ...]) -> None:
    parent = COMMANDS[path[:-1]]
    action = next(a for a in parent._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in action._choices_actions}
    assert helps.get(path[-1]), f"'tamizdat {' '.join(path)}' has no help text in its group"


def test_a_closed_pipe_is_not_an_internal_error() -> None:
    done = subprocess.run(
        f"{sys.executable} -m tamizdat --json channels | head -c 1",
        shell=True, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0
    assert "internal error" not in done.stderr
    assert done.stdout == "{"


def test_a_channel_without_a_signed_release_says_what_to_run(tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert main(["-q", "init", str(site)]) == 0
    for channel in ("bundle", "zim"):
        done = subprocess.run(
            [sys.executable, "-m", "tamizdat", "-C", str(site), channel, "-o", str(tmp_path / "x")],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 2, channel
        assert "no signed release here" in done.stderr
        assert "run 'tamizdat build' and 'tamizdat sign' first" in done.stderr
        assert not (tmp_path / "x").exists()
