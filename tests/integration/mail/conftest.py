"""Mail servers on 127.0.0.1, one per test: aiosmtpd (STARTTLS or implicit TLS, AUTH) and
Debian's Dovecot (IMAPS and STARTTLS). A missing server FAILS the tests, never skips them."""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.mail import ImapServer, MailServer, make_ca, smtp_server
from support.processes import free_port, stop, wait_for_port


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[MailServer]:
    (tmp_path / "smtp").mkdir()
    with smtp_server(tmp_path / "smtp", "starttls") as server:
        yield server


@pytest.fixture
def smtps(tmp_path: Path) -> Iterator[MailServer]:
    (tmp_path / "smtps").mkdir()
    with smtp_server(tmp_path / "smtps", "tls") as server:
        yield server


_DOVECOT = "/usr/sbin/dovecot"


def _dovecot_users() -> tuple[str, int, int, str]:
    """(internal user, mail uid, mail gid, login user): as root, Debian's own dovecot users;
    otherwise everything runs as the current user."""
    if os.getuid() == 0:
        entry = pwd.getpwnam("dovecot")
        return "dovecot", entry.pw_uid, entry.pw_gid, "dovenull"
    me = getpass.getuser()
    return me, os.getuid(), os.getgid(), me


@pytest.fixture
def dovecot() -> Iterator[ImapServer]:
    """Debian's Dovecot on two free loopback ports (IMAPS, IMAP+STARTTLS) with a throwaway
    config: one passwd-file user, a maildir under a temporary folder, trustme certificates.

    The folder is a fresh one directly under the system's temporary folder, not pytest's
    (whose parents are private to the user running the tests): as root, Dovecot's auth and
    mail processes run as its own users and must be able to reach their files."""
    if not Path(_DOVECOT).is_file():
        pytest.fail("Dovecot is not installed; run: bash scripts/setup.sh --dev "
                    "(Debian dovecot-imapd)", pytrace=False)  # fmt: skip
    root = Path(tempfile.mkdtemp(prefix="tamizdat-dovecot-"))
    try:
        yield from _run_dovecot(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run_dovecot(root: Path) -> Iterator[ImapServer]:
    for sub in ("run", "state", "home"):
        (root / sub).mkdir(parents=True)
    root.chmod(0o755)
    internal, uid, gid, login = _dovecot_users()
    os.chown(root / "home", uid, gid)
    ca, ca_file = make_ca(root)
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(root / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
    user, password = "robot@free-voice.example", "robot secret"
    (root / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
    imaps, imap = free_port(), free_port()
    (root / "dovecot.conf").write_text(f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = {uid}
last_valid_uid = {uid}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps}
    ssl = yes
  }}
}}
""")
    proc = subprocess.Popen([_DOVECOT, "-F", "-c", str(root / "dovecot.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        for port in (imaps, imap):
            wait_for_port(port, proc)
        yield ImapServer("127.0.0.1", imaps, imap, user, password, ca_file)
    finally:
        stop(proc)
        assert proc.stderr is not None
        proc.stderr.close()
