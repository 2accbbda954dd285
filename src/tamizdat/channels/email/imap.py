"""The robot's request inbox over IMAP (imaplib): IMAPS or STARTTLS, never plain text.

Invariants:

- A mail is claimed (keyword ``$TamizdatClaimed``) before it is read, and only unclaimed
  mail is ever fetched, so a re-run or a second robot never answers it twice. After the
  answer it is flagged ``\\Seen $TamizdatAnswered`` (or ``$TamizdatIgnored``) and, when
  ``imap_move_to`` is set, moved there.
- A mail's size is asked first (``RFC822.SIZE``); a huge one is claimed and ignored without
  being downloaded. Only ``BODY.PEEK[]`` of small mail is fetched.
- Answers go out through the channel's SMTP session (:class:`~.smtp.SmtpTransport`).
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from datetime import UTC, datetime

from tamizdat.channels.email.compose import compose_note, sign_message
from tamizdat.channels.email.inbound import Ignored, InboundLimits, read_request
from tamizdat.channels.email.settings import ImapSettings, MailSettings
from tamizdat.channels.email.smtp import RecipientRefusedError, SmtpTransport
from tamizdat.channels.robot import Reply, Request
from tamizdat.errors import ChannelError

__all__ = ["CLAIMED", "ImapSource"]

log = logging.getLogger(__name__)

CLAIMED, ANSWERED, IGNORED = "$TamizdatClaimed", "$TamizdatAnswered", "$TamizdatIgnored"
_SIZE = re.compile(rb"UID (\d+) RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+) UID (\d+)")


def _tls(settings: ImapSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class ImapSource:
    """Requests from one IMAP folder; answers by SMTP. See the module docstring."""

    def __init__(
        self,
        mail: MailSettings,
        imap: ImapSettings,
        transport: SmtpTransport,
        limits: InboundLimits | None = None,
    ) -> None:
        self.name = mail.channel
        self.mail, self.imap, self.transport = mail, imap, transport
        self.limits = limits or InboundLimits()
        self.ignored: list[tuple[str, str]] = []  # (uid, reason) of the last poll
        self._conn: imaplib.IMAP4 | None = None

    def _error(self, message: str) -> ChannelError:
        return ChannelError(
            message, where=f"channel {self.name} (IMAP {self.imap.host}:{self.imap.port})"
        )

    def _connect(self) -> imaplib.IMAP4:
        if self._conn is not None:
            return self._conn
        s = self.imap
        try:
            if s.security == "tls":
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    s.host, s.port, ssl_context=_tls(s), timeout=s.timeout
                )
            else:
                conn = imaplib.IMAP4(s.host, s.port, timeout=s.timeout)
                try:
                    conn.starttls(ssl_context=_tls(s))  # refuses if STARTTLS is not offered
                except BaseException:
                    conn.shutdown()
                    raise
            try:
                conn.login(s.username, s.password)
                status, _ = conn.select(_quote(s.folder))
                if status != "OK":
                    raise self._error(f"cannot open the folder {s.folder!r}")
            except BaseException:
                conn.shutdown()
                raise
        except ssl.SSLError as exc:
            raise self._error(f"TLS failed: {exc.reason or exc}") from None
        except imaplib.IMAP4.error as exc:
            raise self._error(f"the server refused: {_text(exc)}") from None
        except OSError as exc:
            raise self._error(f"cannot connect: {exc}") from None
        self._conn = conn
        return conn

    def _uid(self, *args: str) -> list[object]:
        conn = self._connect()
        try:
            status, data = conn.uid(*args)
        except (imaplib.IMAP4.error, OSError) as exc:
            self.close()
            raise self._error(f"{args[0]} failed: {_text(exc)}") from None
        if status != "OK":
            raise self._error(f"{args[0]} failed: {_text(data)}")
        return list(data)

    def poll(self) -> list[Request]:
        """Claim and read up to ``max_requests`` unclaimed mails; ignored ones are marked
        (``self.ignored`` lists them) and not returned."""
        self.ignored = []
        found = self._uid("SEARCH", "UNKEYWORD", CLAIMED, "UNDELETED")
        raw = found[0] if found and isinstance(found[0], bytes) else b""
        uids = [u.decode() for u in raw.split()][: self.imap.max_requests]
        if not uids:
            return []
        self._uid("STORE", ",".join(uids), "+FLAGS.SILENT", f"({CLAIMED})")
        sizes = self._sizes(uids)
        requests = []
        for uid in uids:
            size = sizes.get(uid)
            if size is None or size > self.limits.max_bytes:
                self._finish(uid, IGNORED)
                self.ignored.append((uid, f"larger than {self.limits.max_bytes} bytes"))
                continue
            data = self._body(uid)
            ours = (self.mail.sender, self.mail.robot, self.imap.username)
            request = read_request(data, ref=uid, ours=ours, limits=self.limits,
                                   authserv=self.imap.require_authserv)  # fmt: skip
            if isinstance(request, Ignored):
                log.info("channel %s: ignored mail %s: %s", self.name, uid, request.reason)
                self._finish(uid, IGNORED)
                self.ignored.append((uid, request.reason))
                continue
            requests.append(request)
        return requests

    def _sizes(self, uids: list[str]) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for item in self._uid("FETCH", ",".join(uids), "(UID RFC822.SIZE)"):
            line = item[0] if isinstance(item, tuple) else item
            match = _SIZE.search(line) if isinstance(line, bytes) else None
            if match:
                uid, size = (match[1], match[2]) if match[1] else (match[4], match[3])
                sizes[uid.decode()] = int(size)
        return sizes

    def _body(self, uid: str) -> bytes:
        for item in self._uid("FETCH", uid, "(BODY.PEEK[])"):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1][: self.limits.max_bytes + 1]
        return b""

    def _finish(self, uid: str, flag: str) -> None:
        self._uid("STORE", uid, "+FLAGS.SILENT", f"(\\Seen {flag})")
        if self.imap.move_to:
            self._uid("COPY", uid, _quote(self.imap.move_to))
            self._uid("STORE", uid, "+FLAGS.SILENT", "(\\Deleted)")
            conn = self._connect()
            try:
                conn.expunge()
            except (imaplib.IMAP4.error, OSError) as exc:
                raise self._error(f"EXPUNGE failed: {_text(exc)}") from None

    def answer(self, request: Request, reply: Reply | None) -> None:
        if reply is not None:
            message = compose_note(
                self.mail, request.requester, reply.subject, reply.text,
                when=datetime.now(UTC), in_reply_to=request.reply_to_id,
            )  # fmt: skip
            try:
                self.transport.send(self.mail.robot, request.requester,
                                    sign_message(message, self.mail.dkim))  # fmt: skip
            except RecipientRefusedError as refused:
                log.info("channel %s: answer refused: %s", self.name, refused.reply)
        self._finish(request.ref, ANSWERED if reply is not None else IGNORED)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.logout()
            except (imaplib.IMAP4.error, OSError):
                conn.shutdown()
        self.transport.close()


def _quote(folder: str) -> str:
    return '"' + folder + '"'  # settings allow no quote or backslash in a folder name


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())[:200]
