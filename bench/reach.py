"""Reach report: how the reader fares behind a censor, scenario by scenario (needs root).

Builds the censorship lab of ``tests/lab`` (network namespaces: reader ⇄ censor ⇄ three
mirrors; no link to the host's network, a blackhole route for the lab range), signs the
sample site with the real publisher, and runs the real ``tamizdat reader`` inside the reader
namespace once per scenario, with a fresh reader (or one holding the previous release).
Prints a Markdown table a newsroom can read: scenario, client, outcome, seconds until the
verified release (interpreter start included), bytes fetched, and what the skipped mirrors
did.

Run (as root): .venv/bin/python bench/reach.py [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "lab"))

from labnet import (
    FORGER_IP,
    MIRROR_COUNT,
    Lab,
    Policy,
    Reader,
    Releases,
    cleanup_stale,
    mirror_ip,
    mirror_name,
    probe,
)
from labsetup import make_releases, reader_homes, start_lab

from tamizdat.cli.reader import mirror_lines
from tamizdat.transport.failover import MirrorNote

M1, M2, M3 = (mirror_ip(n) for n in range(1, 4))
ALL = frozenset({M1, M2, M3})


@dataclass(frozen=True)
class Scenario:
    """One row: what the censor does, which reader runs, what the mirrors serve."""

    label: str
    policy: Policy = field(default_factory=Policy)
    reader: str = "http"  # a reader home template: http, https, synced (holds release 1)
    serve: dict[int, str] = field(default_factory=dict)  # mirror → v1 | tampered
    bundle: bool = False


SCENARIOS = [
    Scenario("nothing blocked"),
    Scenario("first mirror's address silently dropped", Policy(drop=frozenset({M1}))),
    Scenario("first mirror's address reset", Policy(reset=frozenset({M1}))),
    Scenario("all mirrors but one dropped", Policy(drop=frozenset({M1, M2}))),
    Scenario("DNS: first mirror's name NXDOMAIN", Policy(dns={mirror_name(1): "nxdomain"})),
    Scenario("DNS: no answer for first mirror", Policy(dns={mirror_name(1): "silent"})),
    Scenario("DNS: first mirror poisoned to a look-alike", Policy(dns={mirror_name(1): FORGER_IP})),
    Scenario("DNS poisoned to a look-alike, HTTPS", Policy(dns={mirror_name(1): FORGER_IP}),
             "https"),
    Scenario("TLS server name reset, HTTPS", Policy(sni_reset=frozenset({mirror_name(1)})),
             "https"),
    Scenario("TLS server name dropped, HTTPS", Policy(sni_drop=frozenset({mirror_name(1)})),
             "https"),
    Scenario("first mirror freezes connections after 16 KB",
             Policy(stall_after=16384, stall=frozenset({M1}))),
    Scenario("every mirror freezes connections after 16 KB", Policy(stall_after=16384)),
    Scenario("same, HTTPS", Policy(stall_after=16384), "https"),
    Scenario("throttled to 256 kbit/s: one-article update", Policy(throttle_kbit=256),
             "synced"),
    Scenario("whitelist allowing one mirror", Policy(allow_only=frozenset({M3}))),
    Scenario("frozen mirror (old release)", serve={1: "v1"}),
    Scenario("frozen mirror, the others blocked", Policy(drop=frozenset({M2, M3})),
             serve={1: "v1"}),
    Scenario("tampering mirror", serve={1: "tampered"}),
    Scenario("look-alike alone (others blocked)",
             Policy(drop=frozenset({M2, M3}), dns={mirror_name(1): FORGER_IP}), "synced"),
    Scenario("everything blocked", Policy(drop=ALL), "synced"),
    Scenario("everything blocked, bundle from a friend", Policy(drop=ALL), "synced",
             bundle=True),
]  # fmt: skip


def _served(releases: Releases, what: str) -> Path:
    return {"v1": releases.v1, "v2": releases.v2, "tampered": releases.tampered}[what]


def _run(lab: Lab, releases: Releases, homes: dict[str, Path], work: Path, row: Scenario,
         number: int) -> dict[str, Any]:  # fmt: skip
    for index in range(1, MIRROR_COUNT + 1):
        lab.serve(index, _served(releases, row.serve.get(index, "v2")))
    lab.serve(FORGER_IP, releases.forged)
    lacking = sorted(f for f in row.policy.needs() if f in lab.missing)
    if lacking:
        return {"scenario": row.label, "client": "-", "outcome": f"not run: no {lacking}"}
    lab.set_policy(row.policy)
    home = work / f"reader-{number}"
    shutil.copytree(homes[row.reader], home, symlinks=True)
    reader = Reader(lab, home, releases.ca)
    if row.bundle:
        shutil.copy(releases.bundle, home / "friend.tamizdat")
        client = "reader import"
        done = reader.run("--json", "reader", "import", "news", str(home / "friend.tamizdat"))
    else:
        client = "reader sync"
        done = reader.run("--json", "reader", "sync", "news", "--ca-file", str(releases.ca))
    report = done.json
    notes = [MirrorNote(**note) for note in report.get("notes", [])]
    skipped = [line.strip().removeprefix("mirror ") for line in mirror_lines(notes, False)]
    outcome = str(report["outcome"])
    if report.get("version") is not None:
        outcome += f" (release {report['version']})"
    return {
        "scenario": row.label,
        "client": client,
        "outcome": outcome,
        "seconds": round(done.seconds, 2),
        "bytes": report.get("wire_bytes", 0),
        "skipped": "; ".join(s.replace(".lab.test/", "").replace("http://", "")
                             .replace("https://", "") for s in skipped),
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    cleanup_stale()
    missing = probe()
    if "core" in missing:
        sys.exit(f"reach: the censorship lab cannot run here: {missing['core']}")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with contextlib.redirect_stdout(sys.stderr):  # what the publisher's commands print
            releases = make_releases(work / "releases")
            lab = start_lab(work / "lab", releases, missing)
        try:
            homes = reader_homes(lab, releases, work / "readers")
            for number, row in enumerate(SCENARIOS):
                rows.append(_run(lab, releases, homes, work, row, number))
                print(f"reach: {rows[-1]['scenario']}: {rows[-1]['outcome']}", file=sys.stderr)
        finally:
            lab.stop()
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    print("| scenario | client | outcome | time | bytes | skipped mirrors |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        seconds = f"{row['seconds']:.1f} s" if "seconds" in row else "-"
        print(f"| {row['scenario']} | {row['client']} | {row['outcome']} | {seconds} | "
              f"{row.get('bytes', '-')} | {row.get('skipped', '') or '-'} |")  # fmt: skip


if __name__ == "__main__":
    main()
