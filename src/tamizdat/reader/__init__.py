"""The reader: subscribe to a publisher, sync with fail-over, read and share offline.

``store`` (the layout on disk, switched atomically), ``mirrors`` (fail-over), ``sync`` (the
TUF client workflow), ``client`` (what the commands call), ``serve`` (reading and sharing
servers), ``listing`` (which files a release consists of).
"""

__all__ = ["client", "listing", "mirrors", "serve", "store", "sync"]
