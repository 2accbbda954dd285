"""The request robot: readers ask by e-mail (or a messenger) for mirrors, to subscribe or to
unsubscribe, and get one short answer in their language.

Invariants:

- A :class:`RequestSource` is one small interface per inbox (IMAP here; a Telegram bot's
  private chat can plug in the same way): ``poll`` returns the requests not yet handled and
  *claims* them first, so a re-run or a second robot never answers one twice; ``answer``
  replies (or, with None, only marks the request handled). A crash between claiming and
  answering leaves a request unanswered rather than answered twice: the reader asks again.
- The robot never echoes what a stranger wrote: answers are built from our own words, the
  confirmation code and the distributor's answer, so a request cannot make the robot send
  someone else's text (no reflection, no header injection through Subject or From).
- Mirrors come only through the distributor with its per-requester rate limit; a refused
  (rate-limited) request gets no answer, which tells a harvester nothing.
- Known limit: unless the source checks it (the IMAP source's ``require_authserv``), the
  sender's address is taken as given. Mail with a forged From can then subscribe a stranger
  only to a confirmation request (rate-limited per address), but it can unsubscribe a
  stranger or spend their mirror quota; a token from the List-Unsubscribe address is exact,
  a bare "unsubscribe" is not.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from tamizdat.channels.distributor import Answer
from tamizdat.channels.email.subscribers import SubscriberStore
from tamizdat.channels.email.words import COMMANDS, LANGUAGES, words_for
from tamizdat.errors import RateLimitedError, UserError
from tamizdat.fingerprint import format_fingerprint

__all__ = ["Reply", "Request", "RequestSource", "Robot", "RobotReport"]

log = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_CODE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{20,40}(?![A-Za-z0-9_-])")


@dataclass(frozen=True, slots=True)
class Request:
    """One reader's request: who (an e-mail address, a messenger user id) and what they
    wrote (already bounded and stripped of control characters by the source)."""

    channel: str  # the distributor channel: "email", "telegram"
    requester: str
    subject: str
    body: str
    ref: str  # the source's own handle (an IMAP UID, a chat id)
    reply_to_id: str | None = None  # a sane Message-ID to thread the answer under


@dataclass(frozen=True, slots=True)
class Reply:
    subject: str
    text: str
    lang: str
    command: str


class RequestSource(Protocol):
    """An inbox of requests (see the module docstring)."""

    name: str

    def poll(self) -> list[Request]:
        """Claim and return the requests not yet handled (at most a configured number).

        Raises:
            ChannelError: the inbox cannot be reached or read (names the channel).
        """
        ...

    def answer(self, request: Request, reply: Reply | None) -> None:
        """Send ``reply`` (None: none) and mark ``request`` handled.

        Raises:
            ChannelError: the reply could not be sent (the request stays claimed).
        """
        ...

    def close(self) -> None: ...


@dataclass
class RobotReport:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1


def find_command(subject: str, body: str) -> tuple[str, str] | None:
    """The first command word in the subject, else in the body's first lines (quoted
    lines ignored): ``(command, language of the word)``."""
    lines = [subject, *[ln for ln in body.splitlines() if not ln.lstrip().startswith(">")][:5]]
    for line in lines:
        for word in _WORD.findall(line.casefold()):
            if word in COMMANDS:
                return COMMANDS[word]
    return None


class Robot:
    """Answers requests; the subscriber store is for e-mail requesters only.

    ``give`` returns the distributor's answer for ``(requester, channel)`` (raising
    RateLimitedError or UserError); ``now`` is the wall clock (seconds).
    """

    def __init__(
        self,
        *,
        site_title: str,
        store: SubscriberStore | None,
        give: Callable[[str, str], Answer],
        now: Callable[[], float],
        default_lang: str = "en",
        robot_address: str = "",
        newsletter_languages: tuple[str, ...] = (),
    ) -> None:
        self.site, self.store, self.give, self.now = site_title, store, give, now
        self.default_lang = default_lang if default_lang in LANGUAGES else "en"
        self.robot_address = robot_address
        # The languages the newsletter is sent in (empty: any): a subscription in another
        # language would never receive a mail.
        self.newsletter_languages = newsletter_languages

    def _lang(self, request: Request, word_lang: str) -> str:
        if word_lang != "en" or self.store is None or request.channel != "email":
            return word_lang
        langs = [lang for lang in self.store.languages_of(request.requester) if lang in LANGUAGES]
        return "en" if not langs or "en" in langs else langs[0]

    def reply_to(self, request: Request) -> Reply | None:
        """The answer to ``request``, or None when it gets none (rate-limited).

        Raises:
            UserError: the store is unusable (a bad requester address is answered with help).
        """
        found = find_command(request.subject, request.body)
        command, word_lang = found or ("help", self.default_lang)
        lang = self._lang(request, word_lang)
        t = words_for(lang)
        site = self.site

        def reply(text: str) -> Reply:
            return Reply(t["reply_subject"].format(site=site), text, lang, command)

        if command == "mirrors":
            try:
                answer = self.give(request.requester, request.channel)
            except RateLimitedError:
                return None
            except UserError:
                return reply(t["no_mirrors"])
            return reply(_mirrors_text(answer, t))
        if request.channel != "email" or self.store is None or command == "help":
            return reply(t["help"])
        if command == "subscribe":
            wanted = self.newsletter_languages
            if wanted and lang not in wanted:
                lang = wanted[0]
                t = words_for(lang)
            invitation = self.store.add(request.requester, lang, self.now())
            if invitation.token is None:
                # Already confirmed, or a confirmation went out recently: say nothing more
                # (a forged From must not turn the robot into a mail cannon).
                return (
                    None
                    if invitation.subscriber.state != "confirmed"
                    else reply(t["confirmed"].format(site=site))
                )
            return Reply(
                t["confirm_subject"].format(site=site) + f" [{invitation.token}]",
                t["confirm_body"].format(
                    site=site, token=invitation.token, robot=self.robot_address
                ),
                lang,
                command,
            )
        codes = _CODE.findall(f"{request.subject}\n{request.body}")
        if command == "confirm":
            for code in codes:
                try:
                    self.store.confirm(code, self.now(), address=request.requester)
                except UserError:
                    continue
                return reply(t["confirmed"].format(site=site))
            return reply(t["bad_code"])
        # unsubscribe: by the exact token from List-Unsubscribe, else by the From address
        for code in codes:
            if self.store.unsubscribe(code) is not None:
                return reply(t["unsubscribed"].format(site=site))
        if self.store.remove(request.requester):
            return reply(t["unsubscribed"].format(site=site))
        return reply(t["not_subscribed"].format(site=site))

    def run_once(self, source: RequestSource) -> RobotReport:
        """Poll ``source`` once and answer every request it returns.

        Raises:
            ChannelError: the source failed (requests already answered stay answered).
        """
        report = RobotReport()
        for request in source.poll():
            reply = self.reply_to(request)
            source.answer(request, reply)
            report.add(reply.command if reply else "unanswered")
        return report


def _mirrors_text(answer: Answer, t: Mapping[str, str]) -> str:
    lines: Iterable[str] = [
        t["mirrors_intro"],
        *[f"  {m.url}" for m in answer.mirrors],
        "",
        t["fingerprint"],
        f"  {format_fingerprint(answer.fingerprint)}",
        "",
        t["how_to_check"].format(fingerprint=answer.fingerprint),
    ]
    return "\n".join(lines) + "\n"
