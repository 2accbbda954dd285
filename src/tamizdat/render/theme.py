"""The theme: default templates and assets, with the site's per-file overrides.

Invariant kept: a site template or asset replaces the default one of the same name and
nothing else; every file of both layers is part of ``digest`` so a changed template
changes the plan keys of the pages it renders. Templates are checked for third-party
resources when the theme is opened, so even a branch a page never takes cannot slip one
in; rendered pages are checked again by the renderer.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

import tamizdat
from tamizdat.content.assets import LINK_HINT
from tamizdat.errors import ContentError, PrivacyError
from tamizdat.files import read_regular, walk_regular
from tamizdat.render.i18n import catalog_digest, format_article_date, translations_for
from tamizdat.render.privacy import find_external_resources

__all__ = ["Theme", "default_theme_dir"]


def default_theme_dir() -> Path:
    return Path(str(resources.files("tamizdat") / "themes" / "default"))


def _hidden(name: str, _is_dir: bool) -> bool:
    return name.startswith(".")


def _files(folder: Path, links_inside: Path | None = None) -> dict[str, Path]:
    """Every non-hidden regular file under ``folder`` (links refused unless they stay
    inside ``links_inside``; see :func:`tamizdat.files.walk_regular`)."""
    if not folder.is_dir():
        return {}
    found = walk_regular(folder, links_inside=links_inside, skip=_hidden, hint=LINK_HINT)
    return {f.relative: Path(f.path) for f in found}


class Theme:
    """Templates and static assets of one build, overrides first."""

    def __init__(self, override_dir: Path | None = None, links_inside: Path | None = None) -> None:
        """Raises:
        UnsafeFileError: a link (unless it stays inside ``links_inside``), FIFO, socket or
            device file in the theme.
        PrivacyError: see :meth:`check_templates`.
        """
        default = default_theme_dir()
        self.template_dirs = [d for d in (override_dir, default) if d is not None]
        self.templates: dict[str, Path] = {}
        self.assets: dict[str, Path] = {}
        self._layers: list[dict[str, Path]] = []  # each layer's templates, overrides first
        for folder in reversed(self.template_dirs):  # overrides win
            links = links_inside if folder == override_dir else None
            self._layers.insert(0, _files(folder / "templates", links))
            self.templates.update(self._layers[0])
            self.assets.update(_files(folder / "static", links))
        self._envs: dict[str, jinja2.Environment] = {}
        self.check_templates()

    @functools.cached_property
    def digest(self) -> str:
        """SHA-256 over every effective template and asset, the catalogs and the version."""
        digest = hashlib.sha256(f"tamizdat {tamizdat.__version__} {jinja2.__version__}".encode())
        digest.update(catalog_digest().encode())
        for kind, files in (("t", self.templates), ("s", self.assets)):
            for name, path in sorted(files.items()):
                digest.update(f"\0{kind}\0{name}\0".encode() + read_regular(path))
        return digest.hexdigest()

    def check_templates(self) -> None:
        """Refuse a template that references a resource on another origin.

        Raises:
            PrivacyError: names the template file and line and the URL.
        """
        for path in self.templates.values():
            text = read_regular(path).decode("utf-8")
            for violation in find_external_resources(text):
                raise PrivacyError(
                    f"{violation.what} would make readers' browsers load {violation.url!r} "
                    "from another origin",
                    where=f"{path}:{violation.line}",
                    hint="ship the file in the theme's static/ folder and reference it "
                    "relatively, e.g. {{ root }}assets/NAME",
                )

    def locate(self, url: str) -> str | None:
        """``template:LINE`` of the first template holding ``url``, overrides first."""
        for layer in self._layers:
            for path in layer.values():
                text = read_regular(path).decode("utf-8")
                index = text.find(url)
                if index >= 0:
                    return f"{path}:{text.count(chr(10), 0, index) + 1}"
        return None

    def environment(self, lang: str, filters: dict[str, Callable[..., Any]]) -> jinja2.Environment:
        """The Jinja2 environment for ``lang`` (gettext installed, autoescaping on)."""
        env = self._envs.get(lang)
        if env is None:
            env = jinja2.Environment(
                # Only the files found by the walk: a template cannot include a link,
                # a FIFO or a hidden file the walk left out.
                loader=jinja2.FunctionLoader(self._load_template),
                autoescape=True,
                extensions=["jinja2.ext.i18n"],
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                auto_reload=False,
            )
            env.install_gettext_translations(translations_for(lang), newstyle=True)  # type: ignore[attr-defined]
            env.filters["localdate"] = lambda when: _localdate(when, lang)
            env.filters.update(filters)
            self._envs[lang] = env
        return env

    def _load_template(self, name: str) -> tuple[str, str, Callable[[], bool]] | None:
        path = self.templates.get(name)
        if path is None:
            return None
        return read_regular(path).decode("utf-8"), str(path), lambda: True

    def render(self, lang: str, name: str, context: dict[str, Any]) -> str:
        """Render template ``name`` for ``lang``.

        Raises:
            ContentError: the template is missing or fails; names the template file.
        """
        env = self.environment(lang, {})
        try:
            return env.get_template(name).render(context)
        except jinja2.TemplateError as exc:
            # A syntax error knows its file (maybe a parent template); others only ``name``.
            file = getattr(exc, "filename", None) or str(self.templates.get(name, name))
            line = getattr(exc, "lineno", None)
            where = file + (f":{line}" if line else "")
            raise ContentError(f"template {name} failed: {exc}", where=where) from exc


def _localdate(when: datetime, lang: str) -> str:
    return format_article_date(when, lang)
