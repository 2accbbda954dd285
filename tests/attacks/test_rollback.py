"""Rollback: a copy older than one this machine saw is always refused (TUF §5.4–5.6)."""

from __future__ import annotations

import dataclasses

import pytest

from support.tuf_release import new_key, rewritten_log, sample_files, verify_files
from tamizdat.errors import LogForkError, RollbackError, TamperedError
from tamizdat.layout import METADATA_DIR, by_hash_path, log_entry_path
from tamizdat.trust.verify.seen import SeenStore


def test_timestamp_rollback_refused(publisher, state_dir) -> None:
    old = publisher.publish(sample_files("one"))
    new = publisher.publish(sample_files("two"))
    assert verify_files(new.files, new.fingerprint, state_dir).outcome == "current"
    with pytest.raises(RollbackError, match=r"expected timestamp version 2 or newer, found 1"):
        verify_files(old.files, old.fingerprint, state_dir)
    # The refusal did not lower what this machine remembers.
    assert SeenStore(state_dir).load(new.fingerprint).timestamp == 2


def test_snapshot_rollback_refused(publisher, state_dir) -> None:
    publisher.publish(sample_files("one"))
    new = publisher.publish(sample_files("two"))
    verify_files(new.files, new.fingerprint, state_dir)
    # A fresh timestamp that names the old snapshot version (a compromised timestamp key).
    publisher.version = 0
    replay = publisher.publish(sample_files("one"), log=publisher.log)
    assert replay.version == 1
    with pytest.raises(
        RollbackError, match=r"expected snapshot version 2 or newer, timestamp v3 names 1"
    ):
        verify_files(replay.files, replay.fingerprint, state_dir)


def test_targets_role_rollback_refused(publisher, state_dir) -> None:
    publisher.publish(sample_files("one"))
    new = publisher.publish(sample_files("two"))
    verify_files(new.files, new.fingerprint, state_dir)
    # Snapshot v3 lists the news desk at version 1 again: that role was rolled back.
    files = sample_files("three")
    release = publisher.publish(files)
    snapshot_name = f"{METADATA_DIR}/3.snapshot.json"
    snap = __import__("json").loads(release.files[snapshot_name])
    assert snap["signed"]["meta"]["news.json"]["version"] == 3
    seen = SeenStore(state_dir)
    remembered = seen.load(new.fingerprint)
    seen.save(
        new.fingerprint,
        type(remembered)(**{**_fields(remembered), "roles": {**remembered.roles, "news": 9}}),
    )
    with pytest.raises(
        RollbackError, match=r"expected news.json version 9 or newer, snapshot v3 names 3"
    ):
        verify_files(release.files, release.fingerprint, state_dir)


def _fields(seen):  # type: ignore[no-untyped-def]
    return {name: getattr(seen, name) for name in type(seen).__dataclass_fields__}


def test_log_rollback_refused(publisher, state_dir) -> None:
    publisher.publish(sample_files("one"))
    second = publisher.publish(sample_files("two"))
    verify_files(second.files, second.fingerprint, state_dir)
    # Release 3 is signed properly but carries a log cut back to its first entry.
    short = type(publisher.log)(publisher.log.entries[:1])
    third = publisher.publish(sample_files("three"), log=short)
    with pytest.raises(RollbackError, match=r"publication log of at least 2 entries"):
        verify_files(third.files, third.fingerprint, state_dir)


def test_log_rewriting_history_refused(publisher, state_dir) -> None:
    publisher.publish(sample_files("one"))
    second = publisher.publish(sample_files("two"))
    verify_files(second.files, second.fingerprint, state_dir)
    # A new release whose log replaces the first entry (a quietly edited article).
    third = publisher.publish(sample_files("three"), log=rewritten_log(2))
    with pytest.raises(LogForkError, match=r"expected the log to extend entry 1"):
        verify_files(third.files, third.fingerprint, state_dir)


def _inflate(state_dir, fingerprint: str, **roles: int) -> None:  # type: ignore[no-untyped-def]
    """What a compromised key leaves behind: role versions far ahead of the publisher's."""
    store = SeenStore(state_dir)
    seen = store.load(fingerprint)
    store.save(fingerprint, dataclasses.replace(seen, roles={**seen.roles, **roles}))


