"""The five real exported Scones Unlimited state machines, run with trivial in-process handlers.

They are the shapes users bring: lambda:invoke with OutputPath "$.Payload" or
"$.Payload.body", InputPath "$.body", Payload templates, Catch to Succeed or
Fail, JSONata with {% $states.result.Payload %}, JitterStrategy FULL. The
folder exists only on the project's shared data volume (found relative to
the repository root); elsewhere these tests skip.
"""

import pytest

from scones.asl import FAILED, SUCCEEDED, Resources, StateMachine, validate

from .seeds import seed

INPUT = {"s3_bucket": "scones-unlimited", "s3_key": "test/bicycle_s_000513.png"}
IMAGE_DATA = "iVBORw0KGgo="


class THRESHOLD_CONFIDENCE_NOT_MET(Exception):
    pass


def handlers(*, threshold: float = 0.93) -> Resources:
    """Serialize → classify → filter, as the course's three Lambdas behave.

    Each returns ``{"statusCode": 200, "body": {...}}`` and accepts either that
    shape or the bare body, since the exported workflows pass one or the other.
    """

    def body_of(event):
        return event.get("body", event)

    def serialize(event, context):
        body = {"image_data": IMAGE_DATA, "s3_bucket": event["s3_bucket"], "s3_key": event["s3_key"], "inferences": []}
        return {"statusCode": 200, "body": body}

    def classify(event, context):
        return {"statusCode": 200, "body": {**body_of(event), "inferences": [0.97, 0.03]}}

    def filter_low(event, context):
        body = body_of(event)
        if max(body["inferences"]) < threshold:
            raise THRESHOLD_CONFIDENCE_NOT_MET(f"confidence {max(body['inferences'])} is below {threshold}")
        return {"statusCode": 200, "body": body}

    resources = Resources()
    for name in ("serializeImageData", "scones-unlimited-serialize-image-data"):
        resources.add_lambda(name, serialize)
    for name in ("classifyImageData", "classifyImage", "imageClassification", "scones-unlimited-boto3-classifier"):
        resources.add_lambda(name, classify)
    for name in ("filterPredictions", "filterInferences", "filterLowConfidenceInferences", "scones-unlimited-filter-low-confidence"):
        resources.add_lambda(name, filter_low)
    return resources


EXPECTED_BODY = {"image_data": IMAGE_DATA, **INPUT, "inferences": [0.97, 0.03]}
THREE_TASKS = ["ExecutionStarted"] + ["TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited"] * 3 + [
    "ExecutionSucceeded"]

WRAPPED = {"statusCode": 200, "body": EXPECTED_BODY}
CASES = [
    ("Sudonuma__jsonpath_catch-succeed.asl.json", WRAPPED),
    ("angernarwa__jsonpath_payload-body.asl.json", EXPECTED_BODY),  # OutputPath "$.Payload.body"
    ("idarapatrick__jsonpath_payload-template_catch-fail.asl.json", WRAPPED),
    ("justtmanss__jsonata.asl.json", WRAPPED),
    ("sukruta230901__jsonpath_inputpath-body_retry.asl.json", WRAPPED),
]


@pytest.mark.parametrize("name, expected", CASES, ids=[case[0].split("__")[0] for case in CASES])
def test_seed_runs_to_the_expected_output(run, name, expected):
    definition = seed(name)
    assert validate(definition) == []
    execution = run(StateMachine(definition), INPUT, resources=handlers())
    assert execution.status == SUCCEEDED, execution.cause
    assert execution.output_value == expected
    assert execution.event_types == THREE_TASKS


def test_catch_task_failed_goes_to_succeed(run):
    execution = run(seed("Sudonuma__jsonpath_catch-succeed.asl.json"), INPUT, resources=handlers(threshold=0.99))
    assert execution.status == SUCCEEDED
    assert execution.output_value["Error"] == "THRESHOLD_CONFIDENCE_NOT_MET"
    assert execution.event_types[-5:] == ["TaskFailed", "TaskStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"]


def test_catch_all_goes_to_fail(run):
    execution = run(seed("idarapatrick__jsonpath_payload-template_catch-fail.asl.json"), INPUT,
                    resources=handlers(threshold=0.99))
    assert (execution.status, execution.error, execution.cause) == (FAILED, None, None)
    assert execution.event_types[-3:] == ["TaskStateExited", "FailStateEntered", "ExecutionFailed"]


def test_uncaught_filter_error_fails_the_jsonata_workflow_after_no_retry(run, clock):
    execution = run(seed("justtmanss__jsonata.asl.json"), INPUT, resources=handlers(threshold=0.99))
    assert execution.error == "THRESHOLD_CONFIDENCE_NOT_MET"
    assert clock.sleeps == []  # the retriers name Lambda service errors only


def test_lambda_service_errors_are_retried_with_full_jitter(run, clock):
    class TooManyRequestsException(Exception):
        pass

    resources = handlers()
    calls = []

    def throttled(event, context):
        calls.append(1)
        if len(calls) <= 2:
            raise TooManyRequestsException("Rate exceeded")
        return {"statusCode": 200, "body": {**event, "image_data": IMAGE_DATA, "inferences": []}}

    resources.add_lambda("scones-unlimited-serialize-image-data", throttled)
    definition = seed("justtmanss__jsonata.asl.json")
    retry = definition["States"]["Serialize ImageData"]["Retry"][0]
    retry["ErrorEquals"].append("TooManyRequestsException")
    execution = run(definition, INPUT, resources=resources)
    assert execution.status == SUCCEEDED
    assert len(clock.sleeps) == 2
    assert 0 <= clock.sleeps[0] <= 1 and 0 <= clock.sleeps[1] <= 2
