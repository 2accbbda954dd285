"""tamizdat.trust: keys, signing a release with TUF, the publication log, verification.

Publisher side: ``keys`` (init, add-desk, fingerprint), ``keystore`` (encrypted Ed25519 keys),
``roles`` (the role layout), ``sign`` (public/ → release/), ``rotate`` (rotation, revocation,
timestamp-only re-sign), ``log`` (the publication log, no I/O), ``history``.
Reader side: ``policy``, ``verify``, ``sources``, ``conformance``.
Import the submodules directly; this package imports nothing at load time.
"""

__all__: list[str] = []
