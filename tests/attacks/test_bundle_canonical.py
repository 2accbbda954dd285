"""A bundle means one thing to every extractor: anything but the canonical ZIP form is refused.

Each case starts from an honest signed bundle and changes one ZIP structure the way an
attacker would, so that some extractor (Info-ZIP ``unzip``, Python ``zipfile``, a streaming
reader walking local headers, a case-insensitive file system) would unpack a different
site than the one the verifier checked. ``tamizdat verify`` and ``tamizdat reader import``
must both refuse with exit 2 (a BundleError: the file is not a bundle in the one form
tamizdat writes, refused before any signature is looked at — exit 5 would claim the
publisher's signed content was checked and found altered), import nothing and leave the
store exactly as it was.
"""

from __future__ import annotations

import shutil
import struct
import unicodedata
import zlib
from collections.abc import Callable
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest

from support.trees import snapshot
from support.tuf_release import ReleaseFactory, sample_files
from support.zipcraft import CraftEntry, CraftZip, deflate, extra_field, unicode_path_field
from tamizdat.channels.bundle import open_bundle, write_bundle
from tamizdat.cli import main
from tamizdat.reader.client import add_from_bundle

ELECTION = "news/2026/election/index.html"
FORGED = "news/2026/forged/index.html"


class Honest:
    """The honest bundle, as crafted entries, and a reader store that imported it."""

    def __init__(self, root: Path) -> None:
        publisher = ReleaseFactory.newsroom()
        release = publisher.publish(sample_files())
        self.fingerprint = release.fingerprint
        self.bundle = root / "honest.zip"
        write_bundle(release.write(root / "release"), self.bundle)
        with open_bundle(self.bundle) as source:
            self.entries = [
                CraftEntry(name, source.fetch(name, 1 << 20), source.index.entries[name].method)
                for name in source.names()
            ]
        self.home = root / "home"
        add_from_bundle(
            "news",
            self.bundle,
            fingerprint=self.fingerprint,
            trust_on_first_use=False,
            store_dir=self.home,
        )

    def index(self, name: str) -> int:
        return next(i for i, e in enumerate(self.entries) if e.name == name)


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> Honest:
    return Honest(tmp_path_factory.mktemp("honest"))


Mutation = Callable[[Honest, list[CraftEntry]], CraftZip]


def _insert(entries: list[CraftEntry], entry: CraftEntry) -> list[CraftEntry]:
    """``entry`` among ``entries`` at its sorted place (so only the intended defect shows)."""
    return sorted([*entries, entry], key=lambda e: e.raw_name)


def _one(name: str, change: Callable[[CraftEntry], None]) -> Mutation:
    def mutate(h: Honest, entries: list[CraftEntry]) -> CraftZip:
        change(entries[h.index(name)])
        return CraftZip(entries)

    return mutate


def _with(entry: CraftEntry) -> Mutation:
    return lambda h, entries: CraftZip(_insert(entries, entry))


def _zip(**options: Any) -> Mutation:
    return lambda h, entries: CraftZip(entries, **options)


def _set(**fields: Any) -> Callable[[CraftEntry], None]:
    def change(entry: CraftEntry) -> None:
        for key, value in fields.items():
            setattr(entry, key, value)

    return change


def _both(**header: int) -> Callable[[CraftEntry], None]:
    def change(entry: CraftEntry) -> None:
        entry.local.update(header)
        entry.central.update(header)

    return change


def _overlap(h: Honest, entries: list[CraftEntry]) -> CraftZip:
    # A second name whose central record points at the first entry's local header.
    first = entries[0]
    alias = CraftEntry(FORGED, first.data, first.method, in_local=False, central={"offset": 0})
    return CraftZip(_insert(entries, alias))


def _second_archive(h: Honest, entries: list[CraftEntry]) -> CraftZip:
    # The honest archive, then a whole second one (its own directory and end record, offsets
    # absolute): readers that trust the last end record see only the forged page.
    forged = [CraftEntry(ELECTION, b"<p>the censor's version</p>")]
    return CraftZip(forged, prefix=CraftZip(entries).build())


def _data_descriptor(entry: CraftEntry) -> None:
    # Bit 3: the local header's CRC and sizes are zero, a descriptor after the data holds
    # them — here different ones than the central directory's.
    entry.local.update(flags=0x8, crc=0, compressed_size=0, size=0)
    entry.central.update(flags=0x8)
    entry.after_data = b"PK\x07\x08" + struct.pack("<3L", 0xDEADBEEF, 5, 5)


