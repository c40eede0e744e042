"""``s3://bucket/key`` addresses: parsing, printing and joining, with no client behind them.

Kept apart from :mod:`scones.storage` (which needs boto3) so the pure core
(capture records, the bucket layout) can name objects without importing an
SDK.
"""

from __future__ import annotations

from dataclasses import dataclass

from scones.errors import InputError


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> "S3Uri":
        """Split ``s3://bucket/key``; the key may be empty (a bucket or a prefix)."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise InputError(f"expected an s3://bucket/key URI, got {uri!r}")
        bucket, _, key = uri[len("s3://"):].partition("/")
        if not bucket:
            raise InputError(f"the URI {uri!r} names no bucket; write s3://BUCKET/key")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def join(self, *parts: str) -> "S3Uri":
        key = "/".join(p.strip("/") for p in (self.key, *parts) if p.strip("/"))
        return S3Uri(self.bucket, key)
