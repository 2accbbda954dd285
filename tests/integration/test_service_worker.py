"""tamizdat's service worker end to end, in Debian's Chromium: every origin and mirror is a real
HTTP server on 127.0.0.1, every byte a page shows is checked against the publisher's keys.

A test first lets the worker install on a visit to the origin (the reader's first, unverified
visit), then changes what the network does: the origin fails, lies, freezes or goes away, a
new release appears, a new sw.js with another trust anchor is offered. Restarting the worker
(Chromium's DevTools ``ServiceWorker.stopAllWorkers``, what a browser does to an idle worker)
makes it verify the release again instead of answering from the release it holds in memory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from support.browser import browser_context
from support.sw_site import FORGED, Origin, SignedSite
from support.tuf_release import ReleaseFactory, new_key, now

TIMEOUT_MS = 30_000


@pytest.fixture
def site(tmp_path: Path) -> Iterator[SignedSite]:
    signed = SignedSite(tmp_path)
    yield signed
    signed.close()


def install(page: Any, url: str) -> None:
    """The reader's first visit: the register script installs the worker, which takes over."""
    page.goto(url)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=TIMEOUT_MS)


def restart_workers(page: Any) -> None:
    """Stop the worker (as a browser does when idle): the next request starts it afresh."""
    session = page.context.new_cdp_session(page)
    session.send("ServiceWorker.enable")
    session.send("ServiceWorker.stopAllWorkers")
    session.detach()


def state(page: Any) -> str | None:
    value: str | None = page.get_attribute(".tz-status", "data-tz-state")
    return value


def status(page: Any) -> str:
    text: str = page.text_content(".tz-status") or ""
    return text


def host(origin: Origin) -> str:
    return origin.url.removeprefix("http://").rstrip("/")


def test_first_visit_is_unverified_then_verified_after_install(
    browser: Any, site: SignedSite
) -> None:
    site.publish()
    with browser_context(browser, locale="ru-RU") as context:
        page = context.new_page()
        install(page, site.origin.url + "a1/")
        # The first visit came from the network as it is: the static marker.
        assert state(page) is None
        assert "Непроверенная копия — как проверить" in status(page)
        response = page.reload()
        assert response.from_service_worker
        assert state(page) == "verified"
        assert status(page).startswith("Проверено · выпуск 1 · опубликован ")
        assert "выпуск 1" in (page.text_content("#body") or "")
        headers = response.headers
        assert headers["content-type"] == "text/html; charset=utf-8"
        assert headers["x-content-type-options"] == "nosniff"
        assert "worker-src 'self'" in headers["content-security-policy"]
        page.click("#next")
        page.wait_for_url("**/a2/")
        assert status(page).startswith("Verified · release 1 · published ")


@pytest.mark.parametrize("failure", ["503", "reset", "hang", "killed"])
def test_a_failing_origin_is_replaced_by_a_mirror(
    browser: Any, site: SignedSite, failure: str
) -> None:
    site.publish()
    with browser_context(browser) as context:
        page = context.new_page()
        install(page, site.origin.url + "a1/")
        if failure == "killed":
            site.origin.kill()
        else:
            site.origin.mode = failure
        restart_workers(page)
        page.goto(site.origin.url + "a2/")
        assert state(page) == "verified"
        assert "report two, edition 1" in (page.text_content("#body") or "")
        assert any(r.startswith("/.well-known/tamizdat/") for m in site.mirrors for r in m.requests)


def test_a_mirror_without_cors_is_skipped(browser: Any, site: SignedSite) -> None:
    site.publish()
    with browser_context(browser) as context:
        page = context.new_page()
        install(page, site.origin.url + "a1/")
        site.origin.kill()
        site.mirrors[0].cors = False
        restart_workers(page)
        page.goto(site.origin.url + "a3/")
        assert state(page) == "verified"
        assert "report three" in (page.text_content("#body") or "")
        assert any("a3" in r for r in site.mirrors[1].requests)


def test_a_tampering_origin_is_refused_and_the_page_served_from_an_honest_mirror(
    browser: Any, site: SignedSite
) -> None:
    site.publish()
    with browser_context(browser) as context:
        page = context.new_page()
        install(page, site.origin.url + "a1/")
        site.origin.mode = "tamper"
        restart_workers(page)
        page.goto(site.origin.url + "a2/")
        assert FORGED not in page.content()
        assert any("a2" in r for r in site.origin.requests)  # the forged copy was offered
        assert state(page) == "verified refused"
        assert f"the copy from {host(site.origin)} was altered and refused" in status(page)
        assert "report two, edition 1" in (page.text_content("#body") or "")


