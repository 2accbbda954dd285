"""The canonical ZIP form: writer and reader agree, names are portable, ZIP64 only when needed."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from support.zipcraft import CraftEntry, CraftZip
from tamizdat.channels.zipform import (
    CENTRAL,
    MAX32,
    BundleLimits,
    CentralRecord,
    ZipEntry,
    expected_central,
)
from tamizdat.channels.zipnames import NameSet, name_problem
from tamizdat.channels.zipread import _central_records, _Tail, read_entry, validate_entries
from tamizdat.channels.zipwrite import CanonicalZipWriter
from tamizdat.errors import BundleError

LIMITS = BundleLimits()


def _write(path: Path, files: dict[str, bytes], limits: BundleLimits = LIMITS) -> Path:
    with path.open("wb") as handle:
        writer = CanonicalZipWriter(handle, str(path), limits)
        for name in sorted(files):
            writer.add(name, files[name], deflate=True)
        writer.finish()
    return path


_SEGMENT = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "Pd", "Zs"], include_characters="_~"),
    min_size=1,
    max_size=12,
).filter(lambda s: name_problem(s, 1024) is None)


@st.composite
def _site(draw: st.DrawFn) -> dict[str, bytes]:
    names = draw(st.lists(st.lists(_SEGMENT, min_size=1, max_size=4), max_size=12))
    files: dict[str, bytes] = {}
    seen = NameSet()
    for parts in names:
        name = "/".join(parts)
        if seen.add(name) is None:
            files[name] = draw(st.binary(max_size=300) | st.just(b"x" * 5000))
    return files


@settings(max_examples=60, deadline=None)
@given(files=_site())
def test_what_the_writer_writes_the_reader_accepts_and_python_reads_alike(
    files: dict[str, bytes], tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = _write(tmp_path_factory.mktemp("z") / "b.zip", files)
    entries = validate_entries(path, LIMITS)
    assert list(entries) == sorted(files)
    with path.open("rb") as handle:
        assert {n: read_entry(path, handle, e) for n, e in entries.items()} == files
    with zipfile.ZipFile(path) as archive:
        assert {i.filename: archive.read(i) for i in archive.infolist()} == files
        assert all(not i.extra and not i.comment for i in archive.infolist())
    assert CraftZip([CraftEntry(n, d, e.method) for n, e in entries.items() for d in [files[n]]]
                    ).build() == path.read_bytes()  # fmt: skip


@pytest.mark.parametrize(
    ("names", "fragment"),
    [
        (["b.html", "a.html"], "sorted order"),
        (["a.html", "a.html"], "sorted order"),
        (["A.html", "a.html"], "after case folding"),
        (["a", "a/b.html"], "is a file"),
        (["news/CON.html"], "Windows device name"),
        (["news/a./b.html"], "ends in a dot"),
        (["what?.html"], "character '?'"),
        (["tab\t.html"], r"U\+0009"),
        (["x" * 256], "longer than 255 bytes"),
    ],
)
def test_writer_refuses_what_a_reader_would_refuse(
    names: list[str], fragment: str, tmp_path: Path
) -> None:
    with (tmp_path / "b.zip").open("wb") as handle:
        writer = CanonicalZipWriter(handle, "b.zip")
        for name in names[:-1]:
            writer.add(name, b"x", deflate=True)
        with pytest.raises(BundleError, match=fragment) as info:
            writer.add(names[-1], b"x", deflate=True)
    assert info.value.where == f"b.zip: {names[-1]}"


def test_writer_limits_and_ratio(tmp_path: Path) -> None:
    small = BundleLimits(max_entry_bytes=10, max_entries=2, max_total_bytes=15)
    for files, fragment in (
        ({"a": b"x" * 11}, "at most 10"),
        ({"a": b"1", "b": b"2", "c": b"3"}, "more than 2 entries"),
        ({"a": b"x" * 8, "b": b"y" * 8}, "more than 15 bytes"),
    ):
        with pytest.raises(BundleError, match=fragment):
            _write(tmp_path / "small.zip", files, small)
    # Deflating 3 MiB of zeros would exceed the reader's ratio limit: it is stored instead.
    path = _write(tmp_path / "zeros.zip", {"zeros.bin": bytes(3 << 20)})
    assert validate_entries(path, LIMITS)["zeros.bin"].method == 0


@pytest.mark.slow
def test_more_than_65534_entries_use_zip64_end_records(tmp_path: Path) -> None:
    files = {f"f/{i:05x}": b"" for i in range(0x10000)}
    path = tmp_path / "many.zip"
    with path.open("wb") as handle:
        writer = CanonicalZipWriter(handle, str(path))
        for name in sorted(files):
            writer.add(name, b"", deflate=False)
        writer.finish()
    assert path.read_bytes()[-98:-94] == b"PK\x06\x06"
    assert len(validate_entries(path, LIMITS)) == 0x10000
    with zipfile.ZipFile(path) as archive:
        assert len(archive.infolist()) == 0x10000
    data = bytearray(path.read_bytes())
    data[-98 + 24] ^= 1  # the ZIP64 record's entry count
    path.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="ZIP64 end record"):
        validate_entries(path, LIMITS)


def test_an_offset_past_4_gib_is_held_in_a_zip64_field_and_read_back() -> None:
    # A 4 GiB file is too big for a unit test; the directory record alone shows the rule.
    far = ZipEntry("late.html", 8, 0x1234, 10, 20, MAX32 + 7)
    near = ZipEntry("early.html", 8, 0x1234, 10, 20, MAX32 - 1)
    record, extra = expected_central(far)
    assert record.offset == MAX32
    assert record.version_needed == 45
    assert extra == b"\x01\x00\x08\x00" + (MAX32 + 7).to_bytes(8, "little")
    assert expected_central(near)[1] == b""
    assert expected_central(near)[0].offset == MAX32 - 1
    directory = CENTRAL.pack(*record) + far.raw_name + extra
    tail = _Tail(1, 0, len(directory))
    assert list(_central_records(Path("b.zip"), directory, tail)) == [far]
    # The same offset without the ZIP64 field, or the field where none is needed: refused.
    for bad in (
        CENTRAL.pack(*record._replace(extra_length=0)) + far.raw_name,
        CENTRAL.pack(*CentralRecord(*expected_central(near)[0])._replace(extra_length=12))
        + near.raw_name
        + b"\x01\x00\x08\x00"
        + (MAX32 - 1).to_bytes(8, "little"),
    ):
        with pytest.raises(BundleError, match=r"extra|offset|version"):
            list(_central_records(Path("b.zip"), bad, _Tail(1, 0, len(bad))))


def test_crafted_canonical_archive_is_accepted_and_an_empty_one_too(tmp_path: Path) -> None:
    assert validate_entries(CraftZip([]).write(tmp_path / "empty.zip"), LIMITS) == {}
    path = CraftZip([CraftEntry("a.html", b"<p>a</p>")]).write(tmp_path / "one.zip")
    assert list(validate_entries(path, LIMITS)) == ["a.html"]
    assert io.BytesIO(path.read_bytes()).read(4) == b"PK\x03\x04"