def test_desk_key_rotation_recovers_from_fast_forward(publisher, state_dir) -> None:
    first = publisher.publish(sample_files("one"))
    verify_files(first.files, first.fingerprint, state_dir)
    old_news_keys = SeenStore(state_dir).load(first.fingerprint).role_keys["news"]
    assert old_news_keys == (publisher.keys["news"].public_key.keyid,)
    _inflate(state_dir, first.fingerprint, news=99)
    second = publisher.publish(sample_files("two"))
    with pytest.raises(RollbackError, match=r"expected news.json version 99 or newer"):
        verify_files(second.files, second.fingerprint, state_dir)
    # The publisher rotates the news desk's key (targets re-delegates to the new key).
    publisher.keys["news"] = new_key()
    third = publisher.publish(sample_files("three"))
    assert verify_files(third.files, third.fingerprint, state_dir).outcome == "current"
    seen = SeenStore(state_dir).load(third.fingerprint)
    assert seen.roles["news"] == 3  # the inflated 99 is forgotten
    assert seen.role_keys["news"] == (publisher.keys["news"].public_key.keyid,)


def test_recovery_forgets_only_the_rotated_role(publisher, state_dir) -> None:
    first = publisher.publish(sample_files("one"))
    verify_files(first.files, first.fingerprint, state_dir)
    _inflate(state_dir, first.fingerprint, news=99, opinion=99)
    publisher.keys["news"] = new_key()
    second = publisher.publish(sample_files("two"))
    with pytest.raises(RollbackError, match=r"expected opinion.json version 99 or newer"):
        verify_files(second.files, second.fingerprint, state_dir)
    assert SeenStore(state_dir).load(first.fingerprint).roles["news"] == 99  # nothing saved


def test_targets_key_rotation_recovers_from_fast_forward(publisher, state_dir) -> None:
    first = publisher.publish(sample_files("one"))
    verify_files(first.files, first.fingerprint, state_dir)
    _inflate(state_dir, first.fingerprint, targets=99)
    publisher.rotate_root(role="targets")  # root v2 names a new targets key
    second = publisher.publish(sample_files("two"))
    assert verify_files(second.files, second.fingerprint, state_dir).outcome == "current"
    assert SeenStore(state_dir).load(second.fingerprint).roles["targets"] == 2


def test_role_version_rollback_refused_when_keys_unchanged_in_old_state(
    publisher, state_dir
) -> None:
    # A state file written before role keys were remembered: floors still hold, no reset.
    first = publisher.publish(sample_files("one"))
    verify_files(first.files, first.fingerprint, state_dir)
    store = SeenStore(state_dir)
    seen = store.load(first.fingerprint)
    store.save(first.fingerprint, dataclasses.replace(seen, role_keys={}, roles={"news": 50}))
    publisher.keys["news"] = new_key()
    second = publisher.publish(sample_files("two"))
    with pytest.raises(RollbackError, match=r"expected news.json version 50 or newer"):
        verify_files(second.files, second.fingerprint, state_dir)


def test_log_that_grows_but_does_not_link_to_the_seen_head_refused(publisher, state_dir) -> None:
    publisher.publish(sample_files("one"))
    second = publisher.publish(sample_files("two"))
    verify_files(second.files, second.fingerprint, state_dir)
    # Longer than the log seen (3 entries > 2), but its entry 2 links to a forged entry 1.
    third = publisher.publish(sample_files("three"), log=rewritten_log(3))
    with pytest.raises(LogForkError, match=r"extend entry 1 with hash .* naming previous"):
        verify_files(third.files, third.fingerprint, state_dir)


def test_log_entry_withheld_by_the_source_refused(publisher, state_dir) -> None:
    publisher.publish(sample_files("one"))
    second = publisher.publish(sample_files("two"))
    verify_files(second.files, second.fingerprint, state_dir)
    publisher.publish(sample_files("three"))
    fourth = publisher.publish(sample_files("four"))
    # The walk from entry 3 back to the seen entry 1 needs entry 2: the copy withholds it.
    entry = publisher.log.entries[2]
    del fourth.files[by_hash_path(log_entry_path(2), entry.hash)]
    with pytest.raises(TamperedError, match=r"expected this publication-log file, found none"):
        verify_files(fourth.files, fourth.fingerprint, state_dir)
    assert SeenStore(state_dir).load(second.fingerprint).log_head == (
        1,
        publisher.log.entries[1].hash,
    )


def test_log_walk_fetches_only_entries_after_the_seen_head(publisher, state_dir) -> None:
    publisher.publish(sample_files("one"))
    second = publisher.publish(sample_files("two"))
    verify_files(second.files, second.fingerprint, state_dir)
    publisher.publish(sample_files("three"))
    fourth = publisher.publish(sample_files("four"))
    # Entries 0 and 1 (seen already) are not needed: a copy without them still verifies.
    for old in publisher.log.entries[:2]:
        del fourth.files[by_hash_path(log_entry_path(old.index), old.hash)]
    report = verify_files(fourth.files, fourth.fingerprint, state_dir, check="metadata")
    assert report.log_head == (3, publisher.log.entries[3].hash)
