"""Mirror distribution that resists harvesting: each requester sees a small, stable subset.

Modelled on the design of Tor's BridgeDB/rdsys (no code taken): requesters are hashed into
groups, answers rotate every period, an answer holds 2–3 addresses. Beyond it, every mirror
belongs to exactly one *bucket* (channel × group), so a blocked mirror names the bucket
that leaked it.

Invariants (this module does no I/O):

- *One bucket per mirror.* ``bucket_of(mirror)`` is rendezvous (highest-random-weight)
  hashing of the mirror's name over every bucket, keyed with the publisher's secret. It
  depends on nothing but the name and the bucket set, so adding or removing a mirror moves
  no other mirror (the minimal rebalancing), and ``mirrors check`` can attribute a block
  without any stored assignment. The price is balance: buckets are filled at random, not
  evenly; the fallback below covers an empty bucket.
- *One home group per requester and channel*, for ever (not per period): an account cannot
  walk the groups by waiting. Within its bucket the requester's ``answer_size`` mirrors are
  chosen by rendezvous hashing keyed on (requester, period): the same answer all period,
  another draw next period, and a mirror that stops working is replaced without moving the
  others.
- *No answer leaks outside the requester's bucket*, except the fallback: when no mirror of
  the home bucket works, the next group of the requester's own (keyed) ranking of the
  channel's groups is used, and the answer says so (``fallback``), so the caller can record
  that leak path. Never another channel's bucket.
- Without the secret key nobody can predict a requester's group or a mirror's bucket.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import statistics
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tamizdat.config.distribution import DistributionConfig
from tamizdat.config.mirrors import MirrorSettings
from tamizdat.errors import UserError
from tamizdat.fingerprint import format_fingerprint, normalize_fingerprint

__all__ = [
    "MIN_KEY_BYTES",
    "WORKING_STATES",
    "Answer",
    "BlockingSummary",
    "Bucket",
    "DistributionConfig",
    "Distributor",
    "GivenMirror",
    "normalize_requester",
    "summarize_blocking",
    "unlisted_working",
    "working_mirrors",
]

# States of ``mirrors check`` in which a reader gets the authentic release (lagging: an
# older one, still verified). Stale (expired) copies are not handed out.
WORKING_STATES = frozenset({"current", "lagging"})

MIN_KEY_BYTES = 32

# Providers known to ignore dots in the local part (and their alias domains). Elsewhere a
# dot can tell two people apart, so it is kept.
_DOTLESS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
_EMAIL = re.compile(r"^[^@\s]{1,64}@[a-z0-9.-]{1,253}$")
_TELEGRAM_ID = re.compile(r"^[0-9]{1,20}$")
_MAX_REQUESTER = 320  # the longest valid e-mail address (RFC 3696 errata: 64 + 1 + 255)


@dataclass(frozen=True, slots=True, order=True)
class Bucket:
    """One channel's group: every mirror lives in exactly one."""

    channel: str
    group: int

    def __str__(self) -> str:
        return f"{self.channel}/{self.group}"


@dataclass(frozen=True, slots=True)
class GivenMirror:
    """A mirror in an answer."""

    name: str
    url: str


@dataclass(frozen=True, slots=True)
class Answer:
    """What one requester is told in one period."""

    channel: str
    bucket: Bucket  # the requester's home bucket
    served_from: Bucket  # differs from ``bucket`` only on fallback
    mirrors: tuple[GivenMirror, ...]
    period_start: datetime
    period_end: datetime
    fingerprint: str
    how_to_check: str

    @property
    def fallback(self) -> bool:
        return self.served_from != self.bucket

    @property
    def text(self) -> str:
        """The answer as a reader receives it (plain text, no links to anything else)."""
        lines = ["Working addresses today:"]
        lines += [f"  {m.url}" for m in self.mirrors]
        lines += ["", f"Publisher fingerprint: {format_fingerprint(self.fingerprint)}", ""]
        return "\n".join(lines) + self.how_to_check + "\n"

    def to_json(self) -> dict[str, object]:
        return {
            "channel": self.channel,
            "bucket": str(self.bucket),
            "served_from": str(self.served_from),
            "fallback": self.fallback,
            "mirrors": [{"name": m.name, "url": m.url} for m in self.mirrors],
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "fingerprint": self.fingerprint,
            "how_to_check": self.how_to_check,
            "text": self.text,
        }


def _how_to_check(fingerprint: str) -> str:
    return (
        "How to check a copy: any copy is genuine only if it is signed by the key with this\n"
        "fingerprint. Compare it with the one on our channels or printed material, then run\n"
        f"  tamizdat verify URL --fingerprint {fingerprint}\n"
        "or open the copy's verify page and compare the fingerprint it shows, group by group."
    )


