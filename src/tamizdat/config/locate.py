"""Find the site a command runs on: the nearest folder up from here that holds tamizdat.toml.

Like git finding ``.git``, the walk starts at the current folder and goes up, and stops:

- at the first folder holding a ``tamizdat.toml`` entry of any kind (a link or a folder
  there stops the walk too, and :func:`~tamizdat.config.load_config` then refuses it by
  name, rather than silently using a site further up);
- at the filesystem root, and before crossing onto another filesystem (a mount point),
  as git does unless ``GIT_DISCOVERY_ACROSS_FILESYSTEM`` is set;
- at ``$HOME`` when the walk starts inside it: a tamizdat.toml above one's home folder
  is never one's own site.

A site found *above* the starting folder must belong to the user running the command.
Otherwise anyone who can write to a shared folder above (``/tmp``, a shared drive) could
plant a tamizdat.toml whose ``keys_dir`` names the victim's real keys and have the victim
sign the planter's pages (git's CVE-2022-24765 is the same attack). ``-C DIR`` is never
walked and so never needs this check: naming the folder is the user's decision.
"""

from __future__ import annotations

import os
from pathlib import Path

from tamizdat.errors import ConfigError

__all__ = ["find_site"]

_NAME = "tamizdat.toml"


def _home() -> Path | None:
    try:
        return Path.home().resolve()
    except (RuntimeError, KeyError, OSError):  # no $HOME and no passwd entry
        return None


def _check_owner(folder: Path) -> None:
    getuid = getattr(os, "getuid", None)
    if getuid is None:  # no owners to compare on this system
        return
    owner = (folder / _NAME).lstat().st_uid
    if owner != getuid():
        raise ConfigError(
            f"the tamizdat.toml found above the current folder belongs to another user "
            f"(uid {owner})",
            where=str(folder / _NAME),
            hint=f"if you trust it, run the command with '-C {folder}'",
        )


def find_site(start: Path) -> Path:
    """The nearest folder from ``start`` upwards holding ``tamizdat.toml`` (see module doc).

    Raises:
        ConfigError: no folder up to the root, a mount point or ``$HOME`` holds one (names
            ``start``), or the one found above ``start`` belongs to another user.
    """
    start = start.absolute()
    home = _home()
    ceiling = home if home is not None and start.is_relative_to(home) else None
    folder = start
    while True:
        if os.path.lexists(folder / _NAME):
            if folder != start:
                _check_owner(folder)
            return folder
        parent = folder.parent
        if folder == ceiling or parent == folder:
            break
        if parent.stat().st_dev != folder.stat().st_dev:
            break  # folder is a mount point: do not walk onto another filesystem
        folder = parent
    raise ConfigError(
        f"no tamizdat.toml here or in any folder above up to {folder}",
        where=str(start),
        hint="run 'tamizdat init DIR' to create a site, or name one with '-C DIR'",
    )
