"""``scones monitor`` end to end against the real S3: files written, numbers, exit codes, messages."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from .capture_writing import CLASSES, inference_record, put_capture_file, write_capture_file
from click.testing import CliRunner
from PIL import Image

from scones.monitoring import ALERT_EXIT_CODE, monitor_command
from scones.monitoring.report import FIGURE_FILES

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
FIXTURES = Path(__file__).parent / "fixtures" / "aws"


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


@pytest.fixture
def captures(storage, bucket):
    """Six inferences (three below 0.93), one input-only record, one malformed line, two variants."""
    storage.put(f"s3://{bucket}/classes.json", json.dumps(list(CLASSES)).encode())
    nine = put_capture_file(storage, bucket, minutes(0), [
        inference_record(minutes(1), [0.98, 0.02], seed=1),
        inference_record(minutes(10), [0.3, 0.7], seed=2),
        inference_record(minutes(20), [0.05, 0.95], seed=3),
        '{"captureData": {}}',
        inference_record(minutes(40), [0.5, 0.5], seed=9, capture_output=False),
    ], file_number=1)
    put_capture_file(storage, bucket, minutes(185), [
        inference_record(minutes(185), [0.6, 0.4], seed=4),
        inference_record(minutes(210), [0.01, 0.99], seed=5),
    ], file_number=2)
    put_capture_file(storage, bucket, minutes(0), [inference_record(minutes(15), [0.55, 0.45], seed=6)],
                     variant="Canary", file_number=3)
    return {"storage": storage, "bucket": bucket, "malformed_uri": nine}


def monitor(args, storage=None):
    obj = None if storage is None else {"storage": lambda: storage}
    return CliRunner().invoke(monitor_command, [str(a) for a in args], obj=obj)


def read_summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def test_a_report_from_s3_with_class_names_from_the_bucket(captures, tmp_path):
    out = tmp_path / "report"
    result = monitor(["--bucket", captures["bucket"], "--out", out, "--thumbnails", 2], captures["storage"])
    assert result.exit_code == 0, result.output
    summary = read_summary(out)
    assert summary["source"] == f"s3://{captures['bucket']}/data_capture/scones-endpoint/"
    assert summary["counts"] == {"total": 8, "valid": 6, "malformed": 1, "without_output": 1, "outside_window": 0}
    assert summary["per_class_counts"] == {"bicycle": 3, "motorcycle": 3}  # 0.98 0.6 0.55 / 0.7 0.95 0.99
    assert summary["per_class_below_threshold"] == {"bicycle": 2, "motorcycle": 1}
    assert summary["share_below_threshold"] == 0.5
    assert summary["time_range"] == {"first": "2026-03-01T09:01:00Z", "last": "2026-03-01T12:30:00Z"}
    assert summary["alert"] == {"fail_above": None, "low_confidence_share": 0.5, "triggered": False}
    assert summary["malformed_lines"] == [{"location": captures["malformed_uri"], "line": 4,
                                           "reason": "a record needs 'captureData' and 'eventMetadata' objects"}]
    assert f"{captures['malformed_uri']}:4" in result.output

    html = (out / "report.html").read_text()
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(embedded) == len(FIGURE_FILES) + 2
    for name, data in zip(FIGURE_FILES, embedded):
        assert base64.b64decode(data) == (out / name).read_bytes()
        assert Image.open(out / name).size == (1000, 450)
    assert not re.search(r'(src|href)="(?!data:)', html)  # self-contained
    for text in ("50.0%", "min 0.5500", "max 0.9900", "bicycle", captures["malformed_uri"], "The 2 least confident"):
        assert text in html


def test_fail_above_exits_3_when_exceeded_and_says_so_in_the_summary(captures, tmp_path):
    result = monitor(["--bucket", captures["bucket"], "--out", tmp_path, "--fail-above", 0.4], captures["storage"])
    assert result.exit_code == ALERT_EXIT_CODE == 3
    assert read_summary(tmp_path)["alert"] == {"fail_above": 0.4, "low_confidence_share": 0.5, "triggered": True}
    assert "ALERT: 50.0% of inferences are below 0.93, above --fail-above 0.4" in result.output
    assert "ALERT" in (tmp_path / "report.html").read_text()

    at_limit = monitor(["--bucket", captures["bucket"], "--out", tmp_path, "--fail-above", 0.5], captures["storage"])
    assert at_limit.exit_code == 0, at_limit.output
    assert read_summary(tmp_path)["alert"]["triggered"] is False


def test_a_time_window_skips_far_hours_and_filters_exactly(captures, tmp_path):
    result = monitor(["--bucket", captures["bucket"], "--out", tmp_path, "--since", "2026-03-01T09:10:00Z",
                      "--until", "2026-03-01T10:30"], captures["storage"])
    assert result.exit_code == 0, result.output
    summary = read_summary(tmp_path)
    assert summary["window"] == {"since": "2026-03-01T09:10:00Z", "until": "2026-03-01T10:30:00Z"}
    assert summary["files"] == {"listed": 3, "read": 2, "skipped": 1}  # the 12:00 file is never downloaded
    assert summary["counts"] == {"total": 5, "valid": 3, "malformed": 1, "without_output": 1, "outside_window": 1}
    assert summary["time_range"] == {"first": "2026-03-01T09:10:00Z", "last": "2026-03-01T09:20:00Z"}


def test_one_variant_classes_option_and_bucket_minutes(captures, tmp_path):
    result = monitor(["--bucket", captures["bucket"], "--variant", "Canary", "--classes", "bike,motorbike",
                      "--bucket-minutes", 60, "--out", tmp_path], captures["storage"])
    assert result.exit_code == 0, result.output
    summary = read_summary(tmp_path)
    assert summary["source"] == f"s3://{captures['bucket']}/data_capture/scones-endpoint/Canary/"
    assert summary["per_class_counts"] == {"bike": 1, "motorbike": 0}
    assert (summary["variant"], summary["bucket_minutes"]) == ("Canary", 60)


def test_capture_uri_overrides_bucket_and_endpoint(captures, tmp_path):
    uri = f"s3://{captures['bucket']}/data_capture/scones-endpoint/AllTraffic/2026/03/01/12/"
    result = monitor(["--capture-uri", uri, "--endpoint", "ignored", "--out", tmp_path], captures["storage"])
    assert result.exit_code == 0, result.output
    summary = read_summary(tmp_path)
    assert summary["counts"]["valid"] == 2 and summary["class_names"] == list(CLASSES)  # classes.json of its bucket


def test_a_downloaded_folder_needs_no_storage(tmp_path):
    result = monitor(["--from-dir", FIXTURES, "--classes", "bicycle,motorcycle", "--out", tmp_path,
                      "--fail-above", 0.2])
    assert result.exit_code == 3, result.output
    assert read_summary(tmp_path)["counts"]["valid"] == 10


def test_a_folder_without_class_names_numbers_the_classes(tmp_path):
    result = monitor(["--from-dir", FIXTURES, "--out", tmp_path])
    assert result.exit_code == 0, result.output
    assert read_summary(tmp_path)["per_class_counts"] == {"class_0": 6, "class_1": 4}


def test_no_captures_names_the_prefix_and_the_likely_causes(captures, tmp_path):
    result = monitor(["--bucket", captures["bucket"], "--endpoint", "typo", "--out", tmp_path], captures["storage"])
    assert result.exit_code == 1
    assert f"no capture files (*.jsonl) under s3://{captures['bucket']}/data_capture/typo/" in result.output
    assert "Data Capture enabled" in result.output


def test_a_bad_classes_json_is_named(captures, tmp_path):
    captures["storage"].put(f"s3://{captures['bucket']}/classes.json", b'{"0": "bicycle"}')
    result = monitor(["--bucket", captures["bucket"], "--out", tmp_path], captures["storage"])
    assert result.exit_code == 1
    assert f"s3://{captures['bucket']}/classes.json must be a JSON list of distinct class names" in result.output


def test_without_a_location_it_reads_the_backends_bucket_like_every_command():
    from scones.cli import cli

    result = CliRunner().invoke(cli, ["monitor", "--backend", "memory"])
    assert result.exit_code == 1  # the backend's bucket was used, and it holds no captures
    assert "cannot list s3://scones-unlimited/data_capture/scones-endpoint/" in result.output


@pytest.mark.parametrize(("args", "message"), [
    ([], "say where the captures are: --bucket NAME"),  # run on its own, with no backend to ask
    (["--from-dir", FIXTURES, "--capture-uri", "s3://b/x"], "--from-dir and --capture-uri both"),
    (["--bucket", "b", "--since", "yesterday"], "'yesterday' is not an ISO 8601 time"),
    (["--bucket", "b", "--since", "2026-03-02", "--until", "2026-03-01"], "the time window is empty"),
    (["--bucket", "b", "--classes", "bicycle,,motorcycle"], "distinct, non-empty names"),
    (["--bucket", "b", "--fail-above", "20"], "20.0 is not in the range 0<=x<=1"),
    (["--capture-uri", "bucket/prefix"], "expected an s3://bucket/key URI"),
])
def test_usage_errors_exit_2_and_say_what_to_write(args, message):
    result = monitor(args, storage=object())
    assert result.exit_code == 2
    assert message in result.output


def test_without_a_storage_in_the_context_s3_is_refused_with_the_way_out(tmp_path):
    result = monitor(["--bucket", "b", "--out", tmp_path])
    assert result.exit_code == 1
    assert "run it as `scones monitor`, or read a local folder with --from-dir PATH" in result.output


def test_help_documents_the_exit_codes():
    result = CliRunner().invoke(monitor_command, ["--help"])
    assert result.exit_code == 0
    assert "3  report written, and the share below --threshold exceeds --fail-above" in result.output
    for option in ("--endpoint", "--bucket", "--capture-uri", "--from-dir", "--variant", "--since", "--until",
                   "--threshold", "--classes", "--out", "--thumbnails", "--bucket-minutes", "--fail-above"):
        assert option in result.output


def test_the_storage_is_asked_for_once(captures, tmp_path):
    calls = []
    factory = lambda: calls.append(1) or captures["storage"]  # noqa: E731
    result = CliRunner().invoke(monitor_command, ["--bucket", captures["bucket"], "--out", str(tmp_path)],
                                obj={"storage": factory})
    assert result.exit_code == 0, result.output
    assert calls == [1]


def test_an_empty_window_writes_a_report_without_figures_and_never_alerts(tmp_path):
    monitor(["--from-dir", FIXTURES, "--out", tmp_path])
    assert (tmp_path / FIGURE_FILES[0]).exists()
    result = monitor(["--from-dir", FIXTURES, "--out", tmp_path, "--since", "2026-02-01", "--fail-above", 0])
    assert result.exit_code == 0, result.output
    assert "No inference with an endpointOutput in the window" in result.output
    summary = read_summary(tmp_path)
    assert summary["counts"]["total"] == 0 and summary["files"] == {"listed": 3, "read": 0, "skipped": 3}
    assert summary["alert"] == {"fail_above": 0.0, "low_confidence_share": None, "triggered": False}
    assert not any((tmp_path / name).exists() for name in FIGURE_FILES)  # none left from the first run
    assert "nothing to plot" in (tmp_path / "report.html").read_text()


def test_thumbnails_asked_for_when_no_input_was_captured_say_why(storage, bucket, tmp_path):
    put_capture_file(storage, bucket, T0, [inference_record(minutes(1), [0.4, 0.6], capture_input=False)])
    result = monitor(["--bucket", bucket, "--out", tmp_path, "--thumbnails", 3], storage)
    assert result.exit_code == 0, result.output
    assert "no inference in this window has a captured endpointInput" in (tmp_path / "report.html").read_text()



NESTED_100000 = "[" * 100_000 + "]" * 100_000


def _changed(change):
    """A line maker: the record's line with one field changed by ``change(raw_dict)``."""
    def line(record) -> str:
        raw = json.loads(record.to_line())
        change(raw)
        return json.dumps(raw)
    return line


