"""RecordedExecution: path, visits, attempts and retries read back from the history."""

from __future__ import annotations

import random
import threading

import pytest

from scones.asl import FakeClock, StateMachine
from scones.asl.execution_record import RecordedExecution

MAP_WITH_RETRIES = {"StartAt": "Each", "States": {"Each": {
    "Type": "Map", "MaxConcurrency": 4, "Next": "Both",
    "ItemProcessor": {"StartAt": "Work", "States": {"Work": {
        "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
        "Parameters": {"Bucket": "b", "Key.$": "$"},
        "Retry": [{"ErrorEquals": ["S3.SlowDown"], "IntervalSeconds": 3, "BackoffRate": 1.5}], "End": True}}}},
    "Both": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
        {"StartAt": "Right", "States": {"Right": {"Type": "Pass", "End": True}}}]}}}


SlowDown = type("S3.SlowDown", (Exception,), {})  # the error name an integration reports is the class name


def test_attempts_are_attributed_to_their_own_iteration_on_many_threads():
    failed_once: set[str] = set()
    lock = threading.Lock()

    def get_object(parameters, context):
        with lock:
            first = parameters["Key"] not in failed_once
            failed_once.add(parameters["Key"])
        if first:
            raise SlowDown(f"slow down on {parameters['Key']}")
        return {"Body": parameters["Key"]}

    machine = StateMachine(MAP_WITH_RETRIES)
    keys = [f"k{index}" for index in range(8)]
    execution = machine.execute(keys, resources={"arn:aws:states:::aws-sdk:s3:getObject": get_object},
                                clock=FakeClock(), random=random.Random(1), max_workers=4)
    recorded = RecordedExecution(execution, machine.definition)
    assert recorded.status == "SUCCEEDED"
    visits = recorded.visits("Each/Work")
    assert sorted(visit.input for visit in visits) == keys
    for visit in visits:
        assert [attempt.error for attempt in visit.attempts] == ["S3.SlowDown", None]
        assert visit.attempts[0].cause == f"slow down on {visit.input}"
        assert visit.output == {"Body": visit.input}
        assert [(retry.error, retry.wait_seconds) for retry in visit.retries()] == [("S3.SlowDown", 3)]
    assert recorded.path[0] == "Each" and recorded.path[-3:] == ["Both", "Both/Left", "Both/Right"]
    assert recorded.failing_state is None
    last = recorded.summary().splitlines()[-1]
    assert last.startswith('output: [[{"Body": "k0"}, {"Body": "k1"}') and last.endswith("… (260 characters)")


def test_an_unknown_state_name_is_refused_with_the_path():
    machine = StateMachine({"StartAt": "Only", "States": {"Only": {"Type": "Pass", "End": True}}})
    recorded = RecordedExecution(machine.execute({}, clock=FakeClock()), machine.definition)
    with pytest.raises(KeyError, match="the state 'Other' was never entered; the path was: Only"):
        recorded.state("Other")
    assert recorded.state("Only").exited and recorded.retries("Only") == []