def normalize_requester(channel: str, requester: str) -> str:
    """One spelling per person, so one mailbox cannot pose as many requesters.

    E-mail: trimmed and lower-cased (no major provider treats case as distinct), the
    ``+tag`` of plus-addressing removed for every domain (two people who differ only after
    a ``+`` merely share an answer, while keeping it would give a censor endless identities
    per mailbox), and dots removed only for providers that ignore them (Gmail). Telegram: the
    numeric user id (never the @username, which its owner can change at will).

    Raises:
        UserError: the requester is not a plausible identity for the channel.
    """
    if len(requester) > _MAX_REQUESTER:  # before any work: the text may come from a stranger
        raise UserError(
            f"expected at most {_MAX_REQUESTER} characters, found {len(requester)}",
            where="--requester",
        )
    text = unicodedata.normalize("NFKC", requester).strip()
    if channel == "email":
        address = text.lower().rstrip(".")
        if not _EMAIL.match(address):
            raise UserError(
                f"expected an e-mail address, found {requester[:80]!r}", where="--requester"
            )
        local, _, domain = address.rpartition("@")
        local = local.split("+", 1)[0]
        if domain in _DOTLESS:
            local, domain = local.replace(".", ""), _DOTLESS[domain]
        if not local:
            raise UserError(f"empty local part in {requester[:80]!r}", where="--requester")
        return f"{local}@{domain}"
    if channel == "telegram":
        if not _TELEGRAM_ID.match(text) or int(text) == 0:
            raise UserError(
                f"expected a numeric Telegram user id, found {requester[:80]!r}",
                where="--requester",
            )
        return str(int(text))
    if not text or any(unicodedata.category(c).startswith("C") for c in text):
        raise UserError(f"expected a printable identity, found {requester[:80]!r}")
    return text.casefold()