def _time(text):
    return _changed(lambda raw: raw["eventMetadata"].__setitem__("inferenceTime", text))


def _output(data):
    return _changed(lambda raw: raw["captureData"]["endpointOutput"].update({"data": data, "encoding": "JSON"}))


def _deep_record(record) -> str:
    return record.to_line().rstrip()[:-1] + ', "extra": ' + NESTED_100000 + "}"


HOSTILE_LINES = {
    "0001-01-01T00:00:00+14:00": (_time("0001-01-01T00:00:00+14:00"),
                                  "inferenceTime '0001-01-01T00:00:00+14:00' is outside the years 1 to 9999 in UTC"),
    "9999-12-31T23:59:59Z": (_time("9999-12-31T23:59:59Z"),
                             "inferenceTime 9999-12-31T23:59:59Z is outside 1970-01-01T00:00:00Z to "),
    "1969-12-31T23:59:59Z": (_time("1969-12-31T23:59:59Z"),
                             "inferenceTime 1969-12-31T23:59:59Z is outside 1970-01-01T00:00:00Z to "),
    "100,000-deep data": (_output(NESTED_100000),
                          "endpointOutput.data nests deeper than 256 levels; it must be one flat list of probabilities"),
    "100,000-deep record": (_deep_record, "nests deeper than 256 levels; no capture record does"),
    "[2.5, -1.5]": (_output("[2.5, -1.5]"), "endpointOutput: 2.5 is not a probability (between 0 and 1)"),
}


@pytest.mark.parametrize("case", HOSTILE_LINES)
def test_a_hostile_line_is_reported_with_its_file_and_line_and_the_report_is_still_written(tmp_path, case):
    make_line, reason = HOSTILE_LINES[case]
    good = inference_record(minutes(1), [0.97, 0.03], seed=1)
    path = write_capture_file(tmp_path / "download", T0, [good, make_line(good)])
    out = tmp_path / "report"
    result = monitor(["--from-dir", tmp_path / "download", "--classes", "bicycle,motorcycle", "--out", out])
    assert result.exit_code == 0, result.output
    summary = read_summary(out)
    assert summary["counts"] == {"total": 2, "valid": 1, "malformed": 1, "without_output": 0, "outside_window": 0}
    [malformed] = summary["malformed_lines"]
    assert (malformed["location"], malformed["line"]) == (str(path), 2) and malformed["reason"].startswith(reason)
    assert f"{path}:2: {reason}" in result.output
    assert (out / "report.html").exists() and all((out / name).exists() for name in FIGURE_FILES)
