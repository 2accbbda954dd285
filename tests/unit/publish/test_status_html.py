"""The mirror status page a publisher opens: plain words, the site's language, a phone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tamizdat.catalogs import translations_for
from tamizdat.publish.check import CheckReport, MirrorHealth
from tamizdat.publish.status_html import plain_problem, render_status_html

URLLIB3_REFUSED = (
    "HTTPSConnectionPool(host='m.example', port=443): Max retries exceeded with url: "
    "/.well-known/tamizdat/metadata/timestamp.json (Caused by NewConnectionError("
    "'<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new "
    "connection: [Errno 111] Connection refused'))"
)


def health(name: str, state: str, version: int = 0, problem: str | None = None) -> MirrorHealth:
    return MirrorHealth(
        name=name,
        url=f"https://{name}.example/a/very/long/path/that/would/overflow/a/phone/screen/",
        state=state,  # type: ignore[arg-type]
        version=version,
        lagging_by=0,
        published=None,
        expires=None,
        problem=problem,
        where=None,
        latency_ms=12,
    )


def page(*mirrors: MirrorHealth, lang: str = "en") -> str:
    report = CheckReport(datetime(2026, 12, 4, 12, 0, tzinfo=UTC), 7, tuple(mirrors))
    return render_status_html(report, lang)


def test_an_unreachable_mirror_shows_no_release_zero_and_a_red_badge() -> None:
    text = page(health("down", "unreachable", problem=URLLIB3_REFUSED))
    assert '<td data-label="Release">—</td>' in text
    assert ">0<" not in text
    assert '<span class="state down">unreachable</span>' in text
    # Plain words first; the raw error only inside <details>.
    before, details = text.split("<details>", 1)
    assert "refused the connection" in before
    assert "NewConnectionError" not in before
    assert "NewConnectionError" in details


@pytest.mark.parametrize(
    ("raw", "state", "words"),
    [
        (URLLIB3_REFUSED, "unreachable", "refused the connection"),
        ("Read timed out. (read timeout=2)", "unreachable", "did not answer in time"),
        ("[Errno -2] Name or service not known", "unreachable", "its name does not resolve (DNS)"),
        ("Connection reset by peer", "unreachable", "cut the connection"),
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed", "unreachable",
         "its TLS certificate was not accepted"),
        ("HTTP 503 from mirror", "unreachable", "answered with an HTTP error"),
        ("bad hash for targets.json", "tampered", "served a file that is not the publisher's"),
        ("root fingerprint differs", "not-this-publisher", "serves another publisher's site"),
        ("something nobody foresaw", "unreachable", "failed the check"),
    ],
)  # fmt: skip
def test_every_failure_is_said_in_plain_words(raw: str, state: str, words: str) -> None:
    assert plain_problem(raw, state, translations_for("en").gettext) == words


def test_the_page_speaks_russian_for_a_russian_site() -> None:
    text = page(
        health("a", "current", 7), health("b", "unreachable", problem="timed out"), lang="ru"
    )
    assert '<html lang="ru">' in text
    assert "Состояние зеркал" in text
    assert "не ответило вовремя" in text
    assert "актуально" in text
    for english in ("Mirror status", "unreachable<", "did not answer", "Release", "Checked"):
        assert english not in text


def test_the_page_reads_on_a_phone() -> None:
    text = page(health("a", "current", 7))
    # Below 40rem every row is a card with labelled cells; long URLs wrap.
    assert "@media (max-width:40rem)" in text
    assert "content:attr(data-label)" in text
    assert "overflow-wrap:anywhere" in text


def test_hostile_values_stay_text() -> None:
    text = page(health("<img src=x>", "tampered", problem="<script>x</script>"))
    assert "<script>" not in text
    assert "<img" not in text
    assert "⚠" in text
