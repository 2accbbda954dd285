"""Where release bytes come from, below trust: one small interface, one error contract.

``sources`` (the ``Source`` protocol and its directory, HTTP and memory sources),
``fetch`` (the ``Fetcher`` a verifier asks: one source, checked once),
``http_client`` (HTTP with every wait inside a deadline), ``network`` (``NetworkLimits``,
``Deadline``), ``failover`` (``MirrorPool`` and its ``PoolFetcher``: many untrusted mirrors, raced and
asked in turn). A bundle is a source
too (``tamizdat.channels.bundle``). Sources move bytes; the verifier decides what they are
worth. Only tamizdat errors leave a source: ``MissingFileError`` for a file that is not
there, other ``TransportError`` subclasses for failures, ``OversizeError`` as soon as more
than the cap arrives.

Import the submodules directly; this package imports nothing at load time.
"""

__all__ = ["failover", "fetch", "http_client", "network", "sources"]
