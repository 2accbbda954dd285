"""SSH connection settings for SFTP mirrors, from the URL, ``~/.ssh/config`` and the agent.

Invariant: a host key is accepted only if a known_hosts file vouches for it — never on first
use (fsspec's default would trust any key, letting a man in the middle take the mirror).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult

import paramiko

from tamizdat.errors import MirrorUnreachableError

__all__ = ["KnownHostsPolicy", "ssh_connect_kwargs"]


class KnownHostsPolicy(paramiko.MissingHostKeyPolicy):
    """Accept a server key only if ``known_hosts`` lists it for that host (and port)."""

    def __init__(self, known_hosts: str | None, mirror: str) -> None:
        chosen = known_hosts or os.environ.get("TAMIZDAT_SSH_KNOWN_HOSTS") or "~/.ssh/known_hosts"
        self.file = Path(chosen).expanduser()
        self.mirror = mirror

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: Any) -> None:
        keys = paramiko.HostKeys()
        if self.file.is_file():
            keys.load(str(self.file))
        known = keys.lookup(hostname)
        if known is not None and known.get(key.get_name()) == key:
            return
        raise MirrorUnreachableError(
            f"host key of {hostname} ({key.get_name()}) is not in {self.file}",
            where=f"mirror {self.mirror}",
            hint="check the key out of band, then add it with ssh-keyscan to known_hosts",
        )


def ssh_connect_kwargs(
    parts: SplitResult, options: dict[str, str], timeout: float
) -> tuple[str, dict[str, Any]]:
    """Host and paramiko ``connect`` arguments; ``~/.ssh/config`` fills what the URL omits."""
    alias = parts.hostname or ""
    config_file = Path(options.get("ssh_config", "~/.ssh/config")).expanduser()
    host_config: dict[str, Any] = {}
    if config_file.is_file():
        host_config = dict(paramiko.SSHConfig.from_path(str(config_file)).lookup(alias))
    host = str(host_config.get("hostname", alias))
    kwargs: dict[str, Any] = {
        "port": parts.port or int(host_config.get("port", 22)),
        "timeout": timeout,
        "banner_timeout": timeout,
        "auth_timeout": timeout,
    }
    user = parts.username or host_config.get("user")
    if user:
        kwargs["username"] = user
    key_file = options.get("key_file") or os.environ.get("TAMIZDAT_SSH_KEY_FILE")
    identity = host_config.get("identityfile")
    if key_file:
        kwargs["key_filename"] = str(Path(key_file).expanduser())
    elif identity:
        kwargs["key_filename"] = [str(Path(p).expanduser()) for p in identity]
    return host, kwargs
