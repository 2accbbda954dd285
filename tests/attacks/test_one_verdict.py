"""One verdict whatever the door: every release of the attack corpus through every entry point.

The doors: ``verify DIR``, ``verify URL`` (a real HTTP server on 127.0.0.1), ``mirrors check``,
``verify bundle.zip``, ``verify --page``, ``reader sync`` over HTTP and ``reader import`` of
the bundle. They all run :class:`tamizdat.trust.verify.workflow.ClientWorkflow`; this test keeps it
that way. A refused sync or import leaves the store without a release.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest

from support.attack_corpus import CASES, FORGED_PAGE, MONTH_PAGE, AttackCase, Built, stolen_desk_key
from support.attack_releases import FixtureCase, stateless_cases
from support.loopback import QuietDirectoryHandler, serving
from support.tuf_release import write_file
from tamizdat.channels.bundle import open_bundle, write_bundle
from tamizdat.config.mirrors import MirrorSettings
from tamizdat.errors import TransportError, UntrustedContentError, UserError
from tamizdat.publish.check import check_mirrors
from tamizdat.reader.client import SyncOptions, add_subscription, import_bundle, sync_subscription
from tamizdat.transport.network import Deadline
from tamizdat.transport.sources import DirectorySource, HttpSource
from tamizdat.trust.verify.conformance import main as conformance_main
from tamizdat.trust.verify.pages import find_page
from tamizdat.trust.verify.whole import outcome_of, verify_release

Door = Callable[[Built, Path, str], str]


def _judged(call: Callable[[], str]) -> str:
    try:
        return call()
    except UntrustedContentError as exc:
        return outcome_of(exc)
    except TransportError:
        return "unreachable"


def _verify_dir(built: Built, release: Path, url: str) -> str:
    return _judged(
        lambda: verify_release(DirectorySource(release), fingerprint=built.fingerprint).outcome
    )


def _verify_http(built: Built, release: Path, url: str) -> str:
    source = HttpSource(url, timeout=5, deadline=Deadline(30))
    try:
        return _judged(lambda: verify_release(source, fingerprint=built.fingerprint).outcome)
    finally:
        source.close()


def _mirrors_check(built: Built, release: Path, url: str) -> str:
    mirror = MirrorSettings(
        name="a", url="file:///unused", public_url=url, tags=(), enabled=True, retired=None,
        created=None,
    )  # fmt: skip
    report = check_mirrors(
        [mirror], fingerprint=built.fingerprint, local_release_dir=release, sample_size=100
    )
    state = report.mirrors[0].state
    return "current" if state == "lagging" else state


def _bundle(release: Path) -> Path | None:
    try:
        out = release.parent / "bundle.zip"
        write_bundle(release, out)
        return out
    except UserError:  # a release too broken to pack: this door is closed, not a verdict
        return None


def _verify_bundle(built: Built, release: Path, url: str) -> str:
    bundle = _bundle(release)
    if bundle is None:
        return "n/a"

    def run() -> str:
        with open_bundle(bundle) as source:
            return verify_release(source, fingerprint=built.fingerprint).outcome

    return _judged(run)


def _verify_page(built: Built, release: Path, url: str) -> str:
    page = (release / built.page).read_bytes()

    def run() -> str:
        report = find_page(DirectorySource(release), page, fingerprint=built.fingerprint)
        if not report.signed:
            return "tampered"
        return "stale" if report.stale else "current"

    return _judged(run)


def _store_home(release: Path) -> Path:
    return release.parent / "reader"


def _sync(built: Built, release: Path, url: str) -> str:
    store = add_subscription(
        "paper", mirrors=(url,), fingerprint=built.fingerprint, store_dir=_store_home(release)
    )
    report = sync_subscription(store, SyncOptions(timeout=5, deadline=30))
    if report.outcome not in ("current", "stale"):
        assert not store.has_release
    return report.outcome


def _import(built: Built, release: Path, url: str) -> str:
    bundle = _bundle(release)
    if bundle is None:
        return "n/a"
    store = add_subscription(
        "bundled", mirrors=(), fingerprint=built.fingerprint, store_dir=_store_home(release)
    )
    report = import_bundle(store, bundle)
    if report.outcome not in ("current", "stale"):
        assert not store.has_release
    return report.outcome


DOORS: dict[str, Door] = {
    "verify-dir": _verify_dir,
    "verify-http": _verify_http,
    "mirrors-check": _mirrors_check,
    "verify-bundle": _verify_bundle,
    "verify-page": _verify_page,
    "reader-sync": _sync,
    "reader-import": _import,
}


@contextmanager
def _served(built: Built, root: Path) -> Iterator[tuple[Path, str]]:
    release = root / "release"
    for path, data in built.files.items():
        write_file(release / path, data)
    with serving(partial(QuietDirectoryHandler, directory=str(release))) as url:
        yield release, url


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_door_gives_one_verdict(case: AttackCase, tmp_path: Path) -> None:
    built = case.build()
    verdicts: dict[str, str] = {}
    for name, door in DOORS.items():
        with _served(built, tmp_path / name) as (release, url):
            verdicts[name] = door(built, release, url)
    reached = {name: v for name, v in verdicts.items() if v != "n/a"}
    assert {"verify-dir", "verify-http", "reader-sync"} <= reached.keys()
    if case.outcome == "unreachable":  # a mirror lacking signed metadata: try another
        assert set(reached.values()) <= {"unreachable", "tampered"}, verdicts
        assert reached["verify-dir"] == reached["reader-sync"] == "unreachable", verdicts
        return
    assert set(reached.values()) == {case.outcome}, verdicts


def _conformance(release: Path, url: str, tmp: Path, *targets: str) -> tuple[int, list[Path]]:
    metadata_dir, target_dir = tmp / "metadata", tmp / "targets"
    target_dir.mkdir(parents=True)
    root = release / ".well-known/tamizdat/metadata/1.root.json"
    assert conformance_main(["--metadata-dir", str(metadata_dir), "init", str(root)]) == 0
    names = [arg for target in targets for arg in ("--target-name", target)]
    code = conformance_main([
        "--metadata-dir", str(metadata_dir),
        "--metadata-url", url + ".well-known/tamizdat/metadata/",
        *names,
        "--target-base-url", url + ".well-known/tamizdat/targets/",
        "--target-dir", str(target_dir),
        "download",
    ])  # fmt: skip
    return code, sorted(target_dir.iterdir())


def test_conformance_client_never_downloads_the_forged_page(tmp_path: Path) -> None:
    built = stolen_desk_key(forge=True)
    with _served(built, tmp_path) as (release, url):
        code, downloaded = _conformance(release, url, tmp_path, "index.html", MONTH_PAGE)
    assert code == 1
    assert [p.read_bytes() for p in downloaded] == [built.files["index.html"]]
    assert all(p.read_bytes() != FORGED_PAGE for p in downloaded)


def test_conformance_client_processes_repeated_targets_in_order(tmp_path: Path) -> None:
    built = CASES[0].build()
    with _served(built, tmp_path) as (release, url):
        code, downloaded = _conformance(release, url, tmp_path, "index.html", MONTH_PAGE)
    assert code == 0
    assert sorted(p.read_bytes() for p in downloaded) == sorted(
        [built.files["index.html"], built.files[MONTH_PAGE]]
    )


STATELESS = tuple(stateless_cases())


@pytest.mark.parametrize("case", STATELESS, ids=[c.name for c in STATELESS])
def test_every_door_agrees_on_the_other_attack_releases(case: FixtureCase, tmp_path: Path) -> None:
    """The releases of tests/attacks/ that need no earlier state (freeze and mix, endless
    data, key attacks, …): every door reaches the verdict ``verify DIR`` reaches.

    ``verify --page`` answers a narrower question — is this one page's content signed — so
    an attack on *another* object of the copy (an endless by-hash file) is outside it; it is
    held to one verdict on every metadata attack by the corpus test above."""
    page = next(
        (p for p in sorted(case.files) if p.endswith(".html") and not p.startswith(".well-known")),
        "index.html",
    )
    built = Built(dict(case.files), case.fingerprint, page)
    verdicts: dict[str, str] = {}
    for name, door in DOORS.items():
        if name == "verify-page":
            continue
        with _served(built, tmp_path / name) as (release, url):
            verdicts[name] = door(built, release, url)
    reference = verdicts["verify-dir"]
    reached = {name: v for name, v in verdicts.items() if v != "n/a"}
    assert {"verify-http", "reader-sync"} <= reached.keys()
    assert set(reached.values()) == {reference}, str(verdicts)
