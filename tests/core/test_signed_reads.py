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
