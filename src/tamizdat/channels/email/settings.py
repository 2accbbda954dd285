"""An e-mail channel's settings, read once from its ``[[channels]]`` options and the
environment.

Invariants: secrets (the SMTP password, the DKIM private key) come only from environment
variables whose *names* the options give, never from tamizdat.toml; every error names the
channel and the option (``channel NAME: options.KEY``); a plain-text SMTP session is only
allowed to a loopback relay; the one-click unsubscribe endpoint must be HTTPS (RFC 8058 §3).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from tamizdat.channels.email.addresses import check_address
from tamizdat.errors import ConfigError, UserError

__all__ = [
    "DkimSettings",
    "ImapSettings",
    "MailSettings",
    "Security",
    "SmtpSettings",
    "read_imap_settings",
    "read_mail_settings",
]

Security = Literal["starttls", "tls", "plain"]
_PORTS: Mapping[str, int] = {"starttls": 587, "tls": 465, "plain": 25}
_KNOWN = frozenset(
    {
        "from", "from_name", "robot", "list_id", "unsubscribe_url", "smtp_host", "smtp_port",
        "smtp_security", "smtp_user_env", "smtp_password_env", "ca_file", "rate_per_second",
        "max_attempts", "backoff_seconds", "timeout_seconds", "dkim_domain", "dkim_selector",
        "dkim_key_file_env", "attachment_max_bytes", "attachment_oversize", "subscribers_file",
        "site_dir", "theme_dir", "mirrors_per_story", "smtputf8", "imap_host", "imap_port",
        "imap_security", "imap_user_env", "imap_password_env", "imap_folder", "imap_move_to",
        "imap_ca_file", "max_requests", "default_lang", "require_authserv",
        # added by 'tamizdat announce' (tamizdat.toml may not write tamizdat.* keys)
        "tamizdat.site_dir", "tamizdat.cache_dir", "tamizdat.theme_dir",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """How to reach the relay, and the limits of one run."""

    host: str
    port: int
    security: Security = "starttls"
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None
    timeout: float = 30.0
    rate_per_second: float = 5.0
    max_attempts: int = 4
    backoff: float = 2.0
    backoff_cap: float = 120.0

    def __repr__(self) -> str:  # never print the password
        return f"SmtpSettings({self.security}://{self.host}:{self.port}, user={self.username!r})"


@dataclass(frozen=True, slots=True)
class DkimSettings:
    domain: str
    selector: str
    private_key: bytes

    def __repr__(self) -> str:
        return f"DkimSettings({self.selector}._domainkey.{self.domain})"


@dataclass(frozen=True, slots=True)
class MailSettings:
    """Everything an e-mail channel needs besides the announcement."""

    channel: str
    sender: str
    sender_name: str | None
    robot: str
    list_id: str
    unsubscribe_url: str | None
    smtp: SmtpSettings
    dkim: DkimSettings | None = None
    attachment_max_bytes: int = 5 * 1024 * 1024
    attachment_oversize: Literal["fail", "skip"] = "fail"
    subscribers_file: Path | None = None
    site_dir: Path = Path()
    theme_dir: Path | None = None
    mirrors_per_story: int = 3
    smtputf8: bool = False


@dataclass(frozen=True, slots=True)
class ImapSettings:
    """The robot's request inbox."""

    host: str
    port: int
    security: Literal["tls", "starttls"]
    username: str
    password: str
    folder: str = "INBOX"
    move_to: str | None = None
    ca_file: Path | None = None
    timeout: float = 30.0
    max_requests: int = 200  # per poll: a flood waits for the next run
    default_lang: str = "en"
    require_authserv: str | None = None  # trust From only when this server authenticated it

    def __repr__(self) -> str:  # never print the password
        return f"ImapSettings({self.security}://{self.host}:{self.port}, user={self.username!r})"