def _symlink(entry: CraftEntry) -> None:
    entry.central["external"] = (0o120777 << 16) | 0
    entry.data = entry.packed = b"/etc/passwd"
    entry.method = 0


def _hidden_after_deflate(entry: CraftEntry) -> None:
    # A local header hidden inside an entry's data, after the end of its deflate stream.
    hidden = CraftZip([CraftEntry(FORGED, b"<p>forged</p>")]).build()
    entry.packed = deflate(entry.data) + hidden[: hidden.index(b"PK\x01\x02")]


_NFD = unicodedata.normalize("NFD", "news/café/index.html")
_NFC = unicodedata.normalize("NFC", "news/café/index.html")

CASES: dict[str, tuple[Mutation, str]] = {
    "name-differs-cd-vs-local": (
        _one(ELECTION, _set(local_name=ELECTION.replace("election", "electiom").encode())),
        "expected the name",
    ),
    "unicode-path-extra-0x7075": (
        _one(ELECTION, _set(central_extra=unicode_path_field(ELECTION.encode(), FORGED))),
        "expected no extra field, found extra field 0x7075 (Info-ZIP Unicode Path",
    ),
    "unicode-path-extra-local-only": (
        _one(ELECTION, _set(local_extra=unicode_path_field(ELECTION.encode(), FORGED))),
        "expected no extra field, found extra field 0x7075",
    ),
    "unicode-comment-extra-0x6375": (
        _one(ELECTION, _set(central_extra=extra_field(0x6375, b"\x01\0\0\0\0x"))),
        "found extra field 0x6375 (Info-ZIP Unicode Comment",
    ),
    "unix-timestamp-extra-0x5455": (
        _one(ELECTION, _set(local_extra=extra_field(0x5455, b"\x03" + b"\0" * 8))),
        "found extra field 0x5455 (extended timestamp",
    ),
    "prepended-stub-offsets-adjusted": (
        _zip(prefix=b"MZ self-extractor stub" * 8),
        "expected its local header at offset 0, the first byte; found it at 176",
    ),
    "prepended-stub-offsets-unchanged": (
        _zip(prefix=b"MZ" * 40, prefix_in_offsets=False),
        "expected the central directory to end at offset",
    ),
    "appended-bytes": (_zip(suffix=b"\0junk"), "5 bytes after it"),
    "trailing-comment": (_zip(comment=b"unpack me with care"), "19 bytes after it"),
    "gap-between-entries": (
        lambda h, entries: CraftZip(entries, between={3: b"\0" * 16}),
        "16 bytes no entry lists, starting with a prefix or a gap",
    ),
    "overlapping-entries": (_overlap, "overlapping the previous entry"),
    "second-archive-appended": (
        _second_archive,
        "starting with a local header the directory does not list",
    ),
    "hidden-local-header-only": (
        _with(CraftEntry(FORGED, b"<p>forged</p>", in_central=False)),
        "starting with a local header the directory does not list",
    ),
    "hidden-after-deflate-stream": (
        _one(ELECTION, _hidden_after_deflate),
        "expected its deflate stream to end exactly",
    ),
    "data-descriptor-mismatch": (_one(ELECTION, _data_descriptor), "data descriptor"),
    "local-crc-differs": (
        _one(ELECTION, lambda e: e.local.update(crc=1)),
        "expected crc 0x9a8a764c, found 0x1",
    ),
    "local-size-differs": (
        _one(ELECTION, lambda e: e.local.update(size=1)),
        "expected size 26, found 1",
    ),
    "utf8-flag-inconsistent": (
        _one(ELECTION, lambda e: e.local.update(flags=0x800)),
        "expected flags 0x0000, found 0x0800 (UTF-8 name)",
    ),
    "repacked-with-timestamps": (
        _one(ELECTION, _both(time=0x6000, date=0x5A21)),
        "expected time 0x0, found 0x6000",
    ),
    "duplicate-names": (_with(CraftEntry(ELECTION, b"<p>second copy</p>")), "duplicate entry"),
    "case-fold-duplicates": (
        _with(CraftEntry(ELECTION.replace("election", "Election"), b"<p>x</p>")),
        "after case folding",
    ),
    "nfc-nfd-duplicates": (
        lambda h, entries: CraftZip(
            _insert(_insert(entries, CraftEntry(_NFC, b"a")), CraftEntry(_NFD, b"b"))
        ),
        "after case folding",
    ),
    "dot-dot": (_with(CraftEntry("../../.bashrc", b"x")), "traversal"),
    "dot-dot-inside": (_with(CraftEntry("news/../../x.html", b"x")), "traversal"),
    "absolute": (_with(CraftEntry("/etc/cron.d/x", b"x")), "absolute path"),
    "backslash": (_with(CraftEntry("news\\..\\..\\x.html", b"x")), "backslash"),
    "drive-letter": (_with(CraftEntry("C:/Windows/x.html", b"x")), "colon"),
    "control-character": (_with(CraftEntry("news/a\x1b[2J.html", b"x")), "U+001B"),
    "invalid-utf8": (_with(CraftEntry(b"news/\xff\xfe.html", b"x")), "not valid UTF-8"),
    "directory-file-clash": (_with(CraftEntry(ELECTION + "/x", b"x")), "is a file"),
    "directory-entry": (_with(CraftEntry("news/2026/", b"", method=0)), "directory entry"),
    "symlink-entry": (_one(ELECTION, _symlink), "symbolic link"),
    "encrypted-flag": (_one(ELECTION, _both(flags=0x1)), "encrypted"),
    "unsupported-method-bzip2": (
        _one(ELECTION, _set(method=12, packed=b"BZh9" + b"\0" * 20)),
        "compression method 12",
    ),
    "end-record-count-wrong": (
        _zip(end={"entries_on_disk": 3, "entries": 3}),
        "expected the central directory to hold 3 records",
    ),
    "desktop-litter": (_with(CraftEntry("news/.DS_Store", b"\0\0\0\1Bud1")), "desktop litter"),
}


