"""Test support shared by every test folder (importable as ``support``: pytest's ``pythonpath``).

Modules here build inputs for tests and never assert anything themselves:

- ``support.tuf_release``: signed releases in the tamizdat layout, made with python-tuf's
  metadata API (not tamizdat's signer), with the fine control attack tests need.
- ``support.loopback``: plain HTTP servers on 127.0.0.1 for integration tests.
- ``support.content_site``: small throwaway sites on disk for the content-model tests.
- ``support.trees``: bytes/inode/mtime snapshots of an output tree ("left exactly as it was").
- ``support.fixtures``: pytest fixtures over those; a folder's ``conftest.py`` re-exports the
  ones it uses, so each fixture has one definition and no conftest imports another.

Import them by package name (``from support.tuf_release import ReleaseFactory``), never by
``sys.path`` inserts or ``importlib`` loaders: every test folder has a ``conftest.py``, so a bare
``import conftest`` or a folder-relative module name is ambiguous.
"""

__all__: list[str] = []
