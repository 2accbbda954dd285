"""Named hostile (and honest) releases that every entry point must judge alike.

Each case builds an in-memory release with :class:`~support.tuf_release.ReleaseFactory` and
says the one verdict every door must reach: ``verify`` of a directory, of an HTTP mirror and
of a bundle, ``reader sync`` over HTTP, ``reader import`` of a bundle, ``verify --page``.
Only attacks on what is *signed* belong here: an unsigned extra file or a tampered
natural-path copy is judged by what a source can list or serves (tests/attacks/
test_unsigned_files.py, test_bundle_copies.py), not by the verifier.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import DelegatedRole, Delegations, Metadata, TargetFile, Targets
from tuf.api.serialization.json import JSONSerializer

from support.tuf_release import Desk, ReleaseFactory, new_key, now, sample_files
from tamizdat.layout import METADATA_DIR, by_hash_path

__all__ = ["CASES", "FORGED_PAGE", "MONTH_PAGE", "AttackCase", "Built", "stolen_desk_key"]

MONTH_PAGE = "opinion/2026/column/index.html"
FORGED_PAGE = b"<p>forged: the editor resigned</p>"


@dataclass(frozen=True)
class Built:
    """A release to judge: its files, the pinned fingerprint, the page a reader would open."""

    files: dict[str, bytes]
    fingerprint: str
    page: str


@dataclass(frozen=True)
class AttackCase:
    """One release and the verdict every entry point must give it."""

    name: str
    build: Callable[[], Built]
    outcome: str  # current | stale | tampered | rollback | not-this-publisher


def _monthly() -> ReleaseFactory:
    """Desks ``news`` and ``opinion``; ``opinion`` delegates a month role ``opinion-2026``."""
    factory = ReleaseFactory(
        desks=[
            Desk("news", ("news/*", "news/*/*", "news/*/*/*")),
            Desk("opinion", ("opinion/*", "opinion/*/*", "opinion/*/*/*")),
        ]
    )
    factory.add_desk("opinion-2026", ["opinion/2026/*/*"], parent="opinion")
    return factory


def _files() -> dict[str, bytes]:
    return {**sample_files(), MONTH_PAGE: b"<p>the real column</p>"}


def _publish(factory: ReleaseFactory) -> dict[str, bytes]:
    return factory.publish(_files(), assign={MONTH_PAGE: "opinion-2026"}).files


def _sign(signed: Targets, key: CryptoSigner) -> bytes:
    md = Metadata(signed)
    md.sign(key)
    return md.to_bytes(JSONSerializer(compact=False))


def _role(files: dict[str, bytes], role: str, version: int) -> Targets:
    return Metadata[Targets].from_bytes(files[f"{METADATA_DIR}/{version}.{role}.json"]).signed


def stolen_desk_key(*, forge: bool) -> Built:
    """The ``news`` desk key is stolen. Its holder re-signs ``news`` at the same version to
    also delegate the *opinion* desk's month role to a key of theirs and, with ``forge``,
    serves a forged month role signed by that key, naming a forged column page (the mirror
    is theirs too). Reached through ``news`` first (breadth first), the forged role verified
    under the old sync."""
    factory = _monthly()
    files = _publish(factory)
    version = factory.version
    thief = new_key()
    news = _role(files, "news", version)
    news.delegations = Delegations(keys={thief.public_key.keyid: thief.public_key}, roles={})
    assert news.delegations.roles is not None
    news.delegations.roles["opinion-2026"] = DelegatedRole(
        "opinion-2026", [thief.public_key.keyid], 1, True, ["opinion/2026/*/*"]
    )
    files[f"{METADATA_DIR}/{version}.news.json"] = _sign(news, factory.keys["news"])
    if forge:
        month = _role(files, "opinion-2026", version)
        month.targets[MONTH_PAGE] = TargetFile.from_data(MONTH_PAGE, FORGED_PAGE, ["sha256"])
        files[f"{METADATA_DIR}/{version}.opinion-2026.json"] = _sign(month, thief)
        files[MONTH_PAGE] = FORGED_PAGE
        files[by_hash_path(MONTH_PAGE, hashlib.sha256(FORGED_PAGE).hexdigest())] = FORGED_PAGE
    return Built(files, factory.fingerprint, MONTH_PAGE)


def _honest() -> Built:
    factory = _monthly()
    return Built(_publish(factory), factory.fingerprint, MONTH_PAGE)


def _stale() -> Built:
    factory = _monthly()
    files = factory.publish(
        _files(),
        assign={MONTH_PAGE: "opinion-2026"},
        when=now() - timedelta(days=3),
    ).files
    return Built(files, factory.fingerprint, MONTH_PAGE)


def _tampered_object() -> Built:
    """A mirror edits an article: its natural-path copy and its by-hash object."""
    built = _honest()
    sha = hashlib.sha256(built.files[MONTH_PAGE]).hexdigest()
    edited = b"<p>the real column, edited</p>"
    built.files[by_hash_path(MONTH_PAGE, sha)] = built.files[MONTH_PAGE] = edited
    return built


def _desk_signs_another_desk() -> Built:
    factory = _monthly()
    files = factory.publish(
        _files(),
        assign={MONTH_PAGE: "opinion-2026"},
        signed_by={"opinion-2026": [factory.keys["news"]]},
    ).files
    return Built(files, factory.fingerprint, MONTH_PAGE)


def _unauthorised_path() -> Built:
    factory = _monthly()
    files = _files()
    files["index.html"] = b"<h1>home, as the news desk would have it</h1>"
    built = factory.publish(files, assign={MONTH_PAGE: "opinion-2026", "index.html": "news"}).files
    return Built(built, factory.fingerprint, "index.html")


def _other_publisher() -> Built:
    built = _honest()
    return Built(built.files, _monthly().fingerprint, MONTH_PAGE)


def _long_root_chain() -> Built:
    """An honest release whose root was rotated more times than a client fetches in one
    update (python-tuf's limit, 256): every door must say the same."""
    factory = ReleaseFactory.articles()
    for _ in range(257):
        factory.rotate_root()
    files = factory.publish({"articles/a/index.html": b"<p>a</p>"}).files
    return Built(files, factory.fingerprint, "articles/a/index.html")


def _missing_delegated_role() -> Built:
    built = _honest()
    version = 1
    del built.files[f"{METADATA_DIR}/{version}.opinion-2026.json"]
    return built


CASES = (
    AttackCase("honest", _honest, "current"),
    AttackCase("stale", _stale, "stale"),
    AttackCase("tampered-object", _tampered_object, "tampered"),
    AttackCase("desk-signs-another-desk", _desk_signs_another_desk, "tampered"),
    AttackCase("unauthorised-path", _unauthorised_path, "tampered"),
    AttackCase("stolen-desk-key-forged-month", lambda: stolen_desk_key(forge=True), "tampered"),
    AttackCase("stolen-desk-key-extra-edge", lambda: stolen_desk_key(forge=False), "tampered"),
    AttackCase("not-this-publisher", _other_publisher, "not-this-publisher"),
    AttackCase("root-chain-over-limit", _long_root_chain, "tampered"),
    AttackCase("delegated-role-missing", _missing_delegated_role, "unreachable"),
)
