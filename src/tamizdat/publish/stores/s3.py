"""The ``s3`` store kind: ``s3://bucket/prefix`` on any S3-compatible object store, over s3fs.

Invariants: a single PUT is atomic, so no temporary names; every object carries its
Content-Type and Cache-Control (see :mod:`tamizdat.publish.headers`), which a CDN in front
of the bucket passes on; every request has a deadline scaled to its size. Credentials are
never read from tamizdat.toml: they come from the AWS environment or profiles.
"""

from __future__ import annotations

import os
from typing import Any

import s3fs

from tamizdat.publish.stores._fsspec import FsspecStore
from tamizdat.publish.stores.registry import StoreRequest

__all__ = ["open_s3_store"]


def open_s3_store(request: StoreRequest) -> FsspecStore:
    """A store under ``prefix`` in ``bucket``; options ``endpoint_url``, ``region``, ``profile``.

    Raises:
        ConfigError: the URL names no bucket.
    """
    mirror, limits = request.mirror, request.limits
    if not request.url.netloc:
        raise request.config_error(f"expected s3://bucket/prefix, found {mirror.url!r}")
    opts = mirror.options
    endpoint = opts.get("endpoint_url") or os.environ.get("AWS_ENDPOINT_URL")
    client_kwargs: dict[str, Any] = {}
    if endpoint:
        client_kwargs["endpoint_url"] = endpoint
    if opts.get("region"):
        client_kwargs["region_name"] = opts["region"]
    config = {
        "connect_timeout": limits.connect_timeout,
        "read_timeout": limits.read_timeout,
        "retries": {"max_attempts": 2},
        # botocore otherwise adds a CRC32 trailer to every PUT: CPU per object, and a header
        # many S3-compatible servers do not understand; TLS and the by-hash names already
        # guard integrity, and readers verify every byte against signed metadata.
        "request_checksum_calculation": "when_required",
        "response_checksum_validation": "when_required",
    }
    shared = s3fs.S3FileSystem(  # s3fs runs its own event loop thread: one serves all workers
        client_kwargs=client_kwargs,
        config_kwargs=config,
        profile=opts.get("profile") or None,
        skip_instance_cache=True,
        use_listings_cache=False,
    )
    root = f"{request.url.netloc}/{request.url.path.strip('/')}".rstrip("/")
    return FsspecStore(
        mirror.name,
        lambda: shared,
        root,
        supports_headers=True,
        object_store=True,
        limits=limits,
    )
