"""The reading banner: fingerprint, release, localised age, stale warning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tamizdat.reader.serve import inject_banner, make_banner
from tamizdat.reader.store import ReleaseInfo

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
FP = "ab" * 32


def _info(*, hours: int = 4, stale: bool = False, expires_in: int = 24) -> ReleaseInfo:
    return ReleaseInfo(
        version=7, timestamp_version=9, fingerprint=FP,
        published=(NOW - timedelta(hours=hours)).isoformat(),
        expires=(NOW + timedelta(hours=expires_in)).isoformat(), stale=stale,
        verified_at=NOW.isoformat(), source="m1",
    )  # fmt: skip


def test_banner_states_fingerprint_release_and_age() -> None:
    page = b'<!doctype html><html lang="en"><body class="x"><h1>Hi</h1></body></html>'
    out = inject_banner(page, _info(), NOW)
    assert out.index(b"tamizdat-banner") > out.index(b'<body class="x">')
    assert b"release 7" in out
    assert b"updated 4 hours ago" in out
    assert b"abab abab abab" in out
    assert b"possibly outdated" not in out


def test_age_is_localised_for_the_page_language() -> None:
    assert make_banner(_info(), "ru", NOW).age == "4 часа назад"
    assert (
        make_banner(_info(hours=50), "fa", NOW).age != make_banner(_info(hours=50), "en", NOW).age
    )
    assert make_banner(_info(), "xx-Nope", NOW).age == "4 hours ago"


def test_stale_release_gets_a_clear_warning() -> None:
    page = b"<html><body>x</body></html>"
    expired = inject_banner(page, _info(hours=100, expires_in=-2), NOW)
    assert b"Authentic, published November 25, 2026, possibly outdated." in expired
    assert b"tamizdat-banner stale" in expired
    flagged = inject_banner(page, _info(stale=True), NOW)
    assert b"possibly outdated" in flagged


def test_page_without_body_still_gets_the_banner() -> None:
    assert inject_banner(b"plain", _info(), NOW).endswith(b"plain")
    assert inject_banner(b"plain", _info(), NOW).startswith(b"<link")


def test_a_russian_page_gets_a_russian_banner() -> None:
    page = '<html lang="ru"><body><h1>Привет</h1></body></html>'.encode()
    out = inject_banner(page, _info(hours=100, expires_in=-2), NOW).decode()
    assert 'role="status" lang="ru">Проверенная копия · выпуск 7 · обновлено' in out
    assert "Подлинная копия, опубликована 25 ноября 2026\u202fг., возможно, устарела." in out
    assert "Отпечаток издателя" in out
    for english in ("Verified", "release", "Authentic", "fingerprint", "sync"):
        assert english not in out


@pytest.mark.parametrize("lang", ["xx", "de", "zz-Latn", "ru-RU"])
def test_a_language_without_a_catalog_gets_english_marked_as_english(lang: str) -> None:
    page = f'<html lang="{lang}"><body>x</body></html>'.encode()
    out = inject_banner(page, _info(), NOW).decode()
    if lang == "ru-RU":
        assert 'lang="ru">Проверенная копия' in out
    else:
        assert 'lang="en">Verified copy · release 7' in out