@pytest.fixture(params=sorted(CASES))
def hostile(request: pytest.FixtureRequest, honest: Honest, tmp_path: Path) -> tuple[Path, str]:
    mutate, fragment = CASES[request.param]
    path = mutate(honest, deepcopy(honest.entries)).write(tmp_path / "hostile.zip")
    return path, fragment


def test_the_crafted_honest_bundle_is_byte_identical_and_verifies(
    honest: Honest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The craft helper, written from APPNOTE, agrees with the writer byte for byte: so every
    # hostile case below differs from an accepted bundle by its one defect only.
    assert CraftZip(deepcopy(honest.entries)).build() == honest.bundle.read_bytes()
    code = main(["verify", str(honest.bundle), "--fingerprint", honest.fingerprint,
                 "--state-dir", str(tmp_path / "seen")])  # fmt: skip
    assert code == 0, capsys.readouterr()


def test_verify_refuses_with_exit_2_naming_what_differs(
    hostile: tuple[Path, str], honest: Honest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, fragment = hostile
    code = main(["verify", str(path), "--fingerprint", honest.fingerprint,
                 "--state-dir", str(tmp_path / "seen")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2, err
    assert "refused hostile or malformed bundle" in err
    assert fragment in err
    assert str(path) in err
    assert not (tmp_path / "seen").exists() or not any((tmp_path / "seen").rglob("*.json"))


def test_reader_import_refuses_with_exit_2_and_leaves_the_store(
    hostile: tuple[Path, str], honest: Honest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, fragment = hostile
    home = tmp_path / "home"
    shutil.copytree(honest.home, home)
    before = snapshot(home)
    code = main(["reader", "import", "news", str(path), "--store-dir", str(home)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert fragment in err
    assert snapshot(home) == before
    assert not list(tmp_path.rglob("x.html"))
    assert not list(tmp_path.rglob(".bashrc"))


def test_every_stream_end_defect_is_checked_again_on_read(honest: Honest, tmp_path: Path) -> None:
    # zlib: a deflate stream that stops before its data ends is refused too (not only one
    # that has data after it).
    entries = deepcopy(honest.entries)
    entry = entries[honest.index(ELECTION)]
    full = deflate(entry.data)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    entry.packed = packer.compress(entry.data) + packer.flush(zlib.Z_SYNC_FLUSH)
    assert entry.packed != full
    path = CraftZip(entries).write(tmp_path / "unfinished.zip")
    code = main(["verify", str(path), "--fingerprint", honest.fingerprint,
                 "--state-dir", str(tmp_path / "seen")])  # fmt: skip
    assert code == 2
