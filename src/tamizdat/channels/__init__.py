"""Channels: other ways a release reaches readers, one module each, over the same layout.

``bundle`` (one file for USB sticks and messengers) and ``zim`` (Kiwix) live here. Modules
are imported on use: ``zim`` needs the optional ``libzim`` extra.
"""

__all__ = ["bundle", "zim"]
