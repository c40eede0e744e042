"""Picking test images and reading executions into table rows."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones.backend import ExecutionOutcome
from scones.execution_rows import execution_row, inferences_from_history
from scones.lst import LstEntry, format_lst
from scones.errors import NotStaged
from scones.execution_inputs import ImageCase, pick_cases
from scones.staged_bucket import generate_test_case, read_listing

ENTRIES = [LstEntry(3, 0, "bicycle_s_1.png"), LstEntry(9, 1, "motorcycle_s_2.png")]


@given(st.integers(1, 50), st.integers(0, 2**32))
def test_pick_is_seeded_and_from_the_listing(count, seed):
    cases = pick_cases(ENTRIES, "b", count, seed)
    assert cases == pick_cases(ENTRIES, "b", count, seed)
    assert len(cases) == count
    assert {(c.s3_key, c.true_class) for c in cases} <= {("test/bicycle_s_1.png", 0), ("test/motorcycle_s_2.png", 1)}


def test_course_event_shape():
    case = ImageCase("scones", "test/bicycle_s_1.png", 0)
    assert case.execution_input() == {"image_data": "", "s3_bucket": "scones", "s3_key": "test/bicycle_s_1.png"}


def test_generate_test_case_reads_test_lst(storage, bucket):
    storage.put(f"s3://{bucket}/test.lst", format_lst(ENTRIES).encode())
    event = generate_test_case(storage, bucket, seed=1)
    assert event["s3_bucket"] == bucket and event["s3_key"] in {"test/bicycle_s_1.png", "test/motorcycle_s_2.png"}
    assert read_listing(storage, bucket, "test") == ENTRIES


def test_unstaged_bucket_says_run_stage(storage, bucket):
    with pytest.raises(NotStaged, match=r"test\.lst does not exist: run `scones stage` first"):
        generate_test_case(storage, bucket)


def test_empty_listing_and_bad_count():
    with pytest.raises(ValueError, match="lists no images"):
        pick_cases([], "b", 1, 0)
    with pytest.raises(ValueError, match="--count must be at least 1, got 0"):
        pick_cases(ENTRIES, "b", 0, 0)


def lambda_invoke_succeeded(event_id, body):
    """A TaskSucceeded event of the lambda:invoke integration, as GetExecutionHistory returns it."""
    payload = {"statusCode": 200, "body": body}
    output = {"ExecutedVersion": "$LATEST", "Payload": payload, "StatusCode": 200}
    return {"id": event_id, "type": "TaskSucceeded",
            "taskSucceededEventDetails": {"resourceType": "lambda", "resource": "invoke",
                                          "output": json.dumps(output)}}


def test_row_of_a_failed_execution_keeps_the_prediction():
    history = (
        {"id": 1, "type": "ExecutionStarted"},
        lambda_invoke_succeeded(5, {"image_data": "x", "inferences": []}),
        lambda_invoke_succeeded(10, {"image_data": "x", "inferences": [0.12, 0.88]}),
        {"id": 14, "type": "ExecutionFailed", "executionFailedEventDetails": {"error": "THRESHOLD_CONFIDENCE_NOT_MET"}},
    )
    outcome = ExecutionOutcome(name="e1", input={}, status="FAILED", error="THRESHOLD_CONFIDENCE_NOT_MET",
                               history=history)
    row = execution_row(outcome, ImageCase("b", "test/m.png", 1), ["bicycle", "motorcycle"])
    assert row.to_json() == {"execution": "e1", "image": "test/m.png", "true_class": "motorcycle",
                             "predicted_class": "motorcycle", "confidence": 0.88, "status": "FAILED",
                             "error": "THRESHOLD_CONFIDENCE_NOT_MET"}


def test_legacy_lambda_events_and_string_inferences():
    history = [{"id": 3, "type": "LambdaFunctionSucceeded",
                "lambdaFunctionSucceededEventDetails": {"output": json.dumps({"body": {"inferences": "[0.99, 0.01]"}})}}]
    assert inferences_from_history(history) == [0.99, 0.01]


def test_no_inferences_in_history():
    outcome = ExecutionOutcome(name="e", input={}, status="FAILED", error="States.TaskFailed", history=())
    row = execution_row(outcome, ImageCase("b", "test/x.png", 0), ["bicycle"])
    assert row.predicted_class is None and row.confidence is None and row.true_class == "bicycle"


def test_output_is_used_when_the_history_has_no_task_results():
    outcome = ExecutionOutcome(name="e", input={}, status="SUCCEEDED",
                               output={"statusCode": 200, "body": {"inferences": [0.1, 0.9]}}, history=())
    row = execution_row(outcome, ImageCase("b", "test/x.png", 1), ["bicycle", "motorcycle"])
    assert (row.predicted_class, row.confidence) == ("motorcycle", 0.9)
