"""Meta-tests: the error tree is documented and complete; public API lists name real things."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from types import ModuleType

import pytest

import tamizdat
from tamizdat import errors
from tamizdat.cli import _EPILOG
from tamizdat.errors import ExitCode, TamizdatError

ERROR_CLASSES = [
    getattr(errors, name)
    for name in errors.__all__
    if inspect.isclass(getattr(errors, name)) and issubclass(getattr(errors, name), Exception)
]
_TREE_LINE = re.compile(r"^(?P<indent>[ │├└─]*)(?P<name>[A-Z][A-Za-z]*Error)\b")


def _docstring_tree() -> dict[str, str | None]:
    """``class name → parent name`` as drawn in the errors module docstring."""
    parents: dict[str, str | None] = {}
    stack: list[tuple[int, str]] = []
    for line in (errors.__doc__ or "").splitlines():
        match = _TREE_LINE.match(line)
        if not match:
            continue
        depth = len(match.group("indent"))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parents[match.group("name")] = stack[-1][1] if stack else None
        stack.append((depth, match.group("name")))
    return parents


def test_error_classes_are_found() -> None:
    assert TamizdatError in ERROR_CLASSES
    assert len(ERROR_CLASSES) >= 20
    assert all(issubclass(cls, TamizdatError) for cls in ERROR_CLASSES)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_error_class_is_in_the_docstring_tree_under_its_parent(cls: type[TamizdatError]) -> None:
    tree = _docstring_tree()
    assert cls.__name__ in tree, f"{cls.__name__} is missing from the tree in errors.py"
    parent = cls.__mro__[1]
    expected = None if cls is TamizdatError else parent.__name__
    assert tree[cls.__name__] == expected, (
        f"the tree draws {cls.__name__} under {tree[cls.__name__]}, the class derives from "
        f"{parent.__name__}"
    )


def test_docstring_tree_names_only_real_classes() -> None:
    names = {cls.__name__ for cls in ERROR_CLASSES}
    assert set(_docstring_tree()) == names


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda c: c.__name__)
def test_error_class_has_an_exit_code_and_a_docstring(cls: type[TamizdatError]) -> None:
    assert isinstance(cls.exit_code, ExitCode)
    assert (cls.__doc__ or "").strip()
    error = cls("expected a, found b", where="file.toml:3", hint="fix it")
    assert (error.message, error.where, error.hint) == (
        "expected a, found b",
        "file.toml:3",
        "fix it",
    )


def test_every_exit_code_is_documented_in_the_main_help() -> None:
    listed = _EPILOG[_EPILOG.index("exit codes:") :]
    for code in ExitCode:
        assert re.search(rf"\b{int(code)} \w", listed), f"exit code {int(code)} is not explained"


def test_untrusted_content_is_never_exit_0_or_user_error() -> None:
    for cls in ERROR_CLASSES:
        if issubclass(cls, errors.UntrustedContentError):
            assert cls.exit_code not in (ExitCode.OK, ExitCode.USER, ExitCode.INTERNAL), cls


def _packages() -> list[ModuleType]:
    found = [tamizdat]
    for info in pkgutil.walk_packages(tamizdat.__path__, "tamizdat."):
        if info.ispkg:
            found.append(importlib.import_module(info.name))
    return found


PACKAGES = _packages()


def test_packages_are_found() -> None:
    names = {p.__name__ for p in PACKAGES}
    assert {"tamizdat", "tamizdat.trust", "tamizdat.cli", "tamizdat.config"} <= names


def _exported(package: ModuleType, name: str) -> bool:
    """A name in ``__all__`` is an attribute, or a submodule ``from package import *`` loads."""
    if hasattr(package, name):
        return True
    try:
        importlib.import_module(f"{package.__name__}.{name}")
    except ModuleNotFoundError:
        return False
    return True


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_package_all_names_exist(package: ModuleType) -> None:
    exported = getattr(package, "__all__", [])
    assert len(set(exported)) == len(exported), f"{package.__name__}.__all__ repeats a name"
    missing = [name for name in exported if not _exported(package, name)]
    assert not missing, f"{package.__name__}.__all__ names missing attributes: {missing}"
