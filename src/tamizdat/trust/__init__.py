"""tamizdat.trust: The Update Framework for a newsroom — signing and verifying releases.

::

    trust/log.py     the publication log's model and format (no I/O), shared by both sides
    trust/log_chain.py  walking the log's hash chain (verify) and reading a release's (sign)
    trust/verify/    the reader side: one client workflow over a pure verification core
    trust/sign/      the publisher side: keys, role layout, signing, rotation, the log writer

Import the submodules directly; this package imports nothing at load time.
"""

__all__ = ["log", "log_chain", "sign", "verify"]
