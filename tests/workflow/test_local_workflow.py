"""The course's workflow on the local backend: the real definition file, the three real
handlers run by the interpreter, a real endpoint over HTTP with Data Capture, real S3."""

from __future__ import annotations

import base64
import json
import os

import pytest

from scones.capture import parse_record
from scones.execution_rows import execution_row
from scones.execution_inputs import ImageCase

from .colour_model import expected_probabilities, solid_png

TASK_EVENTS = ["TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited"]


def run(backend, workflow, key, name):
    case = ImageCase(backend.bucket, f"test/{key}", 0)
    return backend.start_execution(workflow, case.execution_input(), name=name)


def test_confident_image_succeeds_with_the_course_output(deployed, backend):
    _, workflow = deployed
    outcome = run(backend, workflow, "red_bike.png", "red")
    assert outcome.status == "SUCCEEDED", outcome.cause
    body = outcome.output["body"]
    assert outcome.output["statusCode"] == 200
    assert base64.b64decode(body["image_data"]) == solid_png(255, 0, 0)
    assert (body["s3_bucket"], body["s3_key"]) == (backend.bucket, "test/red_bike.png")
    assert body["inferences"] == pytest.approx(expected_probabilities(255, 0), abs=1e-6)
    assert [event["type"] for event in outcome.history] == \
        ["ExecutionStarted", *TASK_EVENTS * 3, "ExecutionSucceeded"]


def test_low_confidence_fails_the_execution_loudly(deployed, backend):
    _, workflow = deployed
    outcome = run(backend, workflow, "grey_unsure.png", "grey")
    assert outcome.status == "FAILED"
    assert outcome.error == "THRESHOLD_CONFIDENCE_NOT_MET"
    cause = json.loads(outcome.cause)
    assert cause["errorType"] == "THRESHOLD_CONFIDENCE_NOT_MET"
    assert cause["errorMessage"] == "top confidence 0.5000 (class 0) is below the threshold 0.93"
    assert [event["type"] for event in outcome.history][-3:] == ["TaskStarted", "TaskFailed", "ExecutionFailed"]
    row = execution_row(outcome, ImageCase(backend.bucket, "test/grey_unsure.png", 0), ["bicycle", "motorcycle"])
    assert (row.predicted_class, row.confidence, row.status) == ("bicycle", 0.5, "FAILED")


def test_threshold_comes_from_the_function_configuration(deployed, backend):
    endpoint, _ = deployed
    lenient = backend.deploy_workflow(endpoint_name=endpoint.name, threshold=0.4)
    assert run(backend, lenient, "grey_unsure.png", "grey-lenient").status == "SUCCEEDED"


def test_every_invocation_is_captured_as_sagemaker_writes_it(deployed, backend, storage):
    endpoint, workflow = deployed
    keys = ["red_bike.png", "blue_motorbike.png", "grey_unsure.png"]
    for index, key in enumerate(keys):
        run(backend, workflow, key, f"capture-{index}")
    assert backend.delete_endpoint(endpoint.name)  # flushes the capture writer
    files = [o.uri for o in storage.list(f"s3://{backend.bucket}/data_capture/{endpoint.name}/AllTraffic/")]
    assert files and all(uri.endswith(".jsonl") for uri in files)
    records = [parse_record(line) for uri in files for line in storage.get(uri).decode().splitlines()]
    assert len(records) == 3 and len({r.event_id for r in records}) == 3
    inputs = sorted(record.endpoint_input.body() for record in records)
    assert inputs == sorted([solid_png(255, 0, 0), solid_png(0, 0, 200), solid_png(128, 128, 128)])
    for record in records:
        assert record.endpoint_input.observed_content_type == "image/png"
        assert record.endpoint_input.encoding == "BASE64"
        assert record.endpoint_output.encoding == "JSON"
        assert record.endpoint_output.observed_content_type == "application/json"
        assert len(json.loads(record.endpoint_output.data)) == 2


def test_missing_image_fails_in_the_serializer(deployed, backend):
    _, workflow = deployed
    outcome = run(backend, workflow, "nope.png", "missing")
    assert outcome.status == "FAILED"
    assert outcome.error == "NoSuchKey"
    assert json.loads(outcome.cause)["errorType"] == "NoSuchKey"


def test_invoke_endpoint_through_the_backend(deployed, backend):
    endpoint, _ = deployed
    probabilities = backend.invoke_endpoint(endpoint.name, solid_png(0, 0, 200))
    assert probabilities == pytest.approx(expected_probabilities(0, 200), abs=1e-6)


def test_workflow_needs_a_deployed_endpoint(backend):
    from scones.backends.local.endpoint_records import EndpointNotFound

    with pytest.raises(EndpointNotFound, match="Endpoint scones-endpoint of account .* not found"):
        backend.deploy_workflow(endpoint_name="scones-endpoint")


def test_cleanup_stops_endpoints_and_deletes_data_only_when_asked(deployed, backend, storage):
    endpoint, _ = deployed
    dry = backend.cleanup(dry_run=True)
    assert dry.deleted == [f"endpoint {endpoint.name}"]
    done = backend.cleanup()
    assert done.deleted == [f"endpoint {endpoint.name}"]
    assert backend.cleanup().deleted == []
    assert storage.exists(f"s3://{backend.bucket}/test.lst")
    data = backend.cleanup(delete_data=True)
    assert f"s3://{backend.bucket}/test.lst" in data.deleted
    assert list(storage.list(f"s3://{backend.bucket}/")) == []


def test_the_filter_configuration_is_the_deployed_functions_not_the_process_environment(deployed, backend):
    """As on AWS, one filter function serves every handle: the last deploy or set_threshold configures it."""
    endpoint, strict = deployed  # the course's 0.93
    assert run(backend, strict, "grey_unsure.png", "grey-strict").status == "FAILED"
    lenient = backend.deploy_workflow(endpoint_name=endpoint.name, threshold=0.4)
    assert [run(backend, workflow, "grey_unsure.png", f"grey-{index}").status
            for index, workflow in enumerate([lenient, strict])] == ["SUCCEEDED", "SUCCEEDED"]
    backend.set_threshold(0.93)
    assert [run(backend, workflow, "grey_unsure.png", f"grey-again-{index}").status
            for index, workflow in enumerate([lenient, strict])] == ["FAILED", "FAILED"]
    assert not {"ENDPOINT_NAME", "THRESHOLD", "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME"} & set(os.environ)
