"""The import graph follows the pipeline: no cycle between packages, no arrow pointing up.

Every ``import`` in ``src/tamizdat`` counts, also those inside functions (a lazy import is
still a dependency). A unit is a top-level package (``render``), a trust sub-package
(``trust.verify``; ``trust`` itself holds the log format both sides share) or the bottom
layer (the top-level modules ``errors``, ``layout``, …).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import tamizdat

SRC = Path(tamizdat.__file__).parent

# What each unit may import (besides itself). Lower layers come first; an arrow to anything
# not listed here is an arrow up the pipeline, or sideways between stages that must not
# know each other.
BASE = "base"
ALLOWED: dict[str, set[str]] = {
    BASE: set(),
    "config": {BASE},
    "content": {BASE, "config"},
    "web": {BASE},
    "render": {BASE, "config", "content", "web"},
    "scaffold": {BASE, "config", "content"},
    "transport": {BASE},
    "release": {BASE},
    "trust": {BASE},
    "trust.verify": {BASE, "transport", "release", "trust"},
    "trust.sign": {BASE, "config", "release", "trust", "trust.verify"},
    "publish": {BASE, "config", "transport", "release", "trust", "trust.verify", "trust.sign"},
    # channels → render: the newsletter is rendered with the theme's templates (one loader,
    # the same site overrides and third-party check as pages), from inside the sender.
    "channels": {
        BASE,
        "config",
        "content",
        "render",
        "transport",
        "release",
        "trust",
        "trust.verify",
    },
    "reader": {BASE, "transport", "release", "trust", "trust.verify", "channels"},
    "cli": {
        BASE,
        "config",
        "content",
        "render",
        "web",
        "scaffold",
        "transport",
        "release",
        "trust",
        "trust.verify",
        "trust.sign",
        "publish",
        "channels",
        "reader",
    },
}


def _unit(module: str) -> str | None:
    """``tamizdat.trust.verify.policy`` → ``trust.verify``; top-level modules → base."""
    parts = module.split(".")
    if parts[0] != "tamizdat":
        return None
    if len(parts) == 1:
        return BASE
    if parts[1] == "trust":  # the trust package itself and trust/log.py: "trust"
        sub = SRC / "trust" / parts[2] if len(parts) >= 3 else None
        return f"trust.{parts[2]}" if sub is not None and sub.is_dir() else "trust"
    if (SRC / parts[1]).is_dir():
        return parts[1]
    return BASE


def _module_name(file: Path) -> str:
    relative = file.relative_to(SRC.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(file: Path) -> Iterator[tuple[str, int]]:
    tree = ast.parse(file.read_text(), str(file))
    package = (
        _module_name(file) if file.name == "__init__.py" else _module_name(file).rpartition(".")[0]
    )
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            yield name, node.lineno
            for alias in node.names:  # ``from tamizdat.trust import verify`` names a package
                yield f"{name}.{alias.name}", node.lineno


def _arrows() -> Iterator[tuple[str, str, str]]:
    """``(from unit, to unit, "file:line")`` for every import between two units."""
    for file in sorted(SRC.rglob("*.py")):
        module = _module_name(file)
        if module in ("tamizdat", "tamizdat.__main__"):
            continue  # the package marker and ``python -m tamizdat`` (which runs the CLI)
        source = _unit(module)
        assert source is not None
        for name, line in _imports(file):
            target = _unit(name)
            if target is None or target == source:
                continue
            if (
                not (SRC.parent / name.replace(".", "/")).exists()
                and not (SRC.parent / (name.replace(".", "/") + ".py")).exists()
            ):
                continue  # ``from package import function``: the package was counted
            yield source, target, f"{file.relative_to(SRC.parent)}:{line}"


def test_every_unit_is_declared() -> None:
    units = {_unit(_module_name(f)) for f in SRC.rglob("*.py")} - {None}
    assert units <= ALLOWED.keys(), f"declare the layer of {sorted(units - ALLOWED.keys())}"


def test_no_import_points_up_the_pipeline() -> None:
    wrong = sorted(
        f"{where}: {source} imports {target}"
        for source, target, where in _arrows()
        if target not in ALLOWED[source]
    )
    assert not wrong, "\n".join(wrong)


def test_the_allowed_graph_has_no_cycle() -> None:
    state: dict[str, int] = {}

    def visit(unit: str, path: tuple[str, ...]) -> None:
        if state.get(unit) == 1:
            pytest.fail("cycle: " + " → ".join((*path, unit)))
        if state.get(unit) == 2:
            return
        state[unit] = 1
        for target in ALLOWED[unit]:
            visit(target, (*path, unit))
        state[unit] = 2

    for unit in ALLOWED:
        visit(unit, ())


def test_the_checker_sees_lazy_imports(tmp_path: Path) -> None:
    file = SRC / "transport" / "sources.py"
    names = {name for name, _ in _imports(file)}
    assert "tamizdat.errors" in names


def test_sign_reads_only_public() -> None:
    """The signer's stage is fed by the build's output alone: neither trust.sign nor the
    ``sign`` command imports the content loader or the renderer (the corrections check
    lives in the build, see tamizdat.render.corrections)."""
    assert "content" not in ALLOWED["trust.sign"]
    assert "render" not in ALLOWED["trust.sign"]
    command = SRC / "cli" / "trust.py"
    names = {name for name, _ in _imports(command)}
    assert names, "the checker read nothing"
    wrong = sorted(n for n in names if n.startswith(("tamizdat.content", "tamizdat.render")))
    assert not wrong, f"{command.name} imports {wrong}"
