"""One SMTP session per run, with a rate limit and retries: the only code that talks SMTP.

Invariants:

- TLS is never optional: ``starttls`` refuses a server that does not offer STARTTLS (a
  censor stripping it from the EHLO answer gets an error, not a plain-text session), and
  certificates are verified (system store, or the configured CA file); ``plain`` is only
  accepted for a relay on this machine (checked in :mod:`.settings`).
- Only our error types escape: a 4xx reply or a dropped connection is retried with
  exponential backoff (reconnecting), up to ``max_attempts``; a recipient's 5xx is a
  :class:`RecipientRefusedError` for that address only; a refused login, a refused sender,
  a TLS failure or a server that stays down is a :class:`~tamizdat.errors.ChannelError`
  naming the channel.
- The password is never logged or put in a message.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import time
from collections.abc import Callable

from tamizdat.channels.email.settings import SmtpSettings
from tamizdat.errors import ChannelError

__all__ = ["RecipientRefusedError", "SmtpTransport", "tls_context"]

log = logging.getLogger(__name__)


class RecipientRefusedError(Exception):
    """The server refused one recipient for good (5xx): record it, go on with the others."""

    def __init__(self, address: str, reply: str) -> None:
        super().__init__(f"{address}: {reply}")
        self.address, self.reply = address, reply


class _RetryError(Exception):
    """A temporary failure: try again (after reconnecting if the session is gone)."""

    def __init__(self, reply: str, *, reconnect: bool) -> None:
        super().__init__(reply)
        self.reply, self.reconnect = reply, reconnect


def tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    """A verifying client context (TLS 1.2+), trusting ``ca_file`` when one is set."""
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _reply(code: int, text: bytes | str) -> str:
    raw = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {' '.join(raw.split())}"[:300]


class SmtpTransport:
    """Sends prepared messages over one reused SMTP session.

    ``clock`` and ``sleep`` are the wall clock and the pause between attempts (the rate
    limit and the backoff); a caller can pass others (a benchmark, a test that must not wait).
    """

    def __init__(
        self,
        channel: str,
        settings: SmtpSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.channel, self.settings = channel, settings
        self._clock, self._sleep = clock, sleep
        self._smtp: smtplib.SMTP | None = None
        self._last_send: float | None = None
        self.smtputf8 = False  # known after connecting

    def _error(
        self, message: str, *, hint: str | None = None, permanent: bool = False
    ) -> ChannelError:
        return ChannelError(
            message, where=f"channel {self.channel}", hint=hint, permanent=permanent
        )

    # -- session ----------------------------------------------------------------------
    def connect(self) -> None:
        """Open the session if none is open.

        Raises:
            ChannelError: unreachable, TLS refused or failed, login refused.
        """
        if self._smtp is not None:
            return
        s = self.settings
        server = f"{s.host}:{s.port}"
        try:
            if s.security == "tls":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=tls_context(s)
                )
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            try:
                self._start(smtp, server)
            except BaseException:
                smtp.close()
                raise
        except ssl.SSLError as exc:
            raise self._error(f"TLS with {server} failed: {exc.reason or exc}",
                              hint="check the server's certificate (ca_file for a private CA)") from None  # fmt: skip
        except smtplib.SMTPAuthenticationError as exc:
            raise self._error(
                f"{server} refused the login ({_reply(exc.smtp_code, exc.smtp_error)})",
                hint="check the user and password in the environment variables named in options",
                permanent=True,
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise self._error(f"cannot open an SMTP session with {server}: {exc}") from None
        self._smtp = smtp

    def _start(self, smtp: smtplib.SMTP, server: str) -> None:
        s = self.settings
        smtp.ehlo()
        if s.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise self._error(
                    f"{server} does not offer STARTTLS; refusing to send in plain text",
                    hint='a censor may strip STARTTLS: try smtp_security = "tls" (port 465)',
                )
            smtp.starttls(context=tls_context(s))
            smtp.ehlo()
        if s.username is not None and s.password is not None:
            if not smtp.has_extn("auth"):
                raise self._error(f"{server} offers no AUTH after TLS", permanent=True)
            smtp.login(s.username, s.password)
        self.smtputf8 = smtp.has_extn("smtputf8")

    @property
    def connected(self) -> bool:
        """Whether a session is open (after a failure: whether it survived)."""
        return self._smtp is not None

    def close(self) -> None:
        """End the session politely (QUIT), or just drop it if the server is gone."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()

    # -- sending ----------------------------------------------------------------------
    def _pace(self) -> None:
        if self._last_send is not None:
            wait = self._last_send + 1.0 / self.settings.rate_per_second - self._clock()
            if wait > 0:
                self._sleep(wait)
        self._last_send = self._clock()

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Send ``data`` to ``recipient``, retrying temporary failures with backoff.

        Raises:
            RecipientRefusedError: a permanent (5xx) refusal of this recipient.
            ChannelError: the server stayed unavailable (4xx, dropped) after every attempt,
                or refused the message or sender for good; names the channel.
        """
        last = ""
        for attempt in range(self.settings.max_attempts):
            if attempt:
                delay = min(self.settings.backoff * 2 ** (attempt - 1), self.settings.backoff_cap)
                log.info(
                    "channel %s: retry %d in %.1fs after %s", self.channel, attempt, delay, last
                )
                self._sleep(delay)
            try:
                self.connect()
                self._pace()
                self._send_once(sender, recipient, data)
                return
            except _RetryError as retry:
                last = retry.reply
                if retry.reconnect:
                    self.close()
            except ChannelError as exc:
                if exc.permanent:
                    raise
                last = exc.message
        raise self._error(
            f"gave up after {self.settings.max_attempts} attempts: {last}",
            hint="the rest stays pending: run again later",
        )

    def _send_once(self, sender: str, recipient: str, data: bytes) -> None:
        assert self._smtp is not None
        options = ["SMTPUTF8"] if self.smtputf8 and not data.isascii() else []
        try:
            self._smtp.sendmail(sender, [recipient], data, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients[recipient]
            if 400 <= code < 500:
                self._reset()
                raise _RetryError(_reply(code, text), reconnect=False) from None
            self._reset()
            raise RecipientRefusedError(recipient, _reply(code, text)) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            if 400 <= exc.smtp_code < 500:
                self._reset()
                raise _RetryError(_reply(exc.smtp_code, exc.smtp_error), reconnect=False) from None
            raise self._error(
                f"the server refused the message: {_reply(exc.smtp_code, exc.smtp_error)}",
                permanent=True,
            ) from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise _RetryError(_reply(exc.smtp_code, exc.smtp_error), reconnect=True) from None
            raise self._error(f"SMTP error {_reply(exc.smtp_code, exc.smtp_error)}",
                              permanent=True) from None  # fmt: skip
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _RetryError(f"connection lost ({exc})", reconnect=True) from None

    def _reset(self) -> None:
        try:
            if self._smtp is not None:
                self._smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()
