"""tamizdat.render: a loaded Site → the files of public/ (pages, feeds, search, assets).

``Renderer`` plans every output file and renders one at a time; ``check_page`` is the
privacy rule every page passes; ``first_screen_within`` is the low-bandwidth budget.
"""

from tamizdat.render.budget import first_screen_within
from tamizdat.render.pages import Renderer
from tamizdat.render.privacy import CSP, check_page
from tamizdat.render.types import ImageSet, ImageVariant, PagePlan

__all__ = [
    "CSP",
    "ImageSet",
    "ImageVariant",
    "PagePlan",
    "Renderer",
    "check_page",
    "first_screen_within",
]
