"""Sites with mirrors on the real servers of ../conftest.py, and a verifying reader."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from releasekit import check_consistent, directory_reader, fingerprint_of

from tamizdat.transport.sources import DirectorySource
from tamizdat.trust.verify.whole import verify_release_report


def write_site(site: Path, mirrors: list[dict[str, object]]) -> Path:
    """A tamizdat.toml with these mirrors; the release goes to ``site/release``."""
    site.mkdir(parents=True, exist_ok=True)
    lines = [
        "[site]",
        'title = "Exile News"',
        'base_url = "https://exile-news.example/"',
        "",
        "[signing]",
        'release_dir = "release"',
        f'keys_dir = "{site / "keys"}"',
        "",
    ]
    for mirror in mirrors:
        options = mirror.pop("options", None)
        lines.append("[[mirrors]]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in mirror.items())
        if options:
            lines.append("[mirrors.options]")
            lines.extend(f"{k} = {json.dumps(v)}" for k, v in dict(options).items())  # type: ignore[call-overload]
        lines.append("")
    (site / "tamizdat.toml").write_text("\n".join(lines))
    return site


def served_version(mirror_dir: Path, release_dir: Path, *, complete: bool = True) -> int:
    """The release a verifying client sees on the mirror folder: old or new, never a mix.

    Two independent clients must agree: the tests' own chain walk and tamizdat's verifier.
    Mid-publish (``complete=False``) only the by-hash copies are held to the metadata, as a
    verifying client reads them; natural paths serve plain browsers and are updated before
    the metadata, so they can be ahead until the timestamp lands.
    """
    ours = check_consistent(directory_reader(mirror_dir))
    report = verify_release_report(
        DirectorySource(mirror_dir),
        fingerprint=fingerprint_of(release_dir),
        check="all",
        natural=complete,
    )
    assert report.outcome == "current", (report.problem, report.where)
    assert report.version == ours
    return ours


Reader = Callable[[str], bytes | None]
