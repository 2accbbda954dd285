"""The one small interface every channel implements, and the typed report it returns.

A channel carries a signed release to readers some other way than a mirror: a file handed
over (``bundle``, ``zim``), and next e-mail and messengers, which *announce* a release with
its new articles. Every channel gets the same :class:`ChannelRequest` — the signed release
(read-only, in the layout of :mod:`tamizdat.layout`), the site's settings, and for announcing
channels the articles of the site, loaded only if asked for — and returns a frozen
:class:`ChannelReport`. Channels never sign and never verify: what they carry is verified by
the reader at the other end (docs/verification-policy.md), so a channel cannot make anything
authentic that was not.

Channels are declared in :data:`tamizdat.registry.BUILTINS` and loaded by name
(:func:`load_channel`), the built-in ones the same way a new one would be.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeGuard, runtime_checkable

from tamizdat.errors import InternalError, UserError
from tamizdat.layout import METADATA_DIR
from tamizdat.registry import BUILTINS, Registry

if TYPE_CHECKING:
    from tamizdat.config import Config
    from tamizdat.content.model import Site

__all__ = [
    "Channel",
    "ChannelReport",
    "ChannelRequest",
    "ChannelStage",
    "is_sender_factory",
    "load_channel",
]

ChannelStage = Literal["export", "announce"]
"""``export``: writes a file from the release alone; ``announce``: tells readers of a
release (after publish), with its articles."""


@dataclass(frozen=True, slots=True)
class ChannelRequest:
    """What a channel is given for one release.

    ``release_dir`` is the signed release (``tamizdat sign`` wrote it); ``output`` is where an
    export channel writes; ``options`` holds the channel's own settings (e.g. ``since`` for a
    delta bundle); ``site`` loads the site's articles on first call (announcing channels).
    """

    release_dir: Path
    config: Config
    output: Path | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    site: Callable[[], Site] | None = None

    def require_release(self) -> Path:
        """The release folder, once it holds a signed release.

        Raises:
            UserError: nothing was signed there yet.
        """
        stamp = self.release_dir / METADATA_DIR / "timestamp.json"
        if not stamp.is_file():
            raise UserError(
                "no signed release here (timestamp.json is missing)",
                where=str(self.release_dir),
                hint="run 'tamizdat build' and 'tamizdat sign' first",
            )
        return self.release_dir

    def require_output(self, channel: str) -> Path:
        """The output file an export channel writes.

        Raises:
            UserError: none was given.
        """
        if self.output is None:
            raise UserError(f"the {channel} channel writes a file: give one with -o FILE")
        return self.output


@dataclass(frozen=True, slots=True)
class ChannelReport:
    """What one channel did with one release: machine-readable (``--json``) and sayable."""

    channel: str
    release: int
    outputs: tuple[str, ...]
    counts: Mapping[str, int]
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "release": self.release,
            "outputs": list(self.outputs),
            "counts": dict(self.counts),
            "notes": list(self.notes),
        }


@runtime_checkable
class Channel(Protocol):
    """A way a release reaches readers (see the module docstring)."""

    name: str
    stage: ChannelStage

    def deliver(self, request: ChannelRequest) -> ChannelReport:
        """Carry the release in ``request`` to readers; report what was done.

        Raises:
            UserError: the channel's settings or output are unusable. BundleError (bundles):
            the release cannot be written in a form every reader opens alike.
        """
        ...


def is_sender_factory(made: object) -> TypeGuard[type]:
    """Whether a declared channel's target is an announcing sender's class (built with
    ``(name, options, environ)``, see :mod:`tamizdat.channels.announcer`), not a channel."""
    return isinstance(made, type) and all(
        callable(getattr(made, method, None)) for method in ("send", "was_sent", "close")
    )


def load_channel(name: str, registry: Registry = BUILTINS) -> Channel:
    """The channel declared as ``name``, ready to deliver.

    Raises:
        UserError: no such channel, or its optional backend is not installed.
    """
    declared = registry.find("channel", name)
    made = declared.load()
    if is_sender_factory(made):
        raise UserError(
            f"the {name} channel announces releases, it does not export one",
            hint=f"add a [[channels]] entry of kind {name!r} and run 'tamizdat announce'",
        )
    channel = made() if isinstance(made, type) else made
    if not isinstance(channel, Channel):
        raise InternalError(f"{declared.target} is not a channel (no name/stage/deliver)")
    return channel
