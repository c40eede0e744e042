"""SageMaker Data Capture records, configuration and key layout."""

import base64
import json
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones.capture import (
    CaptureConfig,
    CaptureFormatError,
    build_record,
    encoding_for,
    is_sampled,
    parse_record,
)

CONFIG = CaptureConfig("s3://scones/data_capture", sampling_percentage=100)
WHEN = datetime(2026, 11, 23, 19, 30, 5, 123456, tzinfo=timezone.utc)


def test_record_is_exactly_what_sagemaker_writes():
    record = build_record(config=CONFIG, event_id="e-1", inference_time=WHEN,
                          request_body=b"\x89PNG", request_content_type="image/png",
                          response_body=b"[0.97, 0.03]", response_content_type="application/json")
    assert json.loads(record.to_line()) == {
        "captureData": {
            "endpointInput": {"observedContentType": "image/png", "mode": "INPUT",
                              "data": base64.b64encode(b"\x89PNG").decode(), "encoding": "BASE64"},
            "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                               "data": "[0.97, 0.03]", "encoding": "JSON"},
        },
        "eventMetadata": {"eventId": "e-1", "inferenceTime": "2026-11-23T19:30:05Z"},
        "eventVersion": "0",
    }
    assert record.to_line().endswith("}\n") and record.to_line().count("\n") == 1


def test_output_only_capture():
    config = CaptureConfig("s3://b/dc", capture_input=False)
    record = build_record(config=config, event_id="e", inference_time=WHEN, request_body=b"x",
                          request_content_type="image/png", response_body=b"[1]",
                          response_content_type="application/json")
    assert list(record.to_json()["captureData"]) == ["endpointOutput"]


@pytest.mark.parametrize("content_type,encoding", [
    ("application/json", "JSON"), ("application/json; charset=utf-8", "JSON"), ("text/csv", "CSV"),
    ("image/png", "BASE64"), ("application/x-image", "BASE64"),
])
def test_encoding_rules(content_type, encoding):
    assert encoding_for(content_type, CONFIG) == encoding


def test_api_round_trip_and_shape():
    config = CaptureConfig("s3://b/dc", sampling_percentage=20, capture_input=False)
    assert config.to_api() == {
        "EnableCapture": True, "InitialSamplingPercentage": 20, "DestinationS3Uri": "s3://b/dc",
        "CaptureOptions": [{"CaptureMode": "Output"}],
        "CaptureContentTypeHeader": {"JsonContentTypes": ["application/json"], "CsvContentTypes": ["text/csv"]},
    }
    assert CaptureConfig.from_api(config.to_api()) == config


@pytest.mark.parametrize("percentage", [-1, 101, 2.5])
def test_bad_sampling_percentage(percentage):
    with pytest.raises(ValueError, match="sampling percentage must be a whole number from 0 to 100"):
        CaptureConfig("s3://b/dc", sampling_percentage=percentage)


times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 1, 1),
                     timezones=st.just(timezone.utc)).map(lambda t: t.replace(microsecond=0))


@given(st.binary(max_size=64), st.lists(st.floats(0, 1), max_size=4), times, st.uuids())
def test_build_parse_round_trip(body, probs, when, event_id):
    record = build_record(config=CONFIG, event_id=str(event_id), inference_time=when, request_body=body,
                          request_content_type="image/png", response_body=json.dumps(probs).encode(),
                          response_content_type="application/json")
    parsed = parse_record(record.to_line())
    assert parsed == record
    assert parsed.endpoint_input.body() == body
    assert json.loads(parsed.endpoint_output.body()) == probs


def test_parse_accepts_fractional_and_offset_times():
    line = json.dumps({"captureData": {}, "eventMetadata": {"eventId": "x", "inferenceTime": "2026-01-02T03:04:05.678+01:00"}})
    assert parse_record(line).inference_time == datetime(2026, 1, 2, 2, 4, 5, 678000, tzinfo=timezone.utc)


@pytest.mark.parametrize("line,message", [
    ("{oops", "not JSON"),
    ("[]", "a record must be a JSON object"),
    ('{"captureData": {}}', "a record needs 'captureData' and 'eventMetadata' objects"),
    ('{"captureData": {}, "eventMetadata": {}}', "eventMetadata has no 'inferenceTime'"),
    ('{"captureData": {}, "eventMetadata": {"inferenceTime": "yesterday"}}', "inferenceTime 'yesterday' is not an ISO 8601 time"),
    ('{"captureData": {"endpointOutput": {"mode": "OUTPUT"}}, "eventMetadata": {"inferenceTime": "2026-01-01T00:00:00Z"}}',
     "captureData.endpointOutput has no 'observedContentType'"),
    ('{"captureData": {"endpointOutput": {"observedContentType": "a", "mode": "OUTPUT", "data": "x", "encoding": "XML"}}, "eventMetadata": {"inferenceTime": "2026-01-01T00:00:00Z"}}',
     "captureData.endpointOutput.encoding 'XML' is not JSON, CSV or BASE64"),
])
def test_malformed_lines_say_why(line, message):
    with pytest.raises(CaptureFormatError) as caught:
        parse_record(line)
    assert str(caught.value).startswith(message)


def test_sampling_draw():
    assert [is_sampled(30, d / 10) for d in range(10)] == [True] * 3 + [False] * 7
    assert not is_sampled(0, 0.0) and is_sampled(100, 0.9999)
