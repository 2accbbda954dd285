"""The ``[signing]`` section: where keys and the signed release live, and role expiries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tamizdat.config._table import Table

__all__ = ["SigningSettings", "read_signing"]


@dataclass(frozen=True, slots=True)
class SigningSettings:
    """Signing settings. Keys live outside the site directory by default (key separation)."""

    keys_dir: Path
    release_dir: Path
    passphrase_env: str
    root_threshold: int
    root_holders: int
    expiry_days: dict[str, int]


_EXPIRY_DEFAULTS = {"root": 365, "targets": 90, "desks": 90, "snapshot": 7, "timestamp": 3}


def read_signing(top: Table, root: Path, site_id: str) -> SigningSettings:
    """Read ``[signing]``; ``site_id`` names the default key folder."""
    table = top.table("signing")
    table.reject_unknown(
        {
            "keys_dir",
            "release_dir",
            "passphrase_env",
            "root_threshold",
            "root_holders",
            "expiry_days",
            # Deprecated: read by tamizdat.config as an alias of [build] corrections.
            "strict_corrections",
        }
    )
    default_keys = Path("~/.local/share/tamizdat/keys") / site_id
    keys_dir = Path(table.string("keys_dir", str(default_keys))).expanduser()
    if not keys_dir.is_absolute():
        keys_dir = (root / keys_dir).resolve()
    holders = table.integer("root_holders", 3, minimum=1)
    threshold = table.integer("root_threshold", 2, minimum=1)
    if threshold > holders:
        raise table.error("root_threshold", f"threshold {threshold} exceeds root_holders {holders}")
    expiry = table.table("expiry_days")
    expiry.reject_unknown(_EXPIRY_DEFAULTS)
    days = {
        role: expiry.integer(role, default, minimum=1) for role, default in _EXPIRY_DEFAULTS.items()
    }
    release = Path(table.string("release_dir", "release")).expanduser()
    return SigningSettings(
        keys_dir=keys_dir,
        release_dir=(root / release).resolve(),
        passphrase_env=table.string("passphrase_env", "TAMIZDAT_PASSPHRASE"),
        root_threshold=threshold,
        root_holders=holders,
        expiry_days=days,
    )
