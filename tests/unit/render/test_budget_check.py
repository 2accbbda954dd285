"""check_first_screen: the build's budget rule in both modes, naming the page and sizes."""

from __future__ import annotations

import random

import pytest

from tamizdat.errors import ContentError
from tamizdat.render.budget import check_first_screen, compressed_prefix_size

NOISE = random.Random(9).randbytes(20_000).hex().encode()  # incompressible
LATE = b"<html><nav>" + NOISE + b'</nav><h1>Head</h1><p class="lead">Lead</p>'
EARLY = b'<html><h1>Head</h1><p class="lead">Lead</p><p>' + NOISE + b"</p>"


@pytest.mark.parametrize("mode", ["warn", "fail"])
def test_a_page_within_budget_passes(mode: str) -> None:
    assert check_first_screen("en/a/index.html", EARLY, mode) is None  # type: ignore[arg-type]


def test_warn_returns_the_message() -> None:
    message = check_first_screen("en/a/index.html", LATE, "warn")
    assert message is not None
    size = compressed_prefix_size(LATE)
    assert message.startswith("en/a/index.html: the headline and lead end")
    assert f"{len(LATE)} bytes into the page, {size} bytes of gzip" in message
    assert "budget is 14336 bytes" in message


def test_fail_raises_naming_the_page() -> None:
    with pytest.raises(ContentError) as caught:
        check_first_screen("en/a/index.html", LATE, "fail")
    assert caught.value.where == "en/a/index.html"
    assert "bytes of gzip" in caught.value.message
    assert caught.value.hint is not None
    assert 'budget = "warn"' in caught.value.hint


def test_a_page_without_a_headline_has_no_first_screen() -> None:
    with pytest.raises(ContentError, match="no first screen"):
        check_first_screen("en/a/index.html", b"<p>no headline</p>", "fail")
