"""Typed values passed between the render modules and the build orchestrator."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ImageSet", "ImageVariant", "PagePlan"]


@dataclass(frozen=True, slots=True)
class ImageVariant:
    """One re-encoded width of an image, metadata stripped. ``output`` is relative to public/."""

    output: str
    width: int
    height: int
    media_type: str


@dataclass(frozen=True, slots=True)
class ImageSet:
    """All widths of one source image, smallest first; ``source`` is relative to the site root."""

    source: str
    variants: tuple[ImageVariant, ...]

    @property
    def largest(self) -> ImageVariant:
        return self.variants[-1]

    def srcset(self, prefix: str = "/") -> str:
        return ", ".join(f"{prefix}{v.output} {v.width}w" for v in self.variants)


@dataclass(frozen=True, slots=True)
class PagePlan:
    """One output file the renderer can produce.

    ``key`` is a hex digest of everything the bytes depend on (article hashes, titles and
    URLs it lists, templates, settings): equal keys between builds mean equal bytes, so
    the orchestrator may skip rendering. ``kind`` and ``args`` tell the renderer what to
    produce; both are plain picklable values so plans can cross process boundaries.
    """

    output: str
    kind: str
    args: tuple[str | int, ...]
    key: str
