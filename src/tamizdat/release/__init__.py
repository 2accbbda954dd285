"""A read-only view of one signed release: which files it consists of, where they are.

``listing`` reads the metadata chain ``timestamp → N.snapshot → N.<role>`` of one release
(no signature checks: callers that read untrusted bytes verify them with
``tamizdat.trust.verify`` first) over any ``Layout`` — a release directory, a reader's
store, a bundle. Used by bundles, ZIM export and the reader's store.

Import the submodules directly; this package imports nothing at load time.
"""

__all__ = ["listing"]
