"""The attack releases of tests/attacks/ as data: judged by every Python door
(tests/attacks/test_one_verdict.py) and exported as fixture folders for the JavaScript
verifier, with Python's verdict (tests/web/test_js_differential.py).

Every case is a release (its files, the pinned fingerprint, what this machine saw before,
the time and limits of the check) judged here by the Python verifier exactly as ``tamizdat
verify DIR`` judges it. The node test (``web/differential/run.test.js``) runs the JavaScript
verifier on the same folder and must reach the same verdict: outcome, error class, and for an
authentic release the version, publication time, stale roles, log head and the seen
versions to remember. Generated at test time, so the fixtures never go stale.

Layout written under ``root``::

    cases.json                      [{name, fingerprint, now, seen, check, limits, expected}]
    <name>/files/<layout paths>     the release as a mirror serves it
    vectors.json                    canonical-JSON and fnmatch answers from Python
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from securesystemslib.formats import encode_canonical
from tuf.api.metadata import Metadata

from support.attack_corpus import CASES, Built
from support.tuf_release import (
    Release,
    ReleaseFactory,
    new_key,
    now,
    rewritten_log,
    sample_files,
    verify_files,
    write_file,
)
from tamizdat.errors import TransportError, UntrustedContentError
from tamizdat.layout import LOG_JSON, METADATA_DIR, by_hash_path, log_entry_path
from tamizdat.transport.sources import DirectorySource
from tamizdat.trust.verify.policy import Limits
from tamizdat.trust.verify.seen import SeenStore, seen_from_json, seen_to_json
from tamizdat.trust.verify.whole import outcome_of, verify_release

__all__ = ["FixtureCase", "export_fixtures", "stateless_cases"]


@dataclasses.dataclass
class FixtureCase:
    """One release to judge, and the state the judge starts from."""

    name: str
    files: dict[str, bytes]
    fingerprint: str
    seen: dict[str, Any] | None = None
    when: datetime | None = None
    check: str = "all"
    limits: dict[str, int] = dataclasses.field(default_factory=dict)


_LIMIT_NAMES = {"maxRootRotations": "max_root_rotations", "rootMaxBytes": "root_max_bytes"}


def _seen_after(files: dict[str, bytes], fingerprint: str, tmp: Path) -> dict[str, Any]:
    """What a machine remembers after verifying ``files`` (it must verify)."""
    state = tmp / f"seen-{hashlib.sha256(fingerprint.encode()).hexdigest()[:8]}"
    assert verify_files(files, fingerprint, state).outcome in ("current", "stale")
    return seen_to_json(SeenStore(state).load(fingerprint))


def _corpus() -> Iterator[FixtureCase]:
    for case in CASES:
        built: Built = case.build()
        yield FixtureCase(f"corpus-{case.name}", built.files, built.fingerprint)


def _rollbacks(tmp: Path) -> Iterator[FixtureCase]:
    pub = ReleaseFactory.newsroom()
    old = pub.publish(sample_files("one"))
    new = pub.publish(sample_files("two"))
    seen = _seen_after(new.files, new.fingerprint, tmp / "a")
    yield FixtureCase("rollback-timestamp", old.files, old.fingerprint, seen)
    pub.version = 0
    replay = pub.publish(sample_files("one"), log=pub.log)
    yield FixtureCase("rollback-snapshot", replay.files, replay.fingerprint, seen)

    pub = ReleaseFactory.newsroom()
    pub.publish(sample_files("one"))
    second = pub.publish(sample_files("two"))
    seen = _seen_after(second.files, second.fingerprint, tmp / "b")
    inflated = {**seen, "roles": {**seen["roles"], "news": 9}}
    third = pub.publish(sample_files("three"))
    yield FixtureCase("rollback-targets-role", third.files, third.fingerprint, inflated)
    yield FixtureCase("current-after-seen", third.files, third.fingerprint, seen)
    short = type(pub.log)(pub.log.entries[:1])
    cut = pub.publish(sample_files("four"), log=short)
    yield FixtureCase("rollback-log-cut", cut.files, cut.fingerprint, seen)
    forked = pub.publish(sample_files("five"), log=rewritten_log(2))
    yield FixtureCase("rollback-log-rewritten", forked.files, forked.fingerprint, seen)
    longer = pub.publish(sample_files("six"), log=rewritten_log(3))
    yield FixtureCase("rollback-log-not-linked", longer.files, longer.fingerprint, seen)

    pub = ReleaseFactory.newsroom()
    pub.publish(sample_files("one"))
    second = pub.publish(sample_files("two"))
    seen = _seen_after(second.files, second.fingerprint, tmp / "c")
    pub.publish(sample_files("three"))
    fourth = pub.publish(sample_files("four"))
    withheld = dict(fourth.files)
    entry = pub.log.entries[2]
    del withheld[by_hash_path(log_entry_path(2), entry.hash)]
    yield FixtureCase("log-entry-withheld", withheld, fourth.fingerprint, seen)
    walk = dict(fourth.files)
    for old_entry in pub.log.entries[:2]:
        del walk[by_hash_path(log_entry_path(old_entry.index), old_entry.hash)]
    yield FixtureCase("log-walk-after-seen", walk, fourth.fingerprint, seen, check="metadata")


def _fast_forward(tmp: Path) -> Iterator[FixtureCase]:
    pub = ReleaseFactory.newsroom()
    first = pub.publish(sample_files("one"))
    seen = _seen_after(first.files, first.fingerprint, tmp / "d")
    inflated = {**seen, "roles": {**seen["roles"], "news": 99}}
    second = pub.publish(sample_files("two"))
    yield FixtureCase("fast-forward-before-rotation", second.files, second.fingerprint, inflated)
    pub.keys["news"] = new_key()
    third = pub.publish(sample_files("three"))
    yield FixtureCase("fast-forward-desk-key-rotated", third.files, third.fingerprint, inflated)
    both = {**seen, "roles": {**seen["roles"], "news": 99, "opinion": 99}}
    yield FixtureCase("fast-forward-other-role-kept", third.files, third.fingerprint, both)
    legacy = {**seen, "role_keys": {}, "roles": {"news": 50}}
    yield FixtureCase("fast-forward-old-state", third.files, third.fingerprint, legacy)

    pub = ReleaseFactory.newsroom()
    first = pub.publish(sample_files("one"))
    seen = _seen_after(first.files, first.fingerprint, tmp / "e")
    pub.rotate_root(role="targets")
    second = pub.publish(sample_files("two"))
    targets99 = {**seen, "roles": {**seen["roles"], "targets": 99}}
    yield FixtureCase(
        "fast-forward-targets-key-rotated", second.files, second.fingerprint, targets99
    )
    pub.rotate_root(role="timestamp")
    third = pub.publish(sample_files("three"))
    ts99 = {**seen, "timestamp": 99, "snapshot": 99}
    yield FixtureCase("fast-forward-timestamp-key-rotated", third.files, third.fingerprint, ts99)


def _freeze_and_mix() -> Iterator[FixtureCase]:
    pub = ReleaseFactory.newsroom()
    frozen = pub.publish(sample_files(), timestamp_expires=now() - timedelta(hours=1))
    yield FixtureCase("stale-frozen-timestamp", frozen.files, frozen.fingerprint)
    pub = ReleaseFactory.newsroom()
    release = pub.publish(sample_files())
    later = now() + timedelta(days=30)
    yield FixtureCase("stale-old-usb-copy", release.files, release.fingerprint, when=later)
    pub = ReleaseFactory.newsroom()
    first = pub.publish(sample_files("one"))
    second = pub.publish(sample_files("two"))
    mixed = dict(second.files)
    mixed[f"{METADATA_DIR}/2.snapshot.json"] = first.files[f"{METADATA_DIR}/1.snapshot.json"]
    yield FixtureCase("mix-snapshot", mixed, second.fingerprint)
    mixed = dict(second.files)
    mixed[f"{METADATA_DIR}/2.news.json"] = first.files[f"{METADATA_DIR}/1.news.json"]
    yield FixtureCase("mix-targets-role", mixed, second.fingerprint)


def _endless() -> Iterator[FixtureCase]:
    pub = ReleaseFactory.newsroom()
    release = pub.publish(sample_files())
    files = dict(release.files)
    files[f"{METADATA_DIR}/timestamp.json"] += b" " * (20 * 1024)
    yield FixtureCase("endless-timestamp", files, release.fingerprint)
    page = "news/2026/flood/index.html"
    obj = by_hash_path(page, hashlib.sha256(release.files[page]).hexdigest())
    files = dict(release.files)
    files[obj] += b"\0" * 100_000
    yield FixtureCase("endless-target", files, release.fingerprint)
    pub = ReleaseFactory.newsroom()
    for _ in range(3):
        pub.rotate_root()
    chain = pub.publish(sample_files())
    yield FixtureCase(
        "endless-root-chain", chain.files, chain.fingerprint, limits={"maxRootRotations": 2}
    )
    yield FixtureCase(
        "root-chain-at-limit", chain.files, chain.fingerprint, limits={"maxRootRotations": 3}
    )
    pub = ReleaseFactory.newsroom()
    pub.rotate_root(role="timestamp")
    big = pub.publish(sample_files())
    files = dict(big.files)
    files[f"{METADATA_DIR}/2.root.json"] += b" " * 4096
    yield FixtureCase("endless-root", files, big.fingerprint, limits={"rootMaxBytes": 4096})


def _times() -> Iterator[FixtureCase]:
    signed_at = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    pub = ReleaseFactory.newsroom()
    pub.publish(sample_files("one"), when=signed_at - timedelta(days=2))
    release = pub.publish(sample_files("two"), when=signed_at)
    yield FixtureCase("published-own-entry", release.files, release.fingerprint, when=signed_at)
    pub = ReleaseFactory.newsroom()
    first = datetime(2026, 3, 1, tzinfo=UTC)
    pub.publish(sample_files("one"), when=first)
    borrowed = pub.publish(sample_files("two"), log=pub.log, when=first)
    yield FixtureCase("published-unknown", borrowed.files, borrowed.fingerprint, when=first)
    pub = ReleaseFactory.newsroom()
    release = pub.publish(sample_files(), when=first)
    entry = pub.log.entries[-1]
    location = by_hash_path(log_entry_path(entry.index), entry.hash)
    forged = release.files[location].replace(b"2026-03-01T00:00:00Z", b"2025-03-01T00:00:00Z")
    files = {**release.files, location: forged}
    yield FixtureCase("published-forged-entry", files, release.fingerprint, when=first)
    digest = hashlib.sha256(forged).hexdigest()
    head = release.files[LOG_JSON].replace(entry.hash.encode(), digest.encode())
    files = {
        **release.files,
        by_hash_path(log_entry_path(0), digest): forged,
        LOG_JSON: head,
        by_hash_path(LOG_JSON, hashlib.sha256(head).hexdigest()): head,
    }
    yield FixtureCase("published-forged-head", files, release.fingerprint, when=first)


def _keys() -> Iterator[FixtureCase]:
    def case(name: str, attack: Callable[[ReleaseFactory], Release]) -> FixtureCase:
        pub = ReleaseFactory.newsroom()
        release = attack(pub)
        return FixtureCase(name, release.files, release.fingerprint)

    def below_threshold(pub: ReleaseFactory) -> Release:
        pub.rotate_root(signers=[pub.root_keys[0]])
        return pub.publish(sample_files())

    def revoked_timestamp(pub: ReleaseFactory) -> Release:
        old = pub.keys["timestamp"]
        pub.rotate_root(role="timestamp")
        return pub.publish(sample_files(), signed_by={"timestamp": [old]})

    def revoked_root(pub: ReleaseFactory) -> Release:
        old = list(pub.root_keys)
        pub.rotate_root(new_root_keys=[new_key() for _ in range(3)])
        pub.rotate_root(role="snapshot", signers=old)
        return pub.publish(sample_files())

    def rotations(pub: ReleaseFactory) -> Release:
        pub.rotate_root(role="timestamp")
        pub.rotate_root(new_root_keys=[new_key() for _ in range(3)])
        return pub.publish(sample_files())

    def outside_section(pub: ReleaseFactory) -> Release:
        files = {**sample_files(), "opinion/forged/index.html": b"<p>forged column</p>"}
        return pub.publish(files, assign={"opinion/forged/index.html": "news"})

    yield case("key-root-below-threshold", below_threshold)
    yield case(
        "key-not-authorised",
        lambda p: p.publish(sample_files(), signed_by={"timestamp": [p.keys["snapshot"]]}),
    )
    yield case(
        "key-desk-signs-other-desk",
        lambda p: p.publish(sample_files(), signed_by={"opinion": [p.keys["news"]]}),
    )
    yield case("key-desk-outside-section", outside_section)
    yield case("key-rotations-followed", rotations)
    yield case("key-revoked-timestamp", revoked_timestamp)
    yield case("key-revoked-root-keys", revoked_root)


def _nonterminating() -> Iterator[FixtureCase]:
    """A non-terminating delegation over every path (the presets only terminate)."""
    pub = ReleaseFactory.bare()
    pub.add_desk("pages", ["*", "*/*", "*/*/*"], terminating=False)
    release = pub.publish(sample_files())
    yield FixtureCase("plain-nonterminating-desk", release.files, release.fingerprint)


def _judge(case: FixtureCase, folder: Path, tmp: Path) -> dict[str, Any]:
    """Python's verdict on the folder, as ``tamizdat verify DIR`` gives it."""
    state = tmp / f"state-{case.name}"
    store = SeenStore(state)
    if case.seen is not None:
        store.save(case.fingerprint, seen_from_json(case.seen))
    limits = Limits(**{_LIMIT_NAMES[k]: v for k, v in case.limits.items()})
    try:
        report = verify_release(
            DirectorySource(folder),
            fingerprint=case.fingerprint,
            seen=store,
            now=case.when,
            limits=limits,
            check="all" if case.check == "all" else "metadata",
        )
    except UntrustedContentError as exc:
        return {"outcome": outcome_of(exc), "error": type(exc).__name__}
    except TransportError as exc:
        return {"outcome": "unreachable", "error": type(exc).__name__}
    return {
        "outcome": report.outcome,
        "error": None,
        "version": report.version,
        "published": report.published.strftime("%Y-%m-%dT%H:%M:%SZ") if report.published else None,
        "stale_roles": list(report.stale_roles),
        "log_head": list(report.log_head) if report.log_head else None,
        "seen": seen_to_json(store.load(case.fingerprint)),
    }


