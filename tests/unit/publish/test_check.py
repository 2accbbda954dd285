"""The ``mirrors check`` state machine against an in-memory fake verifier, and its history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from releasekit import write_release

from tamizdat.config.mirrors import MirrorSettings
from tamizdat.errors import ExitCode, MirrorUnreachableError
from tamizdat.publish.check import check_mirrors
from tamizdat.publish.history import read_timelines
from tamizdat.publish.status_html import render_status_html
from tamizdat.trust.verify import VerifyReport

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FP = "ab" * 32


def mirror(name: str, **kw: Any) -> MirrorSettings:
    return MirrorSettings(
        name=name,
        url=f"file:///srv/{name}",
        public_url=kw.pop("public_url", f"https://{name}.example/"),
        tags=(),
        enabled=True,
        retired=kw.pop("retired", None),
        created=kw.pop("created", None),
    )


def report(outcome: str, version: int, **kw: Any) -> VerifyReport:
    return VerifyReport(
        outcome=outcome,  # type: ignore[arg-type]
        source="s",
        version=version,
        timestamp_version=version,
        published=NOW,
        expires=NOW + timedelta(days=1),
        files_checked=3,
        **kw,
    )


class FakeVerifier:
    """Answers per mirror name: a VerifyReport, or an exception to raise."""

    def __init__(self, answers: dict[str, VerifyReport | Exception]) -> None:
        self.answers = answers
        self.calls: list[dict[str, Any]] = []

    def __call__(self, source: Any, **kwargs: Any) -> VerifyReport:
        self.calls.append(kwargs)
        answer = self.answers[source.name]
        if isinstance(answer, Exception):
            raise answer
        return answer


class NamedSource:
    remote = True
    wire_bytes = None

    def __init__(self, m: MirrorSettings) -> None:
        self.name = m.name

    def fetch(self, path: str, max_length: int) -> bytes:
        raise AssertionError("the fake verifier never fetches")


@pytest.fixture
def release(tmp_path: Path) -> Path:
    write_release(tmp_path / "release", 5, {"index.html": b"hi"})
    return tmp_path / "release"


def run(release: Path, answers: dict[str, Any], tmp_path: Path, now: datetime = NOW, **kw: Any):  # type: ignore[no-untyped-def]
    verifier = FakeVerifier(answers)
    mirrors = kw.pop("mirrors", [mirror(n) for n in answers])
    result = check_mirrors(
        mirrors,
        fingerprint=FP,
        local_release_dir=release,
        sample_size=7,
        history_file=tmp_path / "history.jsonl",
        now=now,
        verify=verifier,
        make_source=NamedSource,
    )
    return result, verifier


def test_every_state_and_the_worst_exit_code(release: Path, tmp_path: Path) -> None:
    result, verifier = run(
        release,
        {
            "ok": report("current", 5),
            "behind": report("current", 3),
            "frozen": report("stale", 4),
            "gone": MirrorUnreachableError("connection refused", where="https://gone.example/"),
            "forged": report("tampered", 0, problem="hash differs", where="gone: articles/x.html"),
            "clone": report("not-this-publisher", 0, problem="other root"),
        },
        tmp_path,
    )
    states = {m.name: (m.state, m.lagging_by) for m in result.mirrors}
    assert states == {
        "ok": ("current", 0),
        "behind": ("lagging", 2),
        "frozen": ("stale", 1),
        "gone": ("unreachable", 0),
        "forged": ("tampered", 0),
        "clone": ("not-this-publisher", 0),
    }
    assert result.worst == "tampered"
    assert result.exit_code is ExitCode.TAMPERED
    forged = next(m for m in result.mirrors if m.name == "forged")
    assert forged.where == "gone: articles/x.html"
    gone = next(m for m in result.mirrors if m.name == "gone")
    assert gone.problem == "connection refused"
    assert all(c["check"] == "sample" and c["sample_size"] == 7 for c in verifier.calls)
    assert result.local_version == 5


def test_exit_codes_follow_the_worst_state(release: Path, tmp_path: Path) -> None:
    assert run(release, {"a": report("current", 5)}, tmp_path)[0].exit_code is ExitCode.OK
    lag, _ = run(release, {"a": report("current", 5), "b": report("current", 4)}, tmp_path)
    assert lag.exit_code is ExitCode.STALE
    down, _ = run(release, {"a": report("current", 4), "b": MirrorUnreachableError("x")}, tmp_path)
    assert down.exit_code is ExitCode.UNREACHABLE


def test_history_reports_first_failure_and_time_to_block(release: Path, tmp_path: Path) -> None:
    created = mirror("m", created="2026-02-28")
    ok = {"m": report("current", 5)}
    down = {"m": MirrorUnreachableError("timed out")}
    run(release, ok, tmp_path, now=NOW, mirrors=[created])
    first_fail = NOW + timedelta(hours=3)
    result, _ = run(release, down, tmp_path, now=first_fail, mirrors=[created])
    result, _ = run(release, down, tmp_path, now=NOW + timedelta(hours=9), mirrors=[created])
    (health,) = result.mirrors
    assert health.failing_since == first_fail
    assert (
        health.time_to_block_seconds
        == (first_fail - datetime(2026, 2, 28, tzinfo=UTC)).total_seconds()
    )
    # recovery clears it
    result, _ = run(release, ok, tmp_path, now=NOW + timedelta(hours=10), mirrors=[created])
    assert result.mirrors[0].failing_since is None
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert len(lines) == 4
    assert json.loads(lines[1])["state"] == "unreachable"


def test_history_skips_a_torn_line(tmp_path: Path) -> None:
    file = tmp_path / "h.jsonl"
    file.write_text(
        '{"time": "2026-03-01T00:00:00+00:00", "mirror": "a", "state": "unreachable", "version": 0}\n'
        '{"time": "2026-03-01T01:0'
    )
    timeline = read_timelines(file)["a"]
    assert timeline.failing_since == datetime(2026, 3, 1, tzinfo=UTC)
    assert timeline.last_ok is None


def test_retired_mirrors_are_not_checked(release: Path, tmp_path: Path) -> None:
    result, verifier = run(
        release,
        {"a": report("current", 5)},
        tmp_path,
        mirrors=[mirror("a"), mirror("old", retired="2026-01-01")],
    )
    assert [m.name for m in result.mirrors] == ["a"]
    assert len(verifier.calls) == 1


def test_status_page_is_self_contained_and_escaped(release: Path, tmp_path: Path) -> None:
    result, _ = run(
        release,
        {"<b>evil</b>": report("tampered", 0, problem="<script>alert(1)</script>")},
        tmp_path,
        mirrors=[mirror("<b>evil</b>")],
    )
    page = render_status_html(result)
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert "&lt;b&gt;evil" in page
    # loads nothing from anywhere: no src/href attributes, no url() in the style
    assert not any(word in page for word in ("src=", "href=", "url(", "@import"))
    assert "default-src 'none'" in page
