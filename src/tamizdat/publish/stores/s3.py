"""The ``s3`` store kind: ``s3://bucket/prefix`` on any S3-compatible object store, over s3fs.

Invariants: a single PUT is atomic, so no temporary names; every object carries its
Content-Type and Cache-Control (see :mod:`tamizdat.publish.headers`), which a CDN in front
of the bucket passes on; every request has a deadline scaled to its size. Credentials are
never read from tamizdat.toml: they come from the AWS environment or profiles. Bucket CORS
(any origin may GET) is set on every publish and read back: a server that answers
PutBucketCors with something else (``rclone serve s3`` takes ``PUT /bucket?cors`` for a
bucket creation and says BucketAlreadyExists) is reported, never taken as success.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

import s3fs

from tamizdat.publish.cors import BUCKET_CORS_RULES, CorsOutcome
from tamizdat.publish.stores._fsspec import FsspecStore
from tamizdat.publish.stores.base import StoreLimits
from tamizdat.publish.stores.registry import StoreRequest

__all__ = ["S3Store", "open_s3_store"]


class S3Store(FsspecStore):
    """An fsspec store on one bucket, which also knows the bucket's CORS setting."""

    def __init__(
        self, name: str, make_fs: Callable[[], Any], bucket: str, root: str, limits: StoreLimits
    ) -> None:
        super().__init__(
            name, make_fs, root, supports_headers=True, object_store=True, limits=limits
        )
        self._bucket = bucket

    def _allow_cross_origin(self) -> CorsOutcome:
        fs = self._fs()
        try:
            fs.call_s3("put_bucket_cors", Bucket=self._bucket, CORSConfiguration=BUCKET_CORS_RULES)
            refused = None
        except (ConnectionError, TimeoutError):
            raise  # the store is unreachable: the caller retries and reports it as such
        except Exception as exc:  # s3fs turns each S3 error code into some OSError
            refused = f"{type(exc).__name__}: {exc}"
        try:
            answer: Mapping[str, Any] = fs.call_s3("get_bucket_cors", Bucket=self._bucket)
        except (ConnectionError, TimeoutError):
            raise
        except Exception:  # NoSuchCORSConfiguration and the like: no rule to read back
            answer = {}
        if refused is None and _allows_any_origin(answer):
            return CorsOutcome("set", f"bucket {self._bucket}: any origin may GET and HEAD")
        if refused is None:
            refused = "it accepted PutBucketCors but GetBucketCors does not return the rule"
        sent = _header(answer, "access-control-allow-origin")
        if sent is not None and sent.strip() == "*":
            return CorsOutcome(
                "server-sends",
                f"this S3 server does not support bucket CORS ({refused}); it sends "
                "Access-Control-Allow-Origin: * on its own answers",
            )
        return CorsOutcome(
            "unsupported",
            f"could not set bucket CORS on {self._bucket} ({refused}): browsers on other "
            "mirrors cannot read this one; allow GET from origin * in the provider's console",
        )


def _allows_any_origin(answer: Mapping[str, Any]) -> bool:
    for rule in answer.get("CORSRules") or ():
        if "*" in (rule.get("AllowedOrigins") or ()) and "GET" in (
            rule.get("AllowedMethods") or ()
        ):
            return True
    return False


def _header(answer: Mapping[str, Any], name: str) -> str | None:
    headers = (answer.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
    value = headers.get(name)
    return str(value) if value is not None else None


def open_s3_store(request: StoreRequest) -> S3Store:
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
    return S3Store(mirror.name, lambda: shared, request.url.netloc, root, limits)
