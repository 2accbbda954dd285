"""Open what a user typed as a source: a mirror's URL, a release directory, a bundle file.

Above transport (which knows nothing of bundles) and beside the channels that make files:
the one place that maps a command-line argument to a :class:`~tamizdat.transport.sources.
Source`.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from tamizdat.channels.bundle import open_bundle
from tamizdat.errors import UserError
from tamizdat.transport.network import Deadline, NetworkLimits
from tamizdat.transport.sources import DirectorySource, HttpSource, Source

__all__ = ["open_source"]


def open_source(
    spec: str,
    *,
    ca_file: str | None = None,
    limits: NetworkLimits | None = None,
    deadline: Deadline | None = None,
) -> Source:
    """A source for what the user typed: an ``http(s)://`` URL, a directory or a bundle file.

    An HTTP source keeps to ``limits`` and ``deadline`` (see :class:`HttpSource`); close it
    when done.

    Raises:
        UserError: nothing exists at ``spec``.
        BundleError: the bundle file is malformed or hostile.
    """
    if spec.startswith(("http://", "https://")):
        return HttpSource(spec, ca_file=ca_file, limits=limits, deadline=deadline)
    path = Path(spec).expanduser()
    if path.is_dir():
        return DirectorySource(path)
    if path.is_file():
        return cast(Source, open_bundle(path))
    raise UserError(
        "expected a release directory, a bundle file or an http(s):// URL, found nothing",
        where=spec,
    )
