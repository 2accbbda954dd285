"""How long the shortcode pass takes on hostile Markdown bodies as they grow (should be linear).

Usage: .venv/bin/python bench/bench_shortcodes.py
Prints, for each hostile pattern, seconds at 100 KB, 400 KB and 1.6 MB and the ratio between
the largest and the smallest (linear: about 16).
"""

from __future__ import annotations

import contextlib
import time

from tamizdat.content.shortcodes import translate_shortcodes
from tamizdat.errors import ContentError

UNITS = ["{{</* ", '{{< youtube "', "```\n{{</* x\n", "{{< youtube abc >}}\n"]


def seconds(body: str) -> float:
    started = time.perf_counter()
    with contextlib.suppress(ContentError):
        translate_shortcodes(body, "content/x.md", 1, "warn")
    return time.perf_counter() - started


def main() -> None:
    for unit in UNITS:
        times = [seconds(unit * (size // len(unit))) for size in (100_000, 400_000, 1_600_000)]
        ratio = times[2] / times[0] if times[0] else float("nan")
        print(f"{unit!r:28} " + "  ".join(f"{t:7.3f}s" for t in times) + f"  ×{ratio:.1f}")


if __name__ == "__main__":
    main()
