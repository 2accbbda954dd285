"""The S3 store's bucket CORS step over a fake s3fs filesystem (its ``call_s3``), for the
answers a real server may give; the real ``rclone serve s3`` answer is tested in
tests/integration/publish/test_cross_origin.py."""

from __future__ import annotations

from typing import Any

import pytest

from tamizdat.errors import MirrorUnreachableError
from tamizdat.publish.cors import BUCKET_CORS_RULES
from tamizdat.publish.stores.base import StoreLimits
from tamizdat.publish.stores.s3 import S3Store


class FakeS3:
    """Answers ``put_bucket_cors`` / ``get_bucket_cors`` as configured; records the calls."""

    def __init__(
        self,
        *,
        put: BaseException | None = None,
        rules: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        keep: bool = True,
    ) -> None:
        self.put_error, self.rules, self.headers, self.keep = put, rules, headers or {}, keep
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call_s3(self, method: str, **kwargs: Any) -> dict[str, Any]:
        self.calls.append((method, kwargs))
        meta = {"ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": self.headers}}
        if method == "put_bucket_cors":
            if self.put_error is not None:
                raise self.put_error
            if self.keep:
                self.rules = kwargs["CORSConfiguration"]["CORSRules"]
            return meta
        if method == "get_bucket_cors":
            if self.rules is None:
                raise FileNotFoundError("NoSuchCORSConfiguration")
            return {**meta, "CORSRules": self.rules}
        raise AssertionError(method)


def store_over(fake: FakeS3) -> S3Store:
    return S3Store("s3-eu", lambda: fake, "news-bucket", "news-bucket/site", StoreLimits())


def test_a_bucket_that_takes_the_rule_is_set() -> None:
    fake = FakeS3()
    outcome = store_over(fake).allow_cross_origin()
    assert outcome.state == "set"
    assert "news-bucket" in outcome.detail
    assert fake.calls[0] == (
        "put_bucket_cors",
        {"Bucket": "news-bucket", "CORSConfiguration": BUCKET_CORS_RULES},
    )
    rule = BUCKET_CORS_RULES["CORSRules"][0]
    assert rule["AllowedOrigins"] == ["*"]
    assert set(rule["AllowedMethods"]) == {"GET", "HEAD"}  # reads only, never writes


@pytest.mark.parametrize(
    ("fake", "state", "words"),
    [
        # accepted, but not kept: never reported as set
        (FakeS3(keep=False), "unsupported", "does not return the rule"),
        (FakeS3(put=PermissionError("AccessDenied")), "unsupported", "AccessDenied"),
        # rclone serve s3: PUT ?cors taken for a bucket creation; sends the header itself
        (
            FakeS3(put=FileExistsError("BucketAlreadyExists"), rules=[],
                   headers={"access-control-allow-origin": "*"}),
            "server-sends",
            "does not support bucket CORS (FileExistsError: BucketAlreadyExists)",
        ),
        (FakeS3(put=OSError("NotImplemented")), "unsupported", "console"),
        # another origin only: not what the worker on other mirrors needs
        (
            FakeS3(put=OSError("NotImplemented"),
                   rules=[{"AllowedOrigins": ["https://a.example"], "AllowedMethods": ["GET"]}]),
            "unsupported",
            "NotImplemented",
        ),
    ],
)  # fmt: skip
def test_a_bucket_that_does_not_take_it_is_reported(fake: FakeS3, state: str, words: str) -> None:
    outcome = store_over(fake).allow_cross_origin()
    assert outcome.state == state
    assert words in outcome.detail
    assert outcome.needs_attention is (state == "unsupported")


def test_a_lost_connection_is_unreachable_not_unsupported() -> None:
    with pytest.raises(MirrorUnreachableError) as caught:
        store_over(FakeS3(put=ConnectionResetError("reset"))).allow_cross_origin()
    assert caught.value.where == "mirror s3-eu"
