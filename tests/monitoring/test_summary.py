"""The pure parts: rows from records, summary numbers, alert, and time buckets (with Hypothesis)."""

from __future__ import annotations

import base64
import statistics
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from .capture_writing import inference_record
from hypothesis import given, settings
from hypothesis import strategies as st

from scones.capture import CapturedPayload
from scones.monitoring.buckets import (
    MAX_BUCKETS,
    NICE_BUCKET_MINUTES,
    bucket_count,
    check_bucket_minutes,
    choose_bucket_seconds,
    count_per_bucket,
    describe_bucket,
    target_buckets,
)
from scones.monitoring.reading import LocatedRecord, MalformedLine
from scones.monitoring.rows import OutputFormatError, inference_row
from scones.monitoring.summary import (
    Counts,
    InferenceColumns,
    MalformedLog,
    evaluate_alert,
    resolve_class_names,
    summarize,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
EPOCH_2026 = T0.timestamp()


def located(record) -> LocatedRecord:
    return LocatedRecord("s3://b/k.jsonl", 7, record)


def test_a_row_has_time_class_confidence_probabilities_and_the_threshold_decision():
    row = inference_row(located(inference_record(T0, [0.07, 0.93])), class_names=("bicycle", "motorcycle"),
                        threshold=0.93)
    assert (row.inference_time, row.class_id, row.class_name, row.confidence) == (T0, 1, "motorcycle", 0.93)
    assert row.probabilities == (0.07, 0.93) and row.meets_threshold  # >= passes, as in the filter Lambda
    assert (row.location, row.line_number) == ("s3://b/k.jsonl", 7)
    unnamed = inference_row(located(inference_record(T0, [0.1, 0.2, 0.7])), class_names=None, threshold=0.93)
    assert (unnamed.class_name, unnamed.meets_threshold) == ("class_2", False)


@pytest.mark.parametrize(("data", "encoding", "reason"), [
    ("[0.5]", "JSON", "1 probabilities but 2 class names (bicycle, motorcycle); pass --classes"),
    ('{"predictions": [0.9, 0.1]}', "JSON", "endpointOutput: inferences must be a non-empty list"),
    ("[0.9, NaN]", "JSON", "endpointOutput: inferences must be finite numbers"),
    ("not base64!", "BASE64", "endpointOutput.data is not valid BASE64"),
    (base64.b64encode(b"\xff\xfe").decode(), "BASE64", "endpointOutput.data does not decode to UTF-8"),
])
def test_an_output_that_is_no_probability_list_says_why(data, encoding, reason):
    record = inference_record(T0, [0.9, 0.1])
    bad = record.__class__(**{**record.__dict__, "endpoint_output": CapturedPayload(
        "application/json", "OUTPUT", data, encoding)})
    with pytest.raises(OutputFormatError, match="^" + reason.replace("(", r"\(").replace(")", r"\)")):
        inference_row(located(bad), class_names=("bicycle", "motorcycle"), threshold=0.93)


def columns_of(rows) -> InferenceColumns:
    columns = InferenceColumns()
    for seconds, probabilities in rows:
        record = inference_record(T0 + timedelta(seconds=seconds), probabilities)
        columns.append(inference_row(located(record), class_names=None, threshold=0.93))
    return columns


def summary_of(columns, *, malformed=0, without_output=0, fail_above=None):
    log = MalformedLog(limit=3)
    for number in range(malformed):
        log.add(MalformedLine("f.jsonl", number + 1, "bad"))
    names = resolve_class_names(None, columns.class_ids)
    return summarize(columns, class_names=names, threshold=0.93,
                     counts=Counts(len(columns), log.count, without_output, 0), malformed=log,
                     fail_above=fail_above, bucket_seconds=300, source="src", window={}, variant=None, files={})


def test_summary_numbers_for_known_inputs():
    rows = [(0, [0.99, 0.01]), (60, [0.2, 0.8]), (120, [0.05, 0.95]), (180, [0.6, 0.4]), (240, [0.93, 0.07])]
    summary = summary_of(columns_of(rows), malformed=5, without_output=2, fail_above=0.3).to_json()
    tops = [0.99, 0.8, 0.95, 0.6, 0.93]
    cuts = statistics.quantiles(tops, n=100, method="inclusive")
    assert summary["counts"] == {"total": 12, "valid": 5, "malformed": 5, "without_output": 2, "outside_window": 0}
    assert summary["per_class_counts"] == {"class_0": 3, "class_1": 2}
    assert summary["per_class_below_threshold"] == {"class_0": 1, "class_1": 1}
    assert summary["share_below_threshold"] == 0.4
    assert summary["confidence_quantiles"] == pytest.approx(
        {"min": 0.6, "p5": cuts[4], "p25": cuts[24], "p50": 0.93, "p75": cuts[74], "p95": cuts[94], "max": 0.99})
    assert summary["time_range"] == {"first": "2026-03-01T09:00:00Z", "last": "2026-03-01T09:04:00Z"}
    assert summary["alert"] == {"fail_above": 0.3, "low_confidence_share": 0.4, "triggered": True}
    assert len(summary["malformed_lines"]) == 3  # listed up to the limit, all counted
    assert summary["bucket_minutes"] == 5


def test_no_inferences_gives_no_share_and_no_alert():
    summary = summary_of(InferenceColumns(), malformed=1, fail_above=0.0)
    assert (summary.share_below_threshold, summary.confidence_quantiles) == (None, None)
    assert summary.alert.triggered is False
    assert summary.class_names == ()


@pytest.mark.parametrize(("share", "fail_above", "triggered"), [
    (0.2, 0.2, False), (0.2000001, 0.2, True), (0.0, None, False), (None, 0.1, False), (1.0, 0.0, True)])
def test_the_alert_triggers_only_strictly_above(share, fail_above, triggered):
    assert evaluate_alert(share, fail_above).triggered is triggered


rows_strategy = st.lists(
    st.tuples(st.integers(0, 10 * 86400),
              st.floats(0.0, 1.0, allow_nan=False).map(lambda first: [first, 1.0 - first])),
    max_size=60)


@settings(max_examples=60, deadline=None)
@given(rows=rows_strategy, malformed=st.integers(0, 5), without_output=st.integers(0, 5),
       fail_above=st.none() | st.floats(0.0, 1.0))
def test_summary_invariants(rows, malformed, without_output, fail_above):
    columns = columns_of(rows)
    summary = summary_of(columns, malformed=malformed, without_output=without_output, fail_above=fail_above)
    counts = summary.counts
    assert counts.total == counts.valid + counts.malformed + counts.without_output
    assert counts.valid == len(rows)
    assert sum(summary.per_class_counts.values()) == len(rows)
    below = sum(summary.per_class_below_threshold.values())
    assert below == sum(max(p) < 0.93 for _, p in rows)
    for name, count in summary.per_class_counts.items():
        assert 0 <= summary.per_class_below_threshold[name] <= count
    if rows:
        assert summary.share_below_threshold == pytest.approx(below / len(rows))
        quantiles = list(summary.confidence_quantiles.values())
        assert quantiles == sorted(quantiles)
        assert (quantiles[0], quantiles[-1]) == (min(max(p) for _, p in rows), max(max(p) for _, p in rows))
        assert summary.alert.triggered == (fail_above is not None and below / len(rows) > fail_above)


times_strategy = st.lists(st.floats(EPOCH_2026, EPOCH_2026 + 30 * 86400, allow_nan=False), min_size=1, max_size=80)


@settings(max_examples=80, deadline=None)
@given(times=times_strategy, data=st.data(), bucket_minutes=st.sampled_from(NICE_BUCKET_MINUTES))
def test_every_inference_lands_in_exactly_the_bucket_that_contains_its_time(times, data, bucket_minutes):
    n = len(times)
    class_ids = np.array(data.draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int16)
    meets = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    times = np.array(times)
    width = bucket_minutes * 60
    buckets = count_per_bucket(times, class_ids, meets, 3, width)
    assert np.all(np.diff(buckets.starts) == width) and np.all(buckets.starts % width == 0)
    assert buckets.starts[0] <= times.min() < buckets.starts[0] + width
    assert buckets.starts[-1] <= times.max() < buckets.starts[-1] + width
    assert buckets.per_class.sum() == n and buckets.below_threshold.sum() == np.count_nonzero(~meets)
    for t in times:
        index = int(np.searchsorted(buckets.starts, t, side="right")) - 1
        assert buckets.starts[index] <= t < buckets.starts[index] + width
    for b in range(buckets.starts.size):
        inside = (times >= buckets.starts[b]) & (times < buckets.starts[b] + width)
        assert list(buckets.per_class[b]) == [np.count_nonzero(inside & (class_ids == k)) for k in range(3)]
        assert buckets.below_threshold[b] == np.count_nonzero(inside & ~meets)
    shares = buckets.below_threshold_share()
    assert np.all(np.isnan(shares) == (buckets.totals == 0))


@given(first=st.floats(EPOCH_2026, EPOCH_2026 + 86400), span=st.floats(0, 5 * 365 * 86400),
       inferences=st.integers(1, 10**7))
def test_the_chosen_bucket_is_the_smallest_nice_width_within_the_target(first, span, inferences):
    last = first + span
    chosen = choose_bucket_seconds(first, last, inferences)
    target = target_buckets(inferences)
    assert bucket_count(first, last, chosen) <= target
    smaller = [m * 60 for m in NICE_BUCKET_MINUTES if m * 60 < chosen]
    assert all(bucket_count(first, last, width) > target for width in smaller)


def test_bucket_names_and_refused_widths():
    assert [describe_bucket(m * 60) for m in (5, 90, 120, 1440, 10080)] == ["5 min", "90 min", "2 h", "1 day",
                                                                           "7 days"]
    assert check_bucket_minutes(EPOCH_2026, EPOCH_2026 + 3600, 5) == 300
    year = 365 * 86400
    with pytest.raises(ValueError, match=r"--bucket-minutes 1 splits the 365.0 days .* use --bucket-minutes 106"):
        check_bucket_minutes(EPOCH_2026, EPOCH_2026 + year, 1)
    assert bucket_count(EPOCH_2026, EPOCH_2026 + year, 106 * 60) <= MAX_BUCKETS
