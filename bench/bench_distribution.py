"""Benchmark: how many mirrors N requesters harvest from the distributor.

For M mirrors split over 2 channels x G groups, N random e-mail identities (fake accounts of
a censor) each ask once a day for D days; we print how many distinct mirrors they learn,
and the same for a naive distributor that hands every requester 3 mirrors drawn from the
whole list (keyed on requester and day, no buckets). Also: answers per second.

Usage:  .venv/bin/python bench/bench_distribution.py [--mirrors 30 100] [--days 1 30]
Never part of the test run's pass/fail (the bound itself is asserted in
tests/unit/channels/test_distributor.py).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import random
import time
from datetime import UTC, datetime, timedelta

from tamizdat.channels.distributor import DistributionConfig, Distributor

KEY = hashlib.sha256(b"bench key").digest()
FP = "ab" * 32
START = datetime(2026, 3, 1, 12, tzinfo=UTC)
REQUESTERS = (1, 10, 100, 1000)


def _naive(mirrors: list[str], who: str, day: int, size: int) -> list[str]:
    def weight(name: str) -> bytes:
        return hmac.new(KEY, f"{who}|{day}|{name}".encode(), hashlib.sha256).digest()

    return sorted(mirrors, key=weight)[:size]


def _row(count: int, days: int, total: int, groups: int, seed: int) -> str:
    dist = Distributor(KEY, FP, DistributionConfig(groups=groups))
    working = {f"m{i:03d}": f"https://m{i:03d}.example.net/" for i in range(total)}
    names = list(working)
    rng = random.Random(seed)
    people = [f"{rng.getrandbits(64):016x}@example.org" for _ in range(count)]
    ours: set[str] = set()
    naive: set[str] = set()
    began = time.perf_counter()
    for day in range(days):
        now = START + timedelta(days=day)
        for who in people:
            ours.update(m.name for m in dist.answer(who, "email", now, working).mirrors)
    seconds = time.perf_counter() - began
    for day in range(days):
        for who in people:
            naive.update(_naive(names, who, day, dist.config.answer_size))
    channel = sum(1 for n in names if dist.bucket_of(n).channel == "email")
    rate = count * days / seconds if seconds else float("inf")
    return (
        f"{total:>7} {days:>4} {count:>10} {len(ours):>8} {channel:>9} {len(naive):>7}"
        f" {rate:>10.0f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirrors", type=int, nargs="+", default=[30, 200])
    parser.add_argument("--days", type=int, nargs="+", default=[1, 7, 30])
    parser.add_argument("--groups", type=int, default=DistributionConfig().groups)
    parser.add_argument("--max-requesters", type=int, default=1000)
    args = parser.parse_args()
    print(f"2 channels x {args.groups} groups, answers of {DistributionConfig().answer_size}")
    print(" mirrors days requesters  learned  email/all   naive  answers/s")
    for total in args.mirrors:
        for days in args.days:
            for count in REQUESTERS:
                if count <= args.max_requesters:
                    print(_row(count, days, total, args.groups, seed=count))


if __name__ == "__main__":
    main()
