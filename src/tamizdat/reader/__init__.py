"""The reader: subscribe to a publisher, sync with fail-over, read and share offline.

``store`` (the layout on disk, switched atomically), ``sync`` (the one client workflow of
:mod:`tamizdat.trust.verify.workflow` over the mirror pool of
:mod:`tamizdat.transport.failover`, with the store as the kept copy), ``client`` (what the
commands call), ``serve`` (reading and sharing servers).
"""

__all__ = ["client", "serve", "store", "sync"]
