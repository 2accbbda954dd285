"""tamizdat.trust: The Update Framework for a newsroom — signing and verifying releases.

::

    trust/log.py     the publication log's format (no I/O): written by sign, read by verify
    trust/verify/    the reader side: one client workflow over a pure verification core
    trust/sign/      the publisher side: keys, role layout, signing, rotation, the log writer

Import the submodules directly; this package imports nothing at load time.
"""

__all__ = ["log", "sign", "verify"]
