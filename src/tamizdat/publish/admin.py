"""``mirrors add`` and ``mirrors retire``: careful edits of tamizdat.toml.

Invariant: the edited text is validated with :func:`~tamizdat.config.load_config` before it
replaces the file (atomically, in the same folder); on any error the file is unchanged.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from tamizdat.config import CONFIG_NAME, Config, MirrorSettings, load_config, suggest
from tamizdat.config.mirrors import append_mirror_block, set_mirror_retired
from tamizdat.errors import ConfigError, UserError

__all__ = ["add_mirror", "retire_mirror"]


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _replace_validated(site_dir: Path, new_text: str) -> Config:
    file = Path(site_dir).resolve() / CONFIG_NAME
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".tamizdat-", suffix=".toml")
    tmp_path = Path(tmp)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new_text)
        staging = tmp_path.parent / f".tamizdat-check-{tmp_path.stem}"
        staging.mkdir()
        try:
            (staging / CONFIG_NAME).write_text(new_text, "utf-8")
            load_config(staging)  # raises ConfigError naming the key; the real file is intact
        finally:
            (staging / CONFIG_NAME).unlink(missing_ok=True)
            staging.rmdir()
        tmp_path.replace(file)
    finally:
        tmp_path.unlink(missing_ok=True)
    return load_config(site_dir)


def add_mirror(
    site_dir: Path,
    name: str,
    url: str,
    *,
    public_url: str,
    tags: Sequence[str] = (),
    options: dict[str, str] | None = None,
    created: str | None = None,
    listed: bool = True,
) -> MirrorSettings:
    """Append a ``[[mirrors]]`` block to tamizdat.toml and return the new mirror.

    Raises:
        ConfigError: tamizdat.toml is invalid, or the new block is (a duplicate name, a bad
            URL, a credential among the options); the file is left unchanged.
    """
    config = load_config(site_dir)
    text = config.file.read_text("utf-8")
    new_text = append_mirror_block(
        text,
        name=name,
        url=url,
        public_url=public_url,
        tags=tuple(tags),
        created=created or _today(),
        options=options,
        listed=listed,
    )
    updated = _replace_validated(config.root, new_text)
    return next(m for m in updated.mirrors if m.name == name)


def retire_mirror(site_dir: Path, name: str, *, date: str | None = None) -> MirrorSettings:
    """Mark mirror ``name`` retired: it leaves every mirror list and is no longer pushed to.

    Raises:
        UserError: no mirror has that name, or it is already retired.
        ConfigError: tamizdat.toml is invalid.
    """
    config = load_config(site_dir)
    try:
        new_text = set_mirror_retired(config.file.read_text("utf-8"), name, date or _today())
    except KeyError:
        names = [m.name for m in config.mirrors]
        raise UserError(
            f"no mirror named {name!r}", where=str(config.file), hint=suggest(name, names)
        ) from None
    except ValueError as exc:
        raise UserError(str(exc), where=str(config.file)) from None
    updated = _replace_validated(config.root, new_text)
    found = [m for m in updated.mirrors if m.name == name]
    if not found:
        raise ConfigError(f"mirror {name!r} vanished while retiring it", where=str(config.file))
    return found[0]
