"""Strict address checking: only a bare, header-safe addr-spec gets through."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tamizdat.channels.email.addresses import check_address, same_mailbox
from tamizdat.errors import UserError

GOOD = {
    "ana@readers.example": "ana@readers.example",
    "  Ana.B+news@Readers.EXAMPLE ": "Ana.B+news@readers.example",
    "o'hara@x.example": "o'hara@x.example",
    "user@пример.рф": "user@xn--e1afmkfd.xn--p1ai",
    "a@b-c.example": "a@b-c.example",
}

BAD = [
    "",
    "ana",
    "ana@",
    "@readers.example",
    "ana@@readers.example",
    "ana@readers@example.org",
    "ana@localhost",
    "ana@readers..example",
    "ana@-readers.example",
    "ana@readers.example\r\nBcc: victim@else.example",
    "ana@readers.example\nBcc: victim@else.example",
    "ana\r\n@readers.example",
    "ana@readers.example\x00",
    "ana @readers.example",
    "Ana <ana@readers.example>",
    '"ana"@readers.example',
    "ana(comment)@readers.example",
    ".ana@readers.example",
    "ana.@readers.example",
    "an..a@readers.example",
    "a" * 65 + "@readers.example",
    "a@" + "b" * 64 + ".example",
    "a@" + ".".join(["b" * 60] * 5) + ".example",
    "анна@readers.example",  # non-ASCII local part without SMTPUTF8
    "ana@readers.123",
    "ana\u202e@readers.example",  # a bidi override
    "ana@readers.example\u2028",
    "x" * 10_000,
]


@pytest.mark.parametrize(("given_text", "expected"), GOOD.items())
def test_good_addresses_come_back_normalised(given_text: str, expected: str) -> None:
    assert check_address(given_text) == expected


@pytest.mark.parametrize("text", BAD, ids=lambda t: repr(t)[:40])
def test_bad_addresses_are_refused_with_a_bounded_message(text: str) -> None:
    with pytest.raises(UserError) as caught:
        check_address(text, where="list.csv:3")
    assert caught.value.where == "list.csv:3"
    assert len(str(caught.value)) < 400
    assert "\n" not in str(caught.value)
    assert "\r" not in str(caught.value)


def test_a_non_ascii_local_part_needs_smtputf8() -> None:
    assert check_address("анна@readers.example", smtputf8=True) == "анна@readers.example"
    with pytest.raises(UserError, match="SMTPUTF8"):
        check_address("анна@readers.example")
    with pytest.raises(UserError):
        check_address("ан на@readers.example", smtputf8=True)


def test_one_mailbox_has_one_key() -> None:
    assert same_mailbox("Ana@readers.example") == same_mailbox("ana@readers.example")


@given(st.text(max_size=80))
def test_whatever_passes_is_safe_in_a_header(text: str) -> None:
    try:
        address = check_address(text)
    except UserError:
        return
    assert address.isascii()
    assert address.isprintable()
    assert not any(c in address for c in ' \t\r\n<>(),;:"[]\\')
    assert address.count("@") == 1
    assert len(address) <= 254