def _vectors(folders: list[Path]) -> dict[str, Any]:
    """Canonical JSON of every metadata file, tricky strings, and fnmatch answers."""
    canonical = {}
    for folder in folders:
        for file in sorted((folder / "files" / METADATA_DIR).glob("*.json")):
            try:
                md = Metadata.from_bytes(file.read_bytes())
            except Exception:  # an attack's malformed file: nothing to compare
                continue
            key = f"{folder.name}/{file.name}"
            canonical[key] = hashlib.sha256(md.signed_bytes).hexdigest()
    values: list[Any] = [
        {
            "b": 1,
            "a": [True, False, None],
            "é": '\u00e9\\"\n\t\u2028',
            "\U0001f600": 0,
            "\uffff": -3,
        },
        {"z": {"y": {"x": []}}, "": "", "A": "a", "_type": "root"},
        ["\u0000\u001f", "\ud7ff\ue000", 9007199254740991],
    ]
    strings = [{"value": v, "canonical": encode_canonical(v)} for v in values]
    patterns = ["*", "news", "n?ws", "n*s", "[abc]*", "[!abc]*", "[a-c]x", "[z-a]x", "[!z-a]",
                "[]]x", "[!]]x", "[a-]", "[!a-]", "a[", "*.html", "**", "[*]", "\\*", "[\\]",
                "a-c-e", "[a-c-e]", "é*", "?"]  # fmt: skip
    names = ["news", "nws", "nebulas", "a", "ax", "cx", "dx", "]x", "x", "-", "ab", "a[", "index.html",
             "", "*", "\\", "b", "é", "éa", "c", "e"]  # fmt: skip
    globs = [[n, p, fnmatch.fnmatchcase(n, p)] for p in patterns for n in names]
    return {"canonical": canonical, "strings": strings, "fnmatch": globs}