@dataclass(frozen=True, slots=True)
class Distributor:
    """Keyed assignment of mirrors to buckets and of requesters to answers."""

    key: bytes = field(repr=False)
    fingerprint: str
    config: DistributionConfig = field(default_factory=DistributionConfig)
    # name → bucket: a pure function of the key and config, so memoising it is safe.
    _buckets: dict[str, Bucket] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.key) < MIN_KEY_BYTES:
            raise UserError(
                f"expected a distribution key of at least {MIN_KEY_BYTES} bytes, "
                f"found {len(self.key)}"
            )
        object.__setattr__(self, "fingerprint", normalize_fingerprint(self.fingerprint))

    def _weight(self, *parts: str) -> int:
        # Length-prefixed parts: ("a", "bc") and ("ab", "c") never hash alike.
        message = b"".join(len(p.encode()).to_bytes(4, "big") + p.encode() for p in parts)
        return int.from_bytes(hmac.new(self.key, message, hashlib.sha256).digest(), "big")

    @property
    def buckets(self) -> tuple[Bucket, ...]:
        return tuple(Bucket(c, g) for c in self.config.channels for g in range(self.config.groups))

    def bucket_of(self, mirror: str) -> Bucket:
        """The one bucket ``mirror`` belongs to (rendezvous hashing over all buckets)."""
        found = self._buckets.get(mirror)
        if found is None:
            found = max(self.buckets, key=lambda b: (self._weight("bucket", str(b), mirror), b))
            self._buckets[mirror] = found
        return found

    def assign_buckets(self, mirrors: Iterable[str]) -> dict[str, Bucket]:
        """``mirror → bucket`` for every mirror: each in exactly one, independent of the others."""
        return {name: self.bucket_of(name) for name in mirrors}

    def requester_key(self, channel: str, requester: str) -> str:
        """A keyed hash of the normalised requester: what the rate-limit store keeps, never
        the address itself (a seized store must not list readers).

        Raises:
            UserError: unknown channel or implausible requester.
        """
        self._check_channel(channel)
        who = normalize_requester(channel, requester)
        return f"{self._weight('requester', channel, who):064x}"

    def _check_channel(self, channel: str) -> None:
        if channel not in self.config.channels:
            known = ", ".join(self.config.channels)
            raise UserError(
                f"unknown channel {channel!r}; expected one of: {known}", where="--channel"
            )

    def group_ranking(self, channel: str, requester: str) -> tuple[Bucket, ...]:
        """The channel's buckets in the requester's order: home first, then fallbacks.

        Raises:
            UserError: unknown channel or implausible requester.
        """
        self._check_channel(channel)
        who = normalize_requester(channel, requester)
        groups = range(self.config.groups)
        ranked = sorted(groups, key=lambda g: self._weight("group", channel, who, str(g)))
        return tuple(Bucket(channel, g) for g in reversed(ranked))

    def period_of(self, now: datetime) -> tuple[int, datetime, datetime]:
        """The period index containing ``now`` and its bounds (UTC)."""
        seconds = self.config.period.total_seconds()
        index = int(now.timestamp() // seconds)
        start = datetime.fromtimestamp(index * seconds, UTC)
        return index, start, start + self.config.period

    def answer(
        self, requester: str, channel: str, now: datetime, working: Mapping[str, str]
    ) -> Answer:
        """The requester's mirrors for the period containing ``now``.

        ``working`` maps the name of every mirror currently seen working to its public URL.

        Raises:
            UserError: unknown channel, implausible requester, or no working mirror in any
                bucket of the channel.
        """
        ranking = self.group_ranking(channel, requester)
        who = normalize_requester(channel, requester)
        index, start, end = self.period_of(now)
        by_bucket: dict[Bucket, list[str]] = {}
        for name in working:
            by_bucket.setdefault(self.bucket_of(name), []).append(name)
        served = next((b for b in ranking if by_bucket.get(b)), None)
        if served is None:
            raise UserError(
                f"no working mirror for channel {channel!r}",
                where="--channel",
                hint="run 'tamizdat mirrors check', then add mirrors if too few work",
            )
        # Today's pool of the bucket first (the same for every requester of the group), then
        # the requester's share of it: however many accounts a censor opens, one period
        # shows it at most ``pool_size`` mirrors per bucket.
        pool = sorted(
            by_bucket[served],
            key=lambda n: self._weight("pool", str(served), str(index), n),
            reverse=True,
        )[: self.config.pool_size]
        picks = sorted(
            pool,
            key=lambda n: self._weight("pick", channel, who, str(index), n),
            reverse=True,
        )[: self.config.answer_size]
        return Answer(
            channel=channel,
            bucket=ranking[0],
            served_from=served,
            mirrors=tuple(GivenMirror(n, working[n]) for n in picks),
            period_start=start,
            period_end=end,
            fingerprint=self.fingerprint,
            how_to_check=_how_to_check(self.fingerprint),
        )


@dataclass(frozen=True, slots=True)
class BlockingSummary:
    """Who leaked what: blocked mirrors per bucket and channel, median time-to-block."""

    mirror_buckets: Mapping[str, Bucket]
    per_bucket: Mapping[str, tuple[int, float]]  # bucket → (blocked, median seconds)
    per_channel: Mapping[str, tuple[int, float]]
    # blocked mirror → other buckets that received it by fallback (other leak paths)
    fallback_buckets: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        def rows(table: Mapping[str, tuple[int, float]]) -> dict[str, object]:
            return {
                k: {"blocked": n, "median_time_to_block_seconds": m}
                for k, (n, m) in sorted(table.items())
            }

        return {
            "mirror_buckets": {k: str(v) for k, v in sorted(self.mirror_buckets.items())},
            "per_bucket": rows(self.per_bucket),
            "per_channel": rows(self.per_channel),
            "fallback_buckets": {k: sorted(v) for k, v in sorted(self.fallback_buckets.items())},
        }


def summarize_blocking(
    distributor: Distributor,
    mirrors: Sequence[str],
    time_to_block: Mapping[str, float],
    fallbacks: Mapping[str, frozenset[str]] | None = None,
) -> BlockingSummary:
    """Buckets of ``mirrors`` and, for the blocked ones (``time_to_block``: mirror → seconds
    from creation to its first failure), the median time-to-block per bucket and channel,
    and the other buckets a fallback handed them to (``fallbacks``, from the request store).
    A blocked mirror counts for its own bucket only: the fallback paths are listed, not
    guessed at."""
    buckets = distributor.assign_buckets(mirrors)
    per_bucket: dict[str, list[float]] = {}
    per_channel: dict[str, list[float]] = {}
    for name, seconds in time_to_block.items():
        bucket = buckets.get(name) or distributor.bucket_of(name)
        per_bucket.setdefault(str(bucket), []).append(seconds)
        per_channel.setdefault(bucket.channel, []).append(seconds)

    def medians(table: Mapping[str, list[float]]) -> dict[str, tuple[int, float]]:
        return {k: (len(v), float(statistics.median(v))) for k, v in table.items()}

    leaks = {n: frozenset(b) for n, b in (fallbacks or {}).items() if n in time_to_block and b}
    return BlockingSummary(buckets, medians(per_bucket), medians(per_channel), leaks)


def working_mirrors(signed_list: bytes, states: Mapping[str, str], where: str) -> dict[str, str]:
    """``name → public URL`` of the mirrors in the signed mirror list (``mirrors.json``)
    whose latest checked state is working: a mirror never checked, or added to the
    configuration but not yet signed, is never handed out.

    Raises:
        UserError: the list is not a tamizdat mirror list (``where`` names the file).
    """
    try:
        doc = json.loads(signed_list)
        entries = [(str(m["name"]), str(m["public_url"])) for m in doc["mirrors"]]
    except (ValueError, KeyError, TypeError):
        raise UserError("expected a tamizdat mirror list (mirrors.json)", where=where) from None
    return {name: url for name, url in entries if states.get(name) in WORKING_STATES}


def unlisted_working(
    mirrors: Sequence[MirrorSettings], states: Mapping[str, str]
) -> dict[str, str]:
    """``name → public URL`` of the configured *unlisted* mirrors (``listed = false``: in no
    signed list, so the distributor is the only way readers learn them) that are enabled,
    not retired and whose latest checked state is working."""
    return {
        m.name: m.public_url
        for m in mirrors
        if not m.listed
        and m.enabled
        and not m.retired
        and m.public_url
        and states.get(m.name) in WORKING_STATES
    }
