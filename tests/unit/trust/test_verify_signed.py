"""End to end with the real signer: `tamizdat sign` output verifies, and tampering is caught."""

from __future__ import annotations

import pytest

from tamizdat.errors import RollbackError, TamperedError
from tamizdat.transport.sources import DirectorySource
from tamizdat.trust.verify.seen import SeenStore
from tamizdat.trust.verify.whole import find_page, verify_release

STORY = "en/news/2026/03/second-story/index.html"


def test_signed_release_verifies_then_follows_the_log(signed_site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = SeenStore(tmp_path / "seen")
    first = verify_release(
        DirectorySource(signed_site.release), fingerprint=signed_site.fingerprint, seen=store
    )
    assert first.outcome == "current"
    assert first.files_checked >= 13
    assert first.log_head is not None
    signed_site.resign({STORY: b"<p>second, corrected</p>"})
    second = verify_release(
        DirectorySource(signed_site.release), fingerprint=signed_site.fingerprint, seen=store
    )
    assert second.version > first.version
    assert second.log_head[0] == first.log_head[0] + 1
    assert store.load(signed_site.fingerprint).log_head == second.log_head


def test_signed_release_page_lookup_and_tampering(signed_site) -> None:  # type: ignore[no-untyped-def]
    source = DirectorySource(signed_site.release)
    page = (signed_site.release / STORY).read_bytes()
    found = find_page(source, page, fingerprint=signed_site.fingerprint)
    assert found.paths == (STORY,)
    assert found.first_seen[STORY][0] == found.release
    (signed_site.release / STORY).write_bytes(page.replace(b"second", b"forged"))
    with pytest.raises(TamperedError, match=STORY):
        verify_release(source, fingerprint=signed_site.fingerprint)


def test_signed_release_rollback_refused(signed_site, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    old = tmp_path / "old-copy"
    shutil.copytree(signed_site.release, old)
    signed_site.resign({"index.html": b"<h1>home, later</h1>"})
    store = SeenStore(tmp_path / "seen")
    verify_release(
        DirectorySource(signed_site.release), fingerprint=signed_site.fingerprint, seen=store
    )
    with pytest.raises(RollbackError):
        verify_release(DirectorySource(old), fingerprint=signed_site.fingerprint, seen=store)


def test_signed_release_audited_for_unsigned_files(signed_site) -> None:  # type: ignore[no-untyped-def]
    from trustkit import NOW

    signed_site.resign({STORY: b"<p>second, corrected</p>"})
    source = DirectorySource(signed_site.release)
    report = verify_release(source, fingerprint=signed_site.fingerprint)
    assert report.listing_checked
    assert report.unreferenced_objects == 2  # the story and the log of release 1, kept
    assert report.published == NOW
    forged = signed_site.release / "en/news/2026/03/third-story/index.html"
    forged.parent.mkdir(parents=True)
    forged.write_bytes(b"<p>forged</p>")
    with pytest.raises(TamperedError, match=r"unsigned file en/news/2026/03/third-story/index"):
        verify_release(source, fingerprint=signed_site.fingerprint)
