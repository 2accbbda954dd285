"""The reader says what each skipped mirror did in plain words; the raw problem only with -v."""

from __future__ import annotations

from tamizdat.cli.reader import mirror_lines
from tamizdat.transport.failover import MirrorNote

M1, M2, M3 = "http://m1.example/", "http://m2.example/", "http://m3.example/"
NOTES = [
    MirrorNote(M1, "timestamp.json", "unreachable", "did not answer within 2 s"),
    MirrorNote(M1, "1.root.json", "unreachable", "did not answer within 2 s"),
    MirrorNote(M2, "1.root.json", "tampered", "BadSignatureError: 0 of 2 signatures valid"),
    MirrorNote(M3, "timestamp.json", "lagging", "timestamp version 3 is below 5"),
]


def test_one_line_per_mirror_in_words() -> None:
    assert mirror_lines(NOTES, verbose=False) == [
        f"  mirror {M1} did not answer within 2 s",
        f"  mirror {M2} served a file that is not the publisher's",
        f"  mirror {M3} serves an older release than the others",
    ]


def test_the_raw_problem_only_when_verbose() -> None:
    quiet = "\n".join(mirror_lines(NOTES, verbose=False))
    loud = "\n".join(mirror_lines(NOTES, verbose=True))
    assert "signatures" not in quiet
    assert "0 of 2 signatures valid" in loud
    assert "1.root.json" in loud
