"""The ``[distribution]`` section: limits of the harvest-resistant mirror distributor.

Invariant: a ``DistributionConfig`` is valid once built (every count ≥ 1, periods of at
least a minute, distinct channel names), whether read from tamizdat.toml (errors name the
key) or made in code (errors name ``distribution.KEY``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from tamizdat.config._table import Table
from tamizdat.errors import UserError

__all__ = ["DistributionConfig", "read_distribution"]

_CHANNEL = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True, slots=True)
class DistributionConfig:
    """Limits of the distributor (reference points: rdsys gives 2–3 bridges a day)."""

    channels: tuple[str, ...] = ("email", "telegram")
    groups: int = 4  # per channel: a bucket is (channel, group)
    answer_size: int = 3
    pool_size: int = 6  # mirrors of one bucket handed out in one period, to everyone
    period: timedelta = timedelta(hours=24)
    rate_window: timedelta = timedelta(hours=24)
    rate_limit: int = 3  # answers per requester per window

    def __post_init__(self) -> None:
        if not self.channels or len(set(self.channels)) != len(self.channels):
            raise UserError("expected distinct channel names", where="distribution.channels")
        for name, value in (
            ("groups", self.groups),
            ("answer_size", self.answer_size),
            ("pool_size", self.pool_size),
            ("rate_limit", self.rate_limit),
        ):
            if value < 1:
                raise UserError(f"expected at least 1, found {value}", where=f"distribution.{name}")
        for name, span in (("period", self.period), ("rate_window", self.rate_window)):
            if span.total_seconds() < 60:
                raise UserError(
                    f"expected at least a minute, found {span}", where=f"distribution.{name}"
                )


def read_distribution(top: Table) -> DistributionConfig:
    """Read ``[distribution]`` (every key optional).

    Raises:
        ConfigError: an unknown key, a wrong type, a count below 1, a bad channel name.
    """
    table = top.table("distribution")
    table.reject_unknown(
        {
            "channels",
            "groups",
            "answer_size",
            "pool_size",
            "period_hours",
            "rate_limit",
            "rate_window_hours",
        }
    )
    default = DistributionConfig()
    channels = table.strings("channels", default.channels)
    for name in channels:
        if not _CHANNEL.match(name):
            raise table.error("channels", f"expected a short lower-case name, found {name!r}")
    if not channels or len(set(channels)) != len(channels):
        raise table.error("channels", "expected a non-empty list of distinct names")
    return DistributionConfig(
        channels=channels,
        groups=table.integer("groups", default.groups, minimum=1),
        answer_size=table.integer("answer_size", default.answer_size, minimum=1),
        pool_size=table.integer("pool_size", default.pool_size, minimum=1),
        period=timedelta(hours=table.integer("period_hours", 24, minimum=1)),
        rate_limit=table.integer("rate_limit", default.rate_limit, minimum=1),
        rate_window=timedelta(hours=table.integer("rate_window_hours", 24, minimum=1)),
    )
