"""tamizdat: publish once from exile, reach readers through every channel, verifiably.

The pipeline is the package tree: ``content`` (load) → ``render`` (build ``public/``) →
``trust`` (sign ``release/``, verify copies) → ``publish`` (push to mirrors) → ``reader``
and ``channels`` (get the release to people). ``cli`` sits on top and holds no logic.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
