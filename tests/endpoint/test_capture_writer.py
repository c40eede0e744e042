"""The capture writer: when it flushes, where files go, and that no record is lost or written twice."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner
from .endpoint_support import FakeClock, FlakyStorage

from scones.backends.local.capture_spool import CaptureSpool

from scones.backends.local.capture_writer import (
    CaptureWriteError,
    CaptureWriter,
    FlushPolicy,
    RetryPolicy,
    backoff_seconds,
    flush_due_at,
    split_into_files,
)
from scones.bucket_layout import capture_prefix
from scones.capture import CaptureConfig, build_record
from scones.monitoring.command import monitor_command

START = datetime(2026, 1, 15, 10, 59, 58, 500000, tzinfo=timezone.utc)
CONFIG = CaptureConfig("s3://unused/data_capture")


def record(number: int):
    return build_record(config=CONFIG, event_id=str(uuid.UUID(int=number)), inference_time=START,
                        request_body=b"\x89PNG" + number.to_bytes(4, "big"), request_content_type="image/png",
                        response_body=b"[0.5, 0.5]", response_content_type="application/json")


def stored_event_ids(storage, prefix) -> list[str]:
    return [json.loads(line)["eventMetadata"]["eventId"]
            for data in storage.get_many(item.uri for item in storage.list(str(prefix)))
            for line in data.decode().splitlines()]


@pytest.fixture
def prefix(bucket):
    return capture_prefix(f"s3://{bucket}/data_capture", "scones-endpoint", "AllTraffic")


# ------------------------------------------------------------------------- policy

def test_a_flush_is_due_at_the_size_limit_at_once_else_when_the_oldest_wait_reaches_the_age_limit():
    policy = FlushPolicy(max_records=10, max_bytes=1000, max_age_seconds=5)
    assert flush_due_at(0, 0, None, policy) is None
    assert flush_due_at(3, 100, START, policy) == START + timedelta(seconds=5)
    assert flush_due_at(10, 100, START, policy) == START
    assert flush_due_at(3, 1000, START, policy) == START


def test_files_are_cut_by_record_count_and_by_bytes_and_a_huge_line_goes_alone():
    lines = ["a" * 10 + "\n"] * 5  # 11 bytes each
    assert [len(f) for f in split_into_files(lines, FlushPolicy(max_records=2, max_bytes=1000))] == [2, 2, 1]
    assert [len(f) for f in split_into_files(lines, FlushPolicy(max_records=100, max_bytes=30))] == [2, 2, 1]
    assert split_into_files(["x" * 50], FlushPolicy(max_bytes=30)) == [["x" * 50]]


def test_backoff_doubles_from_the_first_wait():
    policy = RetryPolicy(attempts=4, first_backoff_seconds=0.2, multiplier=2)
    assert [backoff_seconds(n, policy) for n in (1, 2, 3)] == [0.2, 0.4, 0.8]


# --------------------------------------------------------------------- flushing

def test_time_flushes_happen_when_the_injected_clock_passes_the_age_limit(storage, prefix):
    clock = FakeClock(START)
    counting = FlakyStorage(storage)
    writer = CaptureWriter(counting, prefix, policy=FlushPolicy(max_age_seconds=5), clock=clock,
                           new_file_id=lambda: "00000000-0000-4000-8000-000000000001")
    writer.add(record(1))
    clock.advance(5)  # 11:00:03.500
    assert counting.wait_for_stored(1)
    assert [item.uri for item in storage.list(str(prefix))] == [
        f"{prefix}/2026/01/15/11/00-03-500-00000000-0000-4000-8000-000000000001.jsonl"]
    writer.close()
    assert stored_event_ids(storage, prefix) == [str(uuid.UUID(int=1))]


def test_size_flushes_write_a_file_whenever_max_records_wait(storage, prefix):
    counting = FlakyStorage(storage)
    writer = CaptureWriter(counting, prefix, policy=FlushPolicy(max_records=3, max_age_seconds=3600),
                           clock=FakeClock(START))
    for file_number in (1, 2):
        for number in range(3):
            writer.add(record(file_number * 10 + number))
        assert counting.wait_for_stored(file_number)  # written by the background thread
    writer.add(record(99))  # below the limit: waits for close
    writer.close()
    files = [data.decode().splitlines() for data in storage.get_many(i.uri for i in storage.list(str(prefix)))]
    assert sorted(len(lines) for lines in files) == [1, 3, 3]
    assert sorted(stored_event_ids(storage, prefix)) == sorted(
        str(uuid.UUID(int=n)) for n in (10, 11, 12, 20, 21, 22, 99))
    assert writer.stats().files_written == 3 and writer.stats().records_written == 7


def test_a_byte_limit_flushes_too(storage, prefix):
    line_bytes = len(record(0).to_line().encode())
    counting = FlakyStorage(storage)
    writer = CaptureWriter(counting, prefix, policy=FlushPolicy(max_bytes=2 * line_bytes, max_age_seconds=3600),
                           clock=FakeClock(START))
    writer.add(record(0))
    writer.add(record(1))
    assert counting.wait_for_stored(1)
    writer.close()
    assert len(stored_event_ids(storage, prefix)) == 2


def test_concurrent_adds_lose_nothing_and_write_nothing_twice(storage, prefix):
    writer = CaptureWriter(storage, prefix, policy=FlushPolicy(max_records=40, max_age_seconds=3600),
                           clock=FakeClock(START))
    threads = [threading.Thread(target=lambda t=t: [writer.add(record(t * 1000 + n)) for n in range(100)])
               for t in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    ids = stored_event_ids(storage, prefix)
    assert len(ids) == 1600 and len(set(ids)) == 1600
    assert writer.stats().records_added == writer.stats().records_written == 1600


# ---------------------------------------------------------------------- failures

def test_a_failed_write_is_retried_with_backoff_through_the_clock(storage, prefix):
    clock = FakeClock(START)
    flaky = FlakyStorage(storage, failing_puts=2)
    writer = CaptureWriter(flaky, prefix, retry=RetryPolicy(attempts=3, first_backoff_seconds=0.2), clock=clock)
    for number in range(5):
        writer.add(record(number))
    assert writer.flush() == 5
    assert clock.sleeps == [0.2, 0.4]
    assert writer.failures == 2 and flaky.put_attempts == 3
    writer.close()
    assert sorted(stored_event_ids(storage, prefix)) == [str(uuid.UUID(int=n)) for n in range(5)]


def test_a_file_that_fails_every_try_is_kept_and_retried_under_its_own_key_at_the_next_flush(storage, prefix):
    clock = FakeClock(START)
    flaky = FlakyStorage(storage, failing_puts=4)
    ids = iter(f"00000000-0000-4000-8000-00000000000{n}" for n in range(1, 9))
    writer = CaptureWriter(flaky, prefix, retry=RetryPolicy(attempts=3, first_backoff_seconds=1), clock=clock,
                           new_file_id=lambda: next(ids))
    writer.add(record(1))
    writer.add(record(2))
    assert writer.flush() == 0  # three tries at 10:59:58.500, backing off 1 s and 2 s: all failed
    assert writer.stats().records_unwritten == 2 and writer.failures == 3
    assert writer.stats().last_error == "ConnectionError: simulated S3 outage (put 3 of " \
        f"{prefix}/2026/01/15/10/59-58-500-00000000-0000-4000-8000-000000000001.jsonl)"
    writer.add(record(3))
    assert writer.flush() == 3  # the kept file (fourth try fails, fifth succeeds), then a new one
    writer.close()
    assert [item.uri.rsplit("/", 2)[-2:] for item in storage.list(str(prefix))] == [
        ["10", "59-58-500-00000000-0000-4000-8000-000000000001.jsonl"],
        ["11", "00-01-500-00000000-0000-4000-8000-000000000002.jsonl"],  # cut as the flush began
    ]
    assert sorted(stored_event_ids(storage, prefix)) == [str(uuid.UUID(int=n)) for n in (1, 2, 3)]
    assert writer.failures == 4 and clock.sleeps == [1, 2, 1]


def test_records_that_cannot_be_written_are_reported_on_close(storage, prefix):
    writer = CaptureWriter(FlakyStorage(storage, failing_puts=100), prefix,
                           retry=RetryPolicy(attempts=2, first_backoff_seconds=0), clock=FakeClock(START),
                           new_file_id=lambda: "00000000-0000-4000-8000-000000000009")
    writer.add(record(1))
    with pytest.raises(CaptureWriteError) as caught:
        writer.close()
    assert str(caught.value) == (
        f"1 capture record(s) in 1 file(s) could not be written under {prefix} (2 failed attempts; last: "
        f"ConnectionError: simulated S3 outage (put 2 of {prefix}/2026/01/15/10/59-58-500-"
        "00000000-0000-4000-8000-000000000009.jsonl)); first file: "
        f"{prefix}/2026/01/15/10/59-58-500-00000000-0000-4000-8000-000000000009.jsonl. "
        "Check that the bucket exists and S3 answers")
    assert writer.failures == 2


# -------------------------------------------------------------------------- spool

def spool_for(root, prefix, name="00000000-0000-4000-8000-0000000000aa"):
    return CaptureSpool(root, prefix, new_id=lambda: name)


def test_a_record_is_on_local_disk_from_the_moment_it_is_buffered(storage, prefix, tmp_path):
    writer = CaptureWriter(storage, prefix, clock=FakeClock(START), spool=spool_for(tmp_path, prefix))
    writer.add(record(1))
    journal = tmp_path / prefix.bucket / prefix.key / "00000000-0000-4000-8000-0000000000aa.jsonl"
    assert journal.read_text() == record(1).to_line()
    writer.close()
    assert not journal.exists()  # in S3 now, so gone from the spool
    assert stored_event_ids(storage, prefix) == [str(uuid.UUID(int=1))]


def test_records_s3_refuses_at_shutdown_stay_in_the_spool_named_and_the_next_start_writes_them(
        storage, prefix, tmp_path):
    down = FlakyStorage(storage, failing_puts=10**6)
    writer = CaptureWriter(down, prefix, policy=FlushPolicy(max_records=1000, max_age_seconds=3600),
                           retry=RetryPolicy(attempts=1), clock=FakeClock(START), spool=spool_for(tmp_path, prefix))
    for number in range(100):
        writer.add(record(number))
    with pytest.raises(CaptureWriteError) as caught:
        writer.close()
    journal = tmp_path / prefix.bucket / prefix.key / "00000000-0000-4000-8000-0000000000aa.jsonl"
    assert f"They are kept on disk in {journal}: the endpoint's next start writes them to S3" in str(caught.value)
    assert journal.read_text() == "".join(record(number).to_line() for number in range(100))
    assert list(storage.list(str(prefix))) == []

    restarted = CaptureWriter(storage, prefix, clock=FakeClock(START), spool=spool_for(tmp_path, prefix, "other"))
    restarted.flush()
    restarted.close()
    assert sorted(stored_event_ids(storage, prefix)) == sorted(str(uuid.UUID(int=n)) for n in range(100))
    assert not journal.exists()


def test_monitor_from_dir_reads_the_spooled_records(storage, prefix, tmp_path):
    writer = CaptureWriter(FlakyStorage(storage, failing_puts=10**6), prefix, retry=RetryPolicy(attempts=1),
                           clock=FakeClock(START), spool=spool_for(tmp_path, prefix))
    for number in range(3):
        writer.add(record(number))
    with pytest.raises(CaptureWriteError):
        writer.close()
    result = CliRunner().invoke(monitor_command, ["--from-dir", str(tmp_path), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "3 record(s): 3 inference(s), 0 malformed" in result.output


def test_a_journal_another_live_writer_holds_is_not_taken_and_a_torn_last_line_is_left_out(storage, prefix, tmp_path):
    live = CaptureWriter(FlakyStorage(storage, failing_puts=10**6), prefix, retry=RetryPolicy(attempts=1),
                         clock=FakeClock(START), spool=spool_for(tmp_path, prefix, "live"))
    live.add(record(1))
    torn = tmp_path / prefix.bucket / prefix.key / "torn.jsonl"
    torn.write_text(record(2).to_line() + record(3).to_line()[:20])
    other = CaptureWriter(storage, prefix, clock=FakeClock(START), spool=spool_for(tmp_path, prefix, "other"))
    other.flush()
    other.close()
    assert stored_event_ids(storage, prefix) == [str(uuid.UUID(int=2))]
    assert (tmp_path / prefix.bucket / prefix.key / "live.jsonl").exists() and not torn.exists()
    with pytest.raises(CaptureWriteError):
        live.close()
