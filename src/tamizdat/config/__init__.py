"""tamizdat.toml → validated, frozen settings. Every error names the file and key."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from tamizdat.config._table import Table, suggest
from tamizdat.config.channels import ChannelSettings, read_channels
from tamizdat.config.distribution import DistributionConfig, read_distribution
from tamizdat.config.locate import find_site
from tamizdat.config.media import MediaSettings, read_media
from tamizdat.config.mirrors import MirrorSettings, read_mirrors
from tamizdat.config.public_url import require_public_base_url
from tamizdat.config.signing import SigningSettings, read_signing
from tamizdat.config.site import (
    BuildSettings,
    CorrectionsMode,
    DeskSettings,
    LanguageSettings,
    SiteSettings,
    read_site,
)
from tamizdat.errors import ConfigError, UnsafeFileError
from tamizdat.files import read_regular

__all__ = [
    "CONFIG_NAME",
    "BuildSettings",
    "ChannelSettings",
    "Config",
    "CorrectionsMode",
    "DeskSettings",
    "DistributionConfig",
    "LanguageSettings",
    "MediaSettings",
    "MirrorSettings",
    "SigningSettings",
    "SiteSettings",
    "find_site",
    "load_config",
    "require_public_base_url",
    "suggest",
]

CONFIG_NAME = "tamizdat.toml"
_SECTIONS = (
    "site",
    "languages",
    "build",
    "desks",
    "signing",
    "mirrors",
    "media",
    "distribution",
    "channels",
)


@dataclass(frozen=True, slots=True)
class Config:
    """All settings of one site. ``root`` is the folder holding tamizdat.toml."""

    root: Path
    file: Path
    site: SiteSettings
    signing: SigningSettings
    mirrors: tuple[MirrorSettings, ...]
    media: MediaSettings = field(default_factory=MediaSettings)
    distribution: DistributionConfig = field(default_factory=DistributionConfig)
    channels: tuple[ChannelSettings, ...] = ()
    # Deprecated keys still honoured, one sentence each; the build reports them.
    warnings: tuple[str, ...] = ()

    @property
    def build(self) -> BuildSettings:
        return self.site.build


def _site_id(title: str, base_url: str) -> str:
    host = re.sub(r"^https?://", "", base_url).split("/")[0].split(":")[0]
    word = host if host not in ("127.0.0.1", "localhost", "") else title
    return re.sub(r"[^a-z0-9]+", "-", word.lower()).strip("-") or "site"


def load_config(site_dir: Path | str = ".") -> Config:
    """Read ``tamizdat.toml`` in ``site_dir``.

    The file must be a regular file: like every file tamizdat reads, a link (or a FIFO,
    a device) is refused rather than followed to wherever it points.

    Raises:
        ConfigError: the file is missing, a link or not a regular file, unreadable, not
            valid TOML (names the line), or a key is unknown or has a wrong value (names
            the key, suggests the closest known one).
    """
    root = Path(site_dir).resolve()
    file = root / CONFIG_NAME
    try:
        text = read_regular(file).decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "no tamizdat.toml here",
            where=str(root),
            hint="run 'tamizdat init DIR' to create a site",
        ) from None
    except UnsafeFileError as exc:
        raise ConfigError(
            exc.message, where=str(file), hint="replace it with the file itself"
        ) from None
    except IsADirectoryError:
        raise ConfigError("is a folder, expected a file", where=str(file)) from None
    except OSError as exc:
        raise ConfigError(f"cannot be read: {exc.strerror}", where=str(file)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not valid UTF-8 (byte {exc.start})", where=str(file)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", where=str(file)) from None
    top = Table(data, file)
    top.reject_unknown(_SECTIONS)
    site = read_site(top, root)
    signing = read_signing(top, root, _site_id(site.title, site.base_url))
    site, warnings = _legacy_strict_corrections(top, site)
    return Config(
        root=root,
        file=file,
        site=site,
        signing=signing,
        mirrors=read_mirrors(top),
        media=read_media(top),
        distribution=read_distribution(top),
        channels=read_channels(top, site.language_codes),
        warnings=warnings,
    )


def _legacy_strict_corrections(
    top: Table, site: SiteSettings
) -> tuple[SiteSettings, tuple[str, ...]]:
    """Honour ``[signing] strict_corrections`` (deprecated) as ``[build] corrections``.

    The corrections check moved from ``sign`` to the build (``sign`` reads only public/),
    so the key now sets the build's mode, with a warning; a contradiction between the two
    keys is an error rather than a guess.

    Raises:
        ConfigError: the key is not a boolean, or contradicts ``[build] corrections``.
    """
    signing = top.table("signing")
    if "strict_corrections" not in signing.data:
        return site, ()
    mode: CorrectionsMode = "fail" if signing.boolean("strict_corrections", False) else "warn"
    if "corrections" in top.table("build").data:
        if site.build.corrections != mode:
            raise signing.error(
                "strict_corrections",
                f"contradicts [build] corrections = {site.build.corrections!r}",
                hint="remove [signing] strict_corrections: [build] corrections replaces it",
            )
    else:
        site = replace(site, build=replace(site.build, corrections=mode))
    warning = (
        f"{signing.file}: signing.strict_corrections is deprecated: the build checks "
        f'corrections now; write [build] corrections = "{mode}" instead'
    )
    return site, (warning,)
