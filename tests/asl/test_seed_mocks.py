"""The five exported state machines, driven by a mock file each: success, the threshold failure, Lambda retries.

Each mock file (``data/seed_mocks/``) is what a user would write for Step
Functions Local: test cases ``Success``, ``ThresholdFailure`` and
``LambdaRetries`` (serializeImageData throws Lambda.ServiceException twice,
then answers). Nothing is bound: every Task is mocked, and nothing waits.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scones.asl import FAILED, SUCCEEDED

from . import seeds
from .seeds import SEED_NAMES, seed

MOCKS = Path(__file__).parent / "data" / "seed_mocks"
INPUT = {"s3_bucket": "scones-unlimited", "s3_key": "test/bicycle_s_000513.png"}
BODY = {"image_data": "iVBORw0KGgo=", **INPUT, "inferences": [0.97, 0.03]}
WRAPPED = {"statusCode": 200, "body": BODY}

# (state names serialize, classify, filter; the success output; the threshold outcome; the retry waits)
SEEDS = {
    "Sudonuma__jsonpath_catch-succeed": (
        ("Lambda Invoke_serialise", "Lambda Invoke_classify", "Lambda Invoke_filter"), WRAPPED,
        (SUCCEEDED, None, ["Lambda Invoke_serialise", "Lambda Invoke_classify", "Lambda Invoke_filter", "Success"]),
        [2, 4]),
    "angernarwa__jsonpath_payload-body": (
        ("serialize Image Lambda Invoke", "imageClassificationInference Lambda Invoke", "filter low inferences Lambda Invoke"),
        BODY, (FAILED, "THRESHOLD_CONFIDENCE_NOT_MET", None), None),
    "idarapatrick__jsonpath_payload-template_catch-fail": (
        ("Lambda Invoke", "Lambda Invoke (1)", "Lambda Invoke (2)"), WRAPPED,
        (FAILED, None, ["Lambda Invoke", "Lambda Invoke (1)", "Lambda Invoke (2)", "Fail"]), [1, 2]),
    "justtmanss__jsonata": (
        ("Serialize ImageData", "Image Classification", "Filter Low Confidence"), WRAPPED,
        (FAILED, "THRESHOLD_CONFIDENCE_NOT_MET", None), "jitter"),
    "sukruta230901__jsonpath_inputpath-body_retry": (
        ("SerializeImageData", "ClassifyImage", "FilterInferences"), WRAPPED,
        (FAILED, "THRESHOLD_CONFIDENCE_NOT_MET", None), [2, 4]),
}


def run_case(asl, name: str, test_case: str):
    return asl.run(seed(name), INPUT, mock_config=MOCKS / f"{name}.mock.json", test_case=test_case)


def test_without_the_shared_volume_the_seed_tests_skip_saying_why(monkeypatch, tmp_path):
    monkeypatch.setattr(seeds, "SEEDS", tmp_path / "absent")
    with pytest.raises(pytest.skip.Exception, match="on the project's shared data volume only, which users' checkouts"):
        seed("justtmanss__jsonata")


def test_every_seed_has_a_mock_file():
    assert sorted(SEEDS) == sorted(SEED_NAMES) == sorted(path.name.removesuffix(".mock.json") for path in MOCKS.iterdir())


@pytest.mark.parametrize("name", SEED_NAMES)
def test_success_case_runs_the_three_mocked_lambdas(asl, name):
    states, output, _, _ = SEEDS[name]
    execution = run_case(asl, name, "Success")
    assert execution.status == SUCCEEDED
    assert execution.output_value == output
    assert execution.path == list(states)
    assert [len(execution.state(state).attempts) for state in states] == [1, 1, 1]
    assert asl.clock.sleeps == []


@pytest.mark.parametrize("name", SEED_NAMES)
def test_threshold_case_fails_or_is_caught_as_the_definition_says(asl, name):
    states, _, (status, error, path), _ = SEEDS[name]
    execution = run_case(asl, name, "ThresholdFailure")
    assert (execution.status, execution.error) == (status, error)
    assert execution.path == (path or list(states))
    filter_state = execution.state(states[2])
    assert filter_state.error == "THRESHOLD_CONFIDENCE_NOT_MET"
    assert json.loads(filter_state.attempts[-1].cause)["errorMessage"] == (
        "top confidence 0.5500 (class 0) is below the threshold 0.93")
    assert filter_state.input == execution.state(states[1]).output  # the unsure classification, passed on
    assert "[0.55, 0.45]" in json.dumps(filter_state.input)


def test_threshold_caught_into_succeed_passes_the_error_output_on(asl):
    execution = run_case(asl, "Sudonuma__jsonpath_catch-succeed", "ThresholdFailure")
    assert execution.output_value["Error"] == "THRESHOLD_CONFIDENCE_NOT_MET"
    assert execution.event_types[-6:] == ["TaskStarted", "TaskFailed", "TaskStateExited", "SucceedStateEntered",
                                          "SucceedStateExited", "ExecutionSucceeded"]


@pytest.mark.parametrize("name", SEED_NAMES)
def test_lambda_service_errors_go_through_the_consoles_retriers(asl, name):
    states, output, _, waits = SEEDS[name]
    execution = run_case(asl, name, "LambdaRetries")
    serialize = states[0]
    if waits is None:  # no Retry in this export: the first service error ends the execution
        assert (execution.status, execution.error) == (FAILED, "Lambda.ServiceException")
        assert execution.path == [serialize]
        assert execution.retries(serialize) == []
        return
    assert execution.status == SUCCEEDED
    assert execution.output_value == output
    retries = execution.retries(serialize)
    assert [retry.error for retry in retries] == ["Lambda.ServiceException"] * 2
    if waits == "jitter":  # JitterStrategy FULL: a random part of 1 s, then of 2 s
        assert 0 <= retries[0].wait_seconds <= 1 and 0 <= retries[1].wait_seconds <= 2
    else:
        assert [retry.wait_seconds for retry in retries] == waits
    assert asl.clock.sleeps == [retry.wait_seconds for retry in retries]
    scheduled = [event for event in execution.history if event["type"] == "TaskScheduled"][:3]
    failed = [event for event in execution.history if event["type"] == "TaskFailed"]
    assert [(later["timestamp"] - fail["timestamp"]).total_seconds() for fail, later in zip(failed, scheduled[1:])] == \
        [retry.wait_seconds for retry in retries]
    assert execution.event_types[:12] == ["ExecutionStarted", "TaskStateEntered"] + [
        "TaskScheduled", "TaskStarted", "TaskFailed"] * 2 + ["TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited"]