class _Options:
    def __init__(self, channel: str, options: Mapping[str, Any]) -> None:
        self.channel, self.options = channel, options
        unknown = sorted(set(options) - _KNOWN)
        if unknown:
            from tamizdat.config import suggest

            guess = suggest(unknown[0], sorted(_KNOWN))
            raise self.error(unknown[0], "unknown option" + (f"; {guess}" if guess else ""))

    def error(self, key: str, message: str) -> ConfigError:
        return ConfigError(message, where=f"channel {self.channel}: options.{key}")

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.options.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.error(key, f"expected a non-empty string, found {value!r:.60}")
        return value

    def number(self, key: str, default: float, minimum: float) -> float:
        value = self.options.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.error(key, f"expected a number ≥ {minimum}, found {value!r:.60}")
        return float(value)

    def address(self, key: str, value: str) -> str:
        try:
            return check_address(value)
        except UserError as exc:
            raise self.error(key, exc.message) from None


def _env(options: _Options, key: str, environ: Mapping[str, str], what: str) -> str | None:
    name = options.string(key)
    if name is None:
        return None
    value = environ.get(name)
    if not value:
        raise ConfigError(
            f"the environment variable {name} holding the {what} is not set",
            where=f"channel {options.channel}: options.{key}",
            hint=f"export {name}=… before running (secrets never go in tamizdat.toml)",
        )
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_smtp(o: _Options, environ: Mapping[str, str]) -> SmtpSettings:
    host = o.string("smtp_host")
    if host is None:
        raise o.error("smtp_host", "expected the SMTP relay's host name")
    security = o.string("smtp_security", "starttls") or "starttls"
    if security not in _PORTS:
        raise o.error("smtp_security", f"expected starttls, tls or plain, found {security!r}")
    if security == "plain" and not _is_loopback(host):
        raise o.error("smtp_security", "plain SMTP is only allowed to a relay on this machine")
    user = _env(o, "smtp_user_env", environ, "SMTP user name")
    password = _env(o, "smtp_password_env", environ, "SMTP password")
    if (user is None) != (password is None):
        raise o.error("smtp_user_env", "expected both smtp_user_env and smtp_password_env")
    ca = o.string("ca_file")
    return SmtpSettings(
        host=host,
        port=int(o.number("smtp_port", _PORTS[security], 1)),
        security=security,  # type: ignore[arg-type]  # checked above
        username=user,
        password=password,
        ca_file=Path(ca) if ca else None,
        timeout=o.number("timeout_seconds", 30.0, 1),
        rate_per_second=o.number("rate_per_second", 5.0, 0.01),
        max_attempts=int(o.number("max_attempts", 4, 1)),
        backoff=o.number("backoff_seconds", 2.0, 0),
    )


def _read_dkim(o: _Options, environ: Mapping[str, str], sender: str) -> DkimSettings | None:
    selector = o.string("dkim_selector")
    if selector is None:
        return None
    domain = o.string("dkim_domain", sender.rpartition("@")[2])
    assert domain is not None
    env_name = o.string("dkim_key_file_env", "TAMIZDAT_DKIM_KEY_FILE")
    assert env_name is not None
    file = environ.get(env_name)
    if not file:
        raise o.error("dkim_key_file_env", f"the environment variable {env_name} is not set")
    try:
        key = Path(file).expanduser().read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the DKIM private key: {exc.strerror}",
            where=f"channel {o.channel}: ${env_name} ({file})",
        ) from None
    if b"PRIVATE KEY" not in key:
        raise ConfigError(
            "expected a PEM private key", where=f"channel {o.channel}: ${env_name} ({file})"
        )
    return DkimSettings(domain.lower(), selector, key)