def test_offline_visited_pages_are_readable_and_unvisited_ones_lead_to_the_mirror_list(
    browser: Any, site: SignedSite
) -> None:
    site.publish()
    with browser_context(browser) as context:
        page = context.new_page()
        install(page, site.origin.url + "a1/")
        page.goto(site.origin.url + "a2/")
        assert state(page) == "verified"
        for server in site.servers:
            server.kill()
        restart_workers(page)
        page.goto(site.origin.url + "a2/")
        assert state(page) == "offline"
        assert status(page).startswith("Offline · verified · may be outdated since ")
        assert "report two, edition 1" in (page.text_content("#body") or "")
        response = page.goto(site.origin.url + "a3/")
        assert response.status == 503
        assert page.text_content("h1") == "Mirrors"
        assert site.mirrors[1].url in (page.text_content("#body") or "")


def test_an_expired_timestamp_shows_the_stale_marker(browser: Any, site: SignedSite) -> None:
    site.publish(timestamp_expires=now() - timedelta(hours=1))
    with browser_context(browser) as context:
        page = context.new_page()
        install(page, site.origin.url + "a2/")
        page.reload()
        assert state(page) == "stale"
        assert status(page).startswith("Verified but possibly outdated · release 1")


def test_a_new_release_is_picked_up_and_an_older_one_ignored(
    browser: Any, site: SignedSite
) -> None:
    first = site.publish(1)
    with browser_context(browser) as context:
        page = context.new_page()
        install(page, site.origin.url + "a1/")
        site.publish(2)
        restart_workers(page)
        page.goto(site.origin.url + "a2/")
        assert status(page).startswith("Verified · release 2")
        assert "edition 2" in (page.text_content("#body") or "")
        # The origin goes back to release 1 (validly signed, older): a rollback, ignored
        # (an older copy is not an altered one: the status line does not call it so).
        site.place(first, site.origin)
        restart_workers(page)
        page.goto(site.origin.url + "a3/")
        assert "edition 2" in (page.text_content("#body") or "")
        assert status(page).startswith("Verified · release 2")


def test_a_new_sw_js_with_another_root_is_refused(browser: Any, site: SignedSite) -> None:
    site.publish(1)
    with browser_context(browser) as context:
        page = context.new_page()
        install(page, site.origin.url + "a1/")
        page.reload()
        assert state(page) == "verified"
        # A hijacked origin serves a worker anchored to another publisher's root.
        site.publish(2, anchor=ReleaseFactory.bare().fingerprint, to=[site.origin])
        page.evaluate(
            "() => navigator.serviceWorker.getRegistration().then((r) => r.update()).catch(() => null)"
        )
        page.wait_for_function(
            "() => document.querySelector('.tz-status').dataset.tzState === 'anchor-refused'",
            timeout=TIMEOUT_MS,
        )
        assert status(page).startswith("Внимание: обновление этого сайта подписано другим ключом")
        restart_workers(page)
        page.reload()
        assert state(page) == "verified"  # the trusted worker still verifies
        pending = page.evaluate(
            "() => navigator.serviceWorker.getRegistration().then((r) => [r.installing, r.waiting])"
        )
        assert pending == [None, None]


def test_a_new_anchor_reached_by_signed_root_rotation_is_accepted(
    browser: Any, site: SignedSite
) -> None:
    site.publish(1)
    with browser_context(browser) as context:
        page = context.new_page()
        install(page, site.origin.url + "a1/")
        rotated = site.factory.rotate_root(role="timestamp")
        site.publish(2, anchor=hashlib.sha256(rotated).hexdigest())
        page.evaluate("() => navigator.serviceWorker.getRegistration().then((r) => r.update())")
        page.wait_for_function(
            "() => navigator.serviceWorker.getRegistration().then((r) => !r.installing && !r.waiting)",
            timeout=TIMEOUT_MS,
        )
        restart_workers(page)
        page.goto(site.origin.url + "a2/")
        assert status(page).startswith("Verified · release 2")


def test_a_stalled_response_is_abandoned(browser: Any, site: SignedSite) -> None:
    site.publish()
    with browser_context(browser) as context:
        page = context.new_page()
        install(page, site.origin.url + "a1/")
        # Only the origin answers, and it freezes mid-page; every mirror is blocked.
        for mirror in site.mirrors:
            mirror.kill()
        site.origin.mode = "freeze"
        response = page.goto(site.origin.url + "a3/")
        assert site.origin.abandoned.wait(10)  # the worker hung up on the frozen answer
        assert response.status == 503  # and led the reader to the mirror list
        assert page.text_content("h1") == "Mirrors"


