"""``tamizdat robot``'s arguments: a bad ``--interval`` is refused before anything runs."""

from __future__ import annotations

import pytest

from tamizdat.cli import main


@pytest.mark.parametrize("interval", ["0", "-5", "nan", "inf", "-inf", "86401", "1e999", "soon"])
def test_an_interval_that_would_spin_or_never_wake_is_refused(
    interval: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main(["robot", "--loop", "--interval", interval])
    assert done.value.code == 2
    assert "--interval" in capsys.readouterr().err
