"""Channels: other ways a release reaches readers, one module each, over the same layout.

``bundle`` (one file for USB sticks and messengers) and ``zim`` (Kiwix) live here, and
``distributor`` (which mirrors a requester is told, resisting harvesting) with its
rate-limit store and key in ``requests``. Modules are imported on use: ``zim`` needs the
optional ``libzim`` extra.
"""

__all__ = ["bundle", "distributor", "requests", "zim"]