def _cases(tmp: Path) -> Iterator[FixtureCase]:
    yield from _corpus()
    yield from _rollbacks(tmp)
    yield from _fast_forward(tmp)
    yield from _freeze_and_mix()
    yield from _endless()
    yield from _times()
    yield from _keys()
    yield from _nonterminating()


def stateless_cases() -> Iterator[FixtureCase]:
    """The releases judged from a blank state, now, with the default limits (beyond the
    corpus): the ones every door can be handed as they are."""
    for case in (*_freeze_and_mix(), *_endless(), *_times(), *_keys(), *_nonterminating()):
        if case.seen is None and case.when is None and case.check == "all" and not case.limits:
            yield case


def export_fixtures(root: Path) -> list[str]:
    """Write every case under ``root`` (see the module docstring); return the case names."""
    work = root / ".work"
    records = []
    folders = []
    for case in _cases(work):
        folder = root / case.name
        for path, data in case.files.items():
            write_file(folder / "files" / path, data)
        when = case.when or now()
        case.when = when
        records.append({
            "name": case.name,
            "fingerprint": case.fingerprint,
            "now": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "seen": case.seen,
            "check": case.check,
            "limits": case.limits,
            "expected": _judge(case, folder / "files", work),
        })  # fmt: skip
        folders.append(folder)
    (root / "cases.json").write_text(json.dumps(records, indent=1, ensure_ascii=False))
    (root / "vectors.json").write_text(json.dumps(_vectors(folders), ensure_ascii=False))
    return [r["name"] for r in records]
