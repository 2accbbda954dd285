"""The publisher side of trust: keys, the role layout, signing public/ into release/.

``keys`` (init, add-desk, fingerprint), ``keystore`` (encrypted Ed25519 keys), ``roles``
(the desk/month role layout), ``role_plan`` (which roles a release re-signs), ``signing``
(public/ → release/), ``hashing`` (scanning and hashing public/ incrementally),
``metadata`` (signing helpers), ``log_writer`` (appending to the publication log and
producing its files), ``release_dir`` (reading the previous release, writing the next one
in a crash-safe order), ``rotate`` (rotation, revocation, timestamp-only re-sign),
``history`` (``tamizdat history PATH``).

Import the submodules directly; this package imports nothing at load time.
"""

__all__ = [
    "hashing",
    "history",
    "keys",
    "keystore",
    "log_writer",
    "metadata",
    "release_dir",
    "role_plan",
    "roles",
    "rotate",
    "signing",
]