def read_mail_settings(
    channel: str, options: Mapping[str, Any], environ: Mapping[str, str]
) -> MailSettings:
    """Validate the options of e-mail channel ``channel``.

    Raises:
        ConfigError: an unknown or invalid option, a missing secret, an unreadable DKIM key
            (names the channel and option).
    """
    o = _Options(channel, options)
    raw_from = o.string("from")
    if raw_from is None:
        raise o.error("from", "expected the newsletter's From address")
    sender = o.address("from", raw_from)
    robot = o.address("robot", o.string("robot", sender) or sender)
    domain = sender.rpartition("@")[2]
    list_id = o.string("list_id", f"{channel}.{domain}")
    assert list_id is not None
    if not all(c.isascii() and (c.isalnum() or c in ".-") for c in list_id) or "." not in list_id:
        raise o.error("list_id", f"expected a dotted name like news.example.org, found {list_id!r}")
    url = o.string("unsubscribe_url")
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or parts.fragment or "\n" in url:
            raise o.error("unsubscribe_url", "expected an https:// URL (RFC 8058 one-click)")
    oversize = o.string("attachment_oversize", "fail")
    if oversize not in ("fail", "skip"):
        raise o.error("attachment_oversize", f"expected fail or skip, found {oversize!r}")
    smtputf8 = options.get("smtputf8", False)
    if not isinstance(smtputf8, bool):
        raise o.error("smtputf8", "expected true or false")
    name = o.string("from_name")
    if name is not None and any(c in name for c in "\r\n\0"):
        raise o.error("from_name", "expected one line")
    site = Path(o.string("site_dir", o.string("tamizdat.site_dir", ".")) or ".")
    subs = o.string("subscribers_file")
    theme = o.string("theme_dir", o.string("tamizdat.theme_dir"))
    return MailSettings(
        channel=channel,
        sender=sender,
        sender_name=name,
        robot=robot,
        list_id=list_id,
        unsubscribe_url=url,
        smtp=_read_smtp(o, environ),
        dkim=_read_dkim(o, environ, sender),
        attachment_max_bytes=int(o.number("attachment_max_bytes", 5 * 1024 * 1024, 0)),
        attachment_oversize=oversize,  # type: ignore[arg-type]
        subscribers_file=(site / subs) if subs else None,
        site_dir=site,
        theme_dir=(site / theme) if theme else None,
        mirrors_per_story=int(o.number("mirrors_per_story", 3, 1)),
        smtputf8=smtputf8,
    )


_FOLDER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/ ")


def read_imap_settings(
    channel: str, options: Mapping[str, Any], environ: Mapping[str, str]
) -> ImapSettings:
    """The robot's inbox from e-mail channel ``channel``'s options.

    Raises:
        ConfigError: no ``imap_host``, a bad option, or a missing secret.
    """
    o = _Options(channel, options)
    host = o.string("imap_host")
    if host is None:
        raise o.error("imap_host", "expected the request inbox's IMAP host (for the robot)")
    security = o.string("imap_security", "tls") or "tls"
    if security not in ("tls", "starttls"):
        raise o.error("imap_security", f"expected tls or starttls, found {security!r}")
    user = _env(o, "imap_user_env", environ, "IMAP user name")
    password = _env(o, "imap_password_env", environ, "IMAP password")
    if user is None or password is None:
        raise o.error("imap_user_env", "expected imap_user_env and imap_password_env")
    folders = {k: o.string(k, d) for k, d in (("imap_folder", "INBOX"), ("imap_move_to", None))}
    for key, value in folders.items():
        if value is not None and not set(value) <= _FOLDER_CHARS:
            raise o.error(key, f"expected a plain folder name, found {value!r:.60}")
    ca = o.string("imap_ca_file", o.string("ca_file"))
    lang = o.string("default_lang", "en") or "en"
    return ImapSettings(
        host=host,
        port=int(o.number("imap_port", 993 if security == "tls" else 143, 1)),
        security=security,  # type: ignore[arg-type]  # checked above
        username=user,
        password=password,
        folder=folders["imap_folder"] or "INBOX",
        move_to=folders["imap_move_to"],
        ca_file=Path(ca) if ca else None,
        timeout=o.number("timeout_seconds", 30.0, 1),
        max_requests=int(o.number("max_requests", 200, 1)),
        default_lang=lang,
        require_authserv=o.string("require_authserv"),
    )
