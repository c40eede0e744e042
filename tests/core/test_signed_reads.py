"""Signed GETs (the batch's reader) against the real S3 over HTTP: the same bytes as boto3, the same errors."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from scones.backends.local.signed_reads import SignedReader
from scones.storage import NoSuchObject, StorageError

KEY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=40)


# One bucket serves every example: each writes its own key.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=KEY_TEXT, body=st.binary(max_size=3000))
def test_reads_what_boto3_wrote_under_any_key(storage, bucket, name, body):
    key = f"in/{name}"
    storage.client.put_object(Bucket=bucket, Key=key, Body=body)
    assert SignedReader(storage.client).get(bucket, key) == body


def test_a_missing_object_or_bucket_is_the_storage_error_naming_it(storage, bucket):
    reader = SignedReader(storage.client)
    with pytest.raises(NoSuchObject, match=rf"s3://{bucket}/in/missing.png .*NoSuchKey"):
        reader.get(bucket, "in/missing.png")
    with pytest.raises(StorageError, match="NoSuchBucket"):
        reader.get("no-such-bucket-for-reads", "a.png")


def test_the_embedded_s3_keeps_the_connection_alive_between_reads():
    """One TCP connection serves GET after GET (werkzeug's server closed it after every answer)."""
    import http.client

    from scones.backends.local.s3_choice import EmbeddedS3
    from scones.storage import Storage, s3_client

    with EmbeddedS3() as server:
        client = s3_client(server.url)
        Storage(client).ensure_bucket("scones-keep-alive")
        for n in range(3):
            client.put_object(Bucket="scones-keep-alive", Key=f"{n}.png", Body=bytes([n]) * 100)
        reader = SignedReader(client)
        assert [reader.get("scones-keep-alive", f"{n}.png") for n in range(3)] == [bytes([n]) * 100 for n in range(3)]
        connection = reader._connection()
        assert isinstance(connection, http.client.HTTPConnection) and connection.sock is not None
        first_socket = connection.sock
        assert reader.get("scones-keep-alive", "1.png") == bytes([1]) * 100
        assert connection.sock is first_socket  # not reconnected: the server did not close it


def test_an_empty_object_is_written_and_read_through_the_embedded_s3():
    """botocore sends an empty PutObject with ``Expect: 100-continue``: it must be answered, not hang."""
    from botocore.config import Config

    from scones.backends.local.s3_choice import EmbeddedS3
    from scones.clients import LOCAL_CREDENTIALS

    import boto3

    with EmbeddedS3() as server:
        client = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", **LOCAL_CREDENTIALS,
                              config=Config(read_timeout=10, retries={"max_attempts": 1},
                                            s3={"addressing_style": "path"}))
        client.create_bucket(Bucket="scones-empty-object")
        client.put_object(Bucket="scones-empty-object", Key="empty.png", Body=b"")
        assert SignedReader(client).get("scones-empty-object", "empty.png") == b""
        assert client.head_object(Bucket="scones-empty-object", Key="empty.png")["ContentLength"] == 0
