"""Data Capture written by the local endpoint, read back from S3 field by field."""

from __future__ import annotations

import base64
import json
import random
import re

import pytest
from .endpoint_support import ENDPOINT, capture_files, capture_lines, png_image, runtime_client, served_endpoint

from scones.capture import CaptureConfig, is_sampled

UUID = "[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def compact(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def invoke(client, image: bytes, **extra) -> bytes:
    return client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png", Body=image, **extra)["Body"].read()


def test_each_invocation_is_one_line_exactly_as_sagemaker_writes_it(storage, bucket, model_uri, fake_clock):
    images = [png_image(seed) for seed in range(3)]
    with served_endpoint(storage, bucket, model_uri, clock=fake_clock) as server:
        client = runtime_client(server.url)
        answers = [invoke(client, images[0]), invoke(client, images[1], InferenceId="order-42"),
                   invoke(client, images[2])]

    [uri] = capture_files(storage, bucket)
    assert re.fullmatch(rf"s3://{bucket}/data_capture/{ENDPOINT}/AllTraffic/2026/01/15/10/59-58-500-{UUID}\.jsonl",
                        uri)
    lines = storage.get(uri).decode().split("\n")
    assert lines[-1] == ""  # every line ends with a newline
    records = [json.loads(line) for line in lines[:-1]]
    for record, image, answer, line in zip(records, images, answers, lines[:-1], strict=True):
        event_id = record["eventMetadata"]["eventId"]
        metadata = {"eventId": event_id, "inferenceTime": "2026-01-15T10:59:58Z"}
        if image is images[1]:
            metadata = {"eventId": event_id, "inferenceId": "order-42", "inferenceTime": "2026-01-15T10:59:58Z"}
        expected = {
            "captureData": {
                "endpointInput": {"observedContentType": "image/png", "mode": "INPUT",
                                  "data": base64.b64encode(image).decode(), "encoding": "BASE64"},
                "endpointOutput": {"observedContentType": "application/json", "mode": "OUTPUT",
                                   "data": answer.decode(), "encoding": "JSON"},
            },
            "eventMetadata": metadata,
            "eventVersion": "0",
        }
        assert line == compact(expected)
        assert re.fullmatch(UUID, metadata["eventId"])
        assert base64.b64decode(record["captureData"]["endpointInput"]["data"]) == image
    assert len({record["eventMetadata"]["eventId"] for record in records}) == 3


@pytest.mark.parametrize("capture_input, capture_output, present", [
    (True, False, {"endpointInput"}),
    (False, True, {"endpointOutput"}),
])
def test_capture_options_choose_input_or_output(storage, bucket, model_uri, capture_input, capture_output, present):
    config = CaptureConfig(f"s3://{bucket}/data_capture", capture_input=capture_input, capture_output=capture_output)
    with served_endpoint(storage, bucket, model_uri, capture=config) as server:
        answer = invoke(runtime_client(server.url), png_image(5))
    [record] = capture_lines(storage, bucket)
    assert set(record["captureData"]) == present
    if capture_output:
        assert record["captureData"]["endpointOutput"]["data"] == answer.decode()


def test_output_outside_the_json_content_types_is_captured_as_base64(storage, bucket, model_uri):
    config = CaptureConfig(f"s3://{bucket}/data_capture", json_content_types=("application/jsonlines",))
    with served_endpoint(storage, bucket, model_uri, capture=config) as server:
        answer = invoke(runtime_client(server.url), png_image(6))
    [record] = capture_lines(storage, bucket)
    assert record["captureData"]["endpointOutput"] == {
        "observedContentType": "application/json", "mode": "OUTPUT",
        "data": base64.b64encode(answer).decode(), "encoding": "BASE64"}


def test_the_sampling_percentage_with_a_seeded_draw_captures_the_expected_count(storage, bucket, model_uri):
    invocations, percentage, seed = 60, 30, 2024
    replay = random.Random(seed)
    expected = sum(is_sampled(percentage, replay.random()) for _ in range(invocations))
    config = CaptureConfig(f"s3://{bucket}/data_capture", sampling_percentage=percentage)
    with served_endpoint(storage, bucket, model_uri, capture=config, draw=random.Random(seed).random) as server:
        client = runtime_client(server.url)
        for number in range(invocations):
            invoke(client, png_image(number))
    assert 0 < expected < invocations
    assert len(capture_lines(storage, bucket)) == expected


def test_failed_invocations_and_disabled_capture_write_nothing(storage, bucket, model_uri):
    with served_endpoint(storage, bucket, model_uri) as server:
        client = runtime_client(server.url)
        with pytest.raises(client.exceptions.ModelError):
            client.invoke_endpoint(EndpointName=ENDPOINT, ContentType="image/png", Body=b"not an image")
    assert capture_files(storage, bucket) == []

    disabled = CaptureConfig(f"s3://{bucket}/data_capture", enabled=False)
    with served_endpoint(storage, bucket, model_uri, capture=disabled) as server:
        invoke(runtime_client(server.url), png_image(1))
        assert server.resolver.resolve(ENDPOINT).capture is None
    assert capture_files(storage, bucket) == []


def test_a_file_takes_the_hour_of_its_flush_and_each_flush_writes_a_new_file(storage, bucket, model_uri, fake_clock):
    with served_endpoint(storage, bucket, model_uri, clock=fake_clock) as server:
        client = runtime_client(server.url)
        writer = server.resolver.resolve(ENDPOINT).capture
        invoke(client, png_image(1))  # at 10:59:58.500
        fake_clock.advance(2)
        assert writer.flush() == 1  # at 11:00:00.500
        invoke(client, png_image(2))
        assert writer.flush() == 1
    first, second = capture_files(storage, bucket)
    assert "/2026/01/15/11/00-00-500-" in first and "/2026/01/15/11/00-00-500-" in second
    assert first != second
    inference_times = [record["eventMetadata"]["inferenceTime"] for record in capture_lines(storage, bucket)]
    assert sorted(inference_times) == ["2026-01-15T10:59:58Z", "2026-01-15T11:00:00Z"]