def test_an_address_the_signed_list_does_not_allow_gets_no_worker(
    browser: Any, site: SignedSite, tmp_path: Path
) -> None:
    release = site.publish()
    stranger = Origin(tmp_path / "stranger")
    stranger.start()
    try:
        site.place(release, stranger)
        with browser_context(browser) as context:
            page = context.new_page()
            page.goto(stranger.url + "a1/")
            page.wait_for_function(
                "() => document.querySelector('.tz-status').dataset.tzState === 'origin-refused'",
                timeout=TIMEOUT_MS,
            )
            assert page.evaluate("() => navigator.serviceWorker.controller") is None
    finally:
        stranger.kill()


def test_a_path_prefixed_host_never_registers(browser: Any, site: SignedSite) -> None:
    release = site.publish()
    release.write(site.origin.root / "bucket")
    with browser_context(browser) as context:
        page = context.new_page()
        page.goto(site.origin.url + "bucket/a1/")
        page.wait_for_load_state("load")
        assert (
            page.evaluate("() => navigator.serviceWorker.getRegistrations().then((r) => r.length)")
            == 0
        )
        assert not any(r.endswith("sw.js") for r in site.origin.requests)


def test_javascript_off_shows_the_static_marker_and_a_working_site(
    browser: Any, site: SignedSite
) -> None:
    site.publish()
    with browser_context(browser, java_script_enabled=False) as context:
        page = context.new_page()
        page.goto(site.origin.url + "a2/")
        assert status(page) == "Unverified copy — how to check"
        assert page.get_attribute(".tz-status a", "href") == "../verify/"
        page.click("#next")
        assert "report two" in (page.text_content("#body") or "")
    assert not any(r.endswith("sw.js") for r in site.origin.requests)


def test_the_verify_page_checks_the_release_against_a_typed_fingerprint(
    browser: Any, site: SignedSite
) -> None:
    site.publish()
    with browser_context(browser) as context:
        page = context.new_page()
        install(page, site.origin.url + "verify/")
        page.reload()
        result = "#tz-verify-result"
        page.fill("#tz-fingerprint", "not a fingerprint")
        page.click("#tz-verify button")
        assert page.get_attribute(result, "data-tz-result") == "malformed"
        spaced = " ".join(site.factory.fingerprint[i : i + 4] for i in range(0, 64, 4))
        page.fill("#tz-fingerprint", spaced.upper())
        page.click("#tz-verify button")
        page.wait_for_function(
            "() => document.querySelector('#tz-verify-result').dataset.tzResult === 'current'",
            timeout=TIMEOUT_MS,
        )
        assert (page.text_content(result) or "").startswith("Authentic: release 1, published 20")
        page.fill("#tz-fingerprint", ReleaseFactory.bare().fingerprint)
        page.click("#tz-verify button")
        page.wait_for_function(
            "() => document.querySelector('#tz-verify-result').dataset.tzResult === 'other'",
            timeout=TIMEOUT_MS,
        )
        assert page.text_content(result) == "Not signed by the key with this fingerprint."


def test_a_mirror_the_signed_list_adds_is_used(browser: Any, tmp_path: Path) -> None:
    site = SignedSite(tmp_path, mirror_count=2)
    try:
        site.publish(1, listed=1)
        with browser_context(browser) as context:
            page = context.new_page()
            install(page, site.origin.url + "a1/")
            added = site.mirrors[1]
            assert not added.requests  # release 1 does not name it: never asked
            site.publish(2)  # release 2's signed list adds it
            restart_workers(page)
            page.goto(site.origin.url + "a2/")
            assert status(page).startswith("Verified · release 2")
            site.origin.kill()
            site.mirrors[0].kill()
            restart_workers(page)
            page.goto(site.origin.url + "a3/")
            assert state(page) == "verified"
            assert "report three, edition 2" in (page.text_content("#body") or "")
            assert any("a3" in r for r in added.requests)
    finally:
        site.close()


def test_a_forged_root_rotation_is_refused(browser: Any, site: SignedSite) -> None:
    site.publish()
    with browser_context(browser) as context:
        page = context.new_page()
        install(page, site.origin.url + "a1/")
        # The origin offers root 2 signed by a key root 1 never named.
        forger = ReleaseFactory(desks=[], root_keys=[new_key()], root_threshold=1)
        forger.root.version = 1
        forged = forger.rotate_root(role="timestamp")
        (site.origin.root / ".well-known/tamizdat/metadata/2.root.json").write_bytes(forged)
        restart_workers(page)
        page.goto(site.origin.url + "a2/")
        assert state(page) == "verified refused"
        assert f"the copy from {host(site.origin)} was altered and refused" in status(page)
        assert "report two, edition 1" in (page.text_content("#body") or "")
