"""Object storage addressed by ``s3://bucket/key`` URIs, over boto3's S3 client.

LocalStack, the embedded S3 server and AWS all speak the S3 API over HTTP, so
every backend uses this one class and differs only in the endpoint boto3 is
given. Errors are turned into messages that name the URI and what to do.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

import botocore.exceptions

from scones.clients import make_client
from scones.errors import SconesError
from scones.s3_uri import S3Uri

# Enough parallel requests to hide per-request latency without swamping a laptop.
DEFAULT_CONCURRENCY = 16


# What an S3 call can fail with: S3's answer, or no answer at all (nothing listening, a dropped connection).
REQUEST_FAILURES = (botocore.exceptions.ClientError, botocore.exceptions.ConnectionError,
                    botocore.exceptions.HTTPClientError)


def error_code(error: Exception) -> str:
    """S3's error code (``NoSuchKey``, ``404``…); "" when S3 did not answer."""
    response = getattr(error, "response", None) or {}
    return response.get("Error", {}).get("Code", "")


class StorageError(SconesError, RuntimeError):
    """A storage operation failed; the message names the URI and the fix."""


class NoSuchObject(StorageError, FileNotFoundError):
    """The object (or its bucket) does not exist."""


@dataclass(frozen=True)
class StoredObject:
    uri: str
    size: int
    etag: str  # the MD5 hex digest for single-part uploads, as S3 computes it


def s3_client(endpoint_url: str | None = None, *, region: str | None = None):
    """A boto3 S3 client for ``endpoint_url`` (None: AWS itself), from the one client factory."""
    return make_client("s3", endpoint_url=endpoint_url, region=region)


class Storage:
    """put/get/list/delete of ``s3://`` URIs through one boto3 S3 client."""

    def __init__(self, client, *, concurrency: int = DEFAULT_CONCURRENCY):
        self.client = client
        self.concurrency = concurrency

    @property
    def endpoint_url(self) -> str:
        return self.client.meta.endpoint_url

    def _fail(self, error: Exception, uri: str, action: str) -> StorageError:
        if not isinstance(error, botocore.exceptions.ClientError):
            return StorageError(
                f"cannot {action} {uri}: no S3 answers at {self.endpoint_url} ({error}); start it (`scones up`, "
                "LocalStack) or pass the right --endpoint-url"
            )
        code = error_code(error)
        if code in ("NoSuchBucket",):
            bucket = S3Uri.parse(uri).bucket
            return NoSuchObject(
                f"cannot {action} {uri}: bucket {bucket!r} does not exist at {self.endpoint_url}; "
                "run `scones stage` first or pass the right --bucket"
            )
        if code in ("NoSuchKey", "404", "NotFound"):
            return NoSuchObject(f"cannot {action} {uri}: no such object at {self.endpoint_url}")
        return StorageError(f"cannot {action} {uri} at {self.endpoint_url}: {code or error}")

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self.client.head_bucket(Bucket=bucket)
            return True
        except REQUEST_FAILURES as error:
            if error_code(error) in ("404", "NoSuchBucket", "NotFound"):
                return False
            raise self._fail(error, f"s3://{bucket}/", "reach bucket") from error

    def ensure_bucket(self, bucket: str) -> bool:
        """Create ``bucket`` if it is missing; True if it was created."""
        if self.bucket_exists(bucket):
            return False
        region = self.client.meta.region_name
        kwargs = {"Bucket": bucket}
        if region and region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**kwargs)
        except REQUEST_FAILURES as error:
            if error_code(error) != "BucketAlreadyOwnedByYou":
                raise self._fail(error, f"s3://{bucket}/", "create bucket") from error
        return True

    def put(self, uri: str, data: bytes, *, content_type: str | None = None) -> None:
        location = S3Uri.parse(uri)
        kwargs = {"Bucket": location.bucket, "Key": location.key, "Body": data}
        if content_type:
            kwargs["ContentType"] = content_type
        try:
            self.client.put_object(**kwargs)
        except REQUEST_FAILURES as error:
            raise self._fail(error, uri, "write") from error

    def get(self, uri: str) -> bytes:
        location = S3Uri.parse(uri)
        try:
            return self.client.get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
        except REQUEST_FAILURES as error:
            raise self._fail(error, uri, "read") from error

    def exists(self, uri: str) -> bool:
        location = S3Uri.parse(uri)
        try:
            self.client.head_object(Bucket=location.bucket, Key=location.key)
            return True
        except REQUEST_FAILURES as error:
            if error_code(error) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise self._fail(error, uri, "check") from error

    def list(self, prefix_uri: str) -> Iterator[StoredObject]:
        """Every object whose key starts with the URI's key, in key order."""
        location = S3Uri.parse(prefix_uri)
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=location.bucket, Prefix=location.key):
                for item in page.get("Contents", []):
                    yield StoredObject(
                        uri=f"s3://{location.bucket}/{item['Key']}",
                        size=item["Size"],
                        etag=item["ETag"].strip('"'),
                    )
        except REQUEST_FAILURES as error:
            raise self._fail(error, prefix_uri, "list") from error

    def delete(self, uris: Iterable[str]) -> int:
        """Delete objects in batches of 1,000 (S3's limit); returns how many were asked to go."""
        by_bucket: dict[str, list[str]] = {}
        for uri in uris:
            location = S3Uri.parse(uri)
            by_bucket.setdefault(location.bucket, []).append(location.key)
        count = 0
        for bucket, keys in by_bucket.items():
            for start in range(0, len(keys), 1000):
                batch = keys[start:start + 1000]
                try:
                    response = self.client.delete_objects(
                        Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
                    )
                except REQUEST_FAILURES as error:
                    raise self._fail(error, f"s3://{bucket}/{batch[0]}", "delete") from error
                if response.get("Errors"):
                    first = response["Errors"][0]
                    raise StorageError(
                        f"could not delete s3://{bucket}/{first['Key']}: {first.get('Message')}"
                    )
                count += len(batch)
        return count

    def put_many(self, objects: Mapping[str, bytes], *,
                 content_types: Mapping[str, str] | None = None) -> None:
        """Upload many objects concurrently (boto3 clients are thread-safe)."""
        if not objects:
            return
        types = content_types or {}
        with ThreadPoolExecutor(self.concurrency) as pool:
            list(pool.map(lambda item: self.put(item[0], item[1], content_type=types.get(item[0])),
                          objects.items()))

    def get_many(self, uris: Iterable[str]) -> list[bytes]:
        """Download many objects concurrently, in the order given."""
        uris = list(uris)
        if not uris:
            return []
        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(self.get, uris))
