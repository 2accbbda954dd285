"""Commands of the verify stage (being written)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this group's commands to the top-level parser."""
    del sub
