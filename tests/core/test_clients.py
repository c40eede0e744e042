"""The one client factory's timestamp parsing: the same instants as botocore's own, faster for ISO 8601."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import botocore.utils
from hypothesis import given, strategies as st

from scones.clients import make_client, parse_timestamp

INSTANTS = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30),
                        timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=14)),
                                                   timezone(timedelta(hours=-9, minutes=-30))]))


@given(INSTANTS)
def test_iso_8601_as_s3_lists_it_is_the_instant_botocore_reads(instant):
    utc = instant.astimezone(timezone.utc)
    for text in (utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z", instant.isoformat()):
        parsed = parse_timestamp(text)
        assert parsed == botocore.utils.parse_timestamp(text)
        assert parsed.utcoffset() is not None


@given(INSTANTS)
def test_what_fromisoformat_does_not_read_goes_to_botocore(instant):
    http_date = format_datetime(instant.astimezone(timezone.utc).replace(microsecond=0), usegmt=True)
    assert parse_timestamp(http_date) == botocore.utils.parse_timestamp(http_date)
    epoch = instant.timestamp()
    assert parse_timestamp(epoch) == botocore.utils.parse_timestamp(epoch)
    naive = instant.replace(tzinfo=None).isoformat()  # no zone: botocore's reading (UTC), not a naive datetime
    assert parse_timestamp(naive) == botocore.utils.parse_timestamp(naive)


def test_every_client_the_factory_makes_parses_with_it(storage, bucket):
    storage.client.put_object(Bucket=bucket, Key="when.png", Body=b"x")
    listed = make_client("s3", endpoint_url=storage.endpoint_url).list_objects_v2(Bucket=bucket)["Contents"][0]
    assert listed["LastModified"].tzinfo is timezone.utc  # fromisoformat's zone; dateutil's would be tzutc()
    head = storage.client.head_object(Bucket=bucket, Key="when.png")["LastModified"]
    assert head == listed["LastModified"].replace(microsecond=0)  # an HTTP date, read by botocore's parser
