"""Reading captures from the real S3 (written through scones.capture) and from local folders."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from .capture_writing import inference_record, put_capture_file, write_capture_file
from hypothesis import given
from hypothesis import strategies as st

from scones.bucket_layout import endpoint_captures_uri
from scones.monitoring.reading import (
    CaptureFile,
    DirectoryCaptures,
    LocatedRecord,
    MalformedLine,
    NoCapturesFound,
    ReadStats,
    StorageCaptures,
    TimeWindow,
    read_records,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
READ_AT = T0 + timedelta(days=30)  # when the tests read the captures: after every one of them


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


def test_a_capture_key_gives_its_variant_and_hour():
    found = CaptureFile.at("s3://b/data_capture/ep/AllTraffic/2026/03/01/09/05-12-345-abc.jsonl")
    assert (found.variant, found.hour) == ("AllTraffic", datetime(2026, 3, 1, 9, tzinfo=timezone.utc))
    windows = CaptureFile.at(r"C:\captures\ep\Canary\2026\12\31\23\00-00-000-x.jsonl")
    assert (windows.variant, windows.hour) == ("Canary", datetime(2026, 12, 31, 23, tzinfo=timezone.utc))
    for elsewhere in ("/tmp/captures.jsonl", "s3://b/ep/AllTraffic/2026/13/01/09/x.jsonl"):
        assert CaptureFile.at(elsewhere) == CaptureFile(elsewhere)


def test_endpoint_captures_uri():
    assert endpoint_captures_uri("bucket", "scones-endpoint") == "s3://bucket/data_capture/scones-endpoint/"


def test_records_written_by_the_local_endpoint_read_back_from_s3(storage, bucket):
    first = inference_record(minutes(1), [0.97, 0.03], seed=1)
    second = inference_record(minutes(2), [0.2, 0.8], seed=2)
    uri = put_capture_file(storage, bucket, T0, [first, "{not json", "", second])
    source = StorageCaptures(storage, endpoint_captures_uri(bucket, "scones-endpoint"))
    items = list(read_records(source, now=READ_AT))
    assert items[0] == LocatedRecord(uri, 1, first)
    assert isinstance(items[1], MalformedLine) and (items[1].location, items[1].line_number) == (uri, 2)
    assert items[1].reason.startswith("not JSON")
    assert items[2] == LocatedRecord(uri, 4, second)  # the blank line 3 is no record
    assert len(items) == 3


def test_window_filters_records_exactly_and_skips_files_of_far_hours(storage, bucket):
    put_capture_file(storage, bucket, minutes(0), [inference_record(minutes(m), [0.9, 0.1], seed=m)
                                                   for m in (0, 29, 30, 59)], file_number=1)
    put_capture_file(storage, bucket, minutes(60), [inference_record(minutes(61), [0.9, 0.1])], file_number=2)
    # Were this file read, its line would come out as a MalformedLine and fail `.record` below.
    put_capture_file(storage, bucket, minutes(60 * 5), ["this file is never downloaded"], file_number=3)
    stats = ReadStats()
    window = TimeWindow(minutes(29), minutes(59))
    source = StorageCaptures(storage, endpoint_captures_uri(bucket, "scones-endpoint"))
    times = [item.record.inference_time for item in read_records(source, window=window, stats=stats, now=READ_AT)]
    assert times == [minutes(29), minutes(30)]
    assert (stats.files_listed, stats.files_read, stats.files_skipped) == (3, 2, 1)
    assert stats.records_outside_window == 3


def test_files_of_other_variants_are_skipped(storage, bucket):
    put_capture_file(storage, bucket, T0, [inference_record(minutes(1), [0.9, 0.1])], variant="AllTraffic")
    put_capture_file(storage, bucket, T0, [inference_record(minutes(2), [0.9, 0.1])], variant="Canary")
    source = StorageCaptures(storage, endpoint_captures_uri(bucket, "scones-endpoint"))
    stats = ReadStats()
    records = list(read_records(source, variant="Canary", stats=stats, now=READ_AT))
    assert [r.record.inference_time for r in records] == [minutes(2)]
    assert stats.variants_seen == {"AllTraffic", "Canary"}
    with pytest.raises(NoCapturesFound, match="no capture files of variant 'Shadow'.*AllTraffic, Canary"):
        list(read_records(source, variant="Shadow", now=READ_AT))


def test_no_captures_names_the_uri_and_what_to_check(storage, bucket):
    source = StorageCaptures(storage, endpoint_captures_uri(bucket, "wrong-endpoint"))
    with pytest.raises(NoCapturesFound) as raised:
        list(read_records(source, now=READ_AT))
    message = str(raised.value)
    assert f"s3://{bucket}/data_capture/wrong-endpoint/" in message
    assert "--endpoint" in message and "Data Capture enabled" in message


def test_a_local_folder_is_read_recursively_in_path_order(tmp_path):
    write_capture_file(tmp_path / "download", minutes(0), [inference_record(minutes(1), [0.9, 0.1])])
    loose = tmp_path / "download" / "notes" / "extra.jsonl"  # not in the SageMaker layout: still read
    loose.parent.mkdir(parents=True)
    loose.write_bytes(inference_record(minutes(2), [0.1, 0.9]).to_line().encode() + b"\xff\xfe\n")
    (tmp_path / "download" / "readme.txt").write_text("not a capture")
    items = list(read_records(DirectoryCaptures(tmp_path / "download"), now=READ_AT))
    assert [type(item) for item in items] == [LocatedRecord, LocatedRecord, MalformedLine]
    assert items[2] == MalformedLine(str(loose), 2, "not UTF-8 text (byte 0)")


def test_an_empty_folder_says_so(tmp_path):
    with pytest.raises(NoCapturesFound, match=f"no capture files .* under {tmp_path}"):
        list(read_records(DirectoryCaptures(tmp_path), now=READ_AT))


def test_a_window_must_be_aware_and_not_empty():
    with pytest.raises(ValueError, match="no time zone"):
        TimeWindow(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="is not before"):
        TimeWindow(minutes(5), minutes(5))


@given(hour_offset=st.integers(-48, 48), record_seconds=st.integers(0, 3599 + 600),
       before=st.integers(0, 7200), after=st.integers(1, 7200))
def test_a_file_is_never_skipped_when_it_holds_a_record_in_the_window(hour_offset, record_seconds, before, after):
    """A file opened in hour H holds records from H to a few minutes past H+1h."""
    hour = T0 + timedelta(hours=hour_offset)
    record = hour + timedelta(seconds=record_seconds)
    window = TimeWindow(record - timedelta(seconds=before), record + timedelta(seconds=after))
    assert window.contains(record)
    assert window.may_hold_file_of_hour(hour)


def test_a_record_is_read_only_inside_the_capture_era_of_now(tmp_path):
    """From the Unix epoch to a day past the reader's now: later or earlier times are corrupt, not captures."""
    now = datetime(2026, 3, 2, tzinfo=timezone.utc)
    inside, edge = inference_record(minutes(1), [0.97, 0.03]), inference_record(now + timedelta(days=1), [0.5, 0.5])
    future = inference_record(now + timedelta(days=1, seconds=1), [0.5, 0.5])
    path = write_capture_file(tmp_path, T0, [inside, edge, future])
    items = list(read_records(DirectoryCaptures(tmp_path), now=now))
    assert [item.record for item in items[:2]] == [inside, edge]
    assert items[2] == MalformedLine(str(path), 3, "inferenceTime 2026-03-03T00:00:01Z is outside "
                                                   "1970-01-01T00:00:00Z to 2026-03-03T00:00:00Z: no capture was made then")
