"""Executions: history shape, timeouts, stops, limits and thread safety.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_GetExecutionHistory.html
https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html
"""

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from scones.asl import ABORTED, FAILED, SUCCEEDED, TIMED_OUT, FakeClock, StateMachine, execute

HELLO = {"StartAt": "Hello", "States": {"Hello": {"Type": "Pass", "Result": "Hello World!", "End": True}}}


def test_history_of_the_hello_world_example(run, clock):
    """The GetExecutionHistory example: one Pass state; the first state's Entered event follows event 0, as AWS records."""
    execution = run(HELLO, {}, role_arn="arn:aws:iam::123456789012:role/StepFunctionsRole")
    assert execution.status == SUCCEEDED and execution.output_value == "Hello World!"
    assert execution.history == [
        {"timestamp": clock.now(), "type": "ExecutionStarted", "id": 1, "previousEventId": 0,
         "executionStartedEventDetails": {"input": "{}", "inputDetails": {"truncated": False},
                                          "roleArn": "arn:aws:iam::123456789012:role/StepFunctionsRole"}},
        {"timestamp": clock.now(), "type": "PassStateEntered", "id": 2, "previousEventId": 0,
         "stateEnteredEventDetails": {"name": "Hello", "input": "{}", "inputDetails": {"truncated": False}}},
        {"timestamp": clock.now(), "type": "PassStateExited", "id": 3, "previousEventId": 2,
         "stateExitedEventDetails": {"name": "Hello", "output": '"Hello World!"', "outputDetails": {"truncated": False}}},
        {"timestamp": clock.now(), "type": "ExecutionSucceeded", "id": 4, "previousEventId": 3,
         "executionSucceededEventDetails": {"output": '"Hello World!"', "outputDetails": {"truncated": False}}},
    ]
    assert execution.start_date == execution.stop_date == clock.now()


def test_execution_identity(run):
    execution = run(HELLO, {}, name="run-1")
    assert execution.execution_arn == "arn:aws:states:us-east-1:123456789012:execution:StateMachine:run-1"
    assert execution.state_machine_arn == "arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine"
    assert execution.name == "run-1" and execution.input == {}


def test_input_as_json_text(run):
    assert run({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, '{"a": [1]}').output_value == {"a": [1]}


def test_top_level_timeout_seconds_times_the_execution_out(run, clock):
    definition = {"TimeoutSeconds": 10, "StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 100, "End": True}}}
    execution = run(definition, {})
    assert (execution.status, execution.error, execution.output_value) == (TIMED_OUT, "States.Timeout", None)
    assert execution.event_types == ["ExecutionStarted", "WaitStateEntered", "ExecutionTimedOut"]
    assert clock.sleeps == [10.0]
    assert execution.stop_date - execution.start_date == timedelta(seconds=10)


def test_timeout_between_states(clock):
    def slow(event, context):
        clock.advance(20)
        return event

    definition = {"TimeoutSeconds": 10, "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:slow", "Next": "After"},
        "After": {"Type": "Pass", "End": True}}}
    execution = execute(definition, {}, resources=StateMachineResources(slow), clock=clock)
    assert execution.status == TIMED_OUT
    assert "PassStateEntered" not in execution.event_types


def StateMachineResources(handler):
    from scones.asl import Resources

    return Resources().add_lambda("slow", handler, timeout=60)


def test_stop_aborts_a_running_execution():
    entered, release = threading.Event(), threading.Event()

    def blocking(event, context):
        entered.set()
        release.wait(10)
        return event

    definition = {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:blocking", "Next": "After"},
        "After": {"Type": "Pass", "End": True}}}
    execution = StateMachine(definition).start({}, resources={"blocking": blocking}, clock=FakeClock())
    assert entered.wait(10)
    execution.stop(error="Operator", cause="stopped by hand")
    release.set()
    execution.wait(10)
    assert (execution.status, execution.error, execution.cause) == (ABORTED, "Operator", "stopped by hand")
    assert execution.event_types[-1] == "ExecutionAborted"
    assert execution.history[-1]["executionAbortedEventDetails"] == {"error": "Operator", "cause": "stopped by hand"}


def test_start_returns_at_once_and_wait_returns_the_finished_execution():
    execution = StateMachine(HELLO).start({}, clock=FakeClock())
    assert execution.wait(10).status == SUCCEEDED


def test_input_over_256_kib_is_refused():
    with pytest.raises(ValueError, match="262144-byte limit"):
        execute(HELLO, {"blob": "x" * 262_144})


def test_state_output_over_256_kib_fails(run):
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"a.$": "$.s", "b.$": "$.s"}, "End": True}}}
    execution = run(definition, {"s": "x" * 140_000})
    assert (execution.status, execution.error) == (FAILED, "States.DataLimitExceeded")


def test_previous_event_ids_follow_each_branch(run):
    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": True, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}]}}}
    history = run(definition, {}).history
    by_id = {event["id"]: event for event in history}
    started = next(event["id"] for event in history if event["type"] == "ParallelStateStarted")
    b_entered = next(event for event in history if event.get("stateEnteredEventDetails", {}).get("name") == "B")
    assert b_entered["previousEventId"] == started
    assert history[1]["previousEventId"] == 0
    assert all(by_id[event["previousEventId"]]["id"] < event["id"] for event in history[2:])


def test_many_executions_run_concurrently_from_many_threads():
    definition = {"StartAt": "Double", "States": {
        "Double": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "double", "Payload.$": "$"}, "OutputPath": "$.Payload", "Next": "Label"},
        "Label": {"Type": "Pass", "Parameters": {"value.$": "$.n", "id.$": "$$.Execution.Name"}, "Assign": {"seen.$": "$.value"}, "End": True}}}
    machine = StateMachine(definition)
    resources = {"double": lambda event, context: {"n": event["n"] * 2}}

    def one(index):
        return machine.execute({"n": index}, resources=resources, name=f"run-{index}", random=random.Random(index))

    with ThreadPoolExecutor(max_workers=8) as pool:
        executions = list(pool.map(one, range(200)))
    assert [execution.output_value for execution in executions] == [{"value": index * 2, "id": f"run-{index}"} for index in range(200)]
    assert all(len(execution.history) == len(executions[0].history) for execution in executions)


def test_real_clock_is_the_default():
    execution = execute(HELLO, {})
    assert execution.start_date.tzinfo is not None and execution.stop_date >= execution.start_date


def test_settings_read_from_paths(run, clock):
    """TimeoutSecondsPath, MaxConcurrencyPath and ToleratedFailureCountPath read the state's input."""
    def slow(parameters, context):
        clock.advance(5)
        return "late"

    from scones.asl import Resources

    resources = Resources().add_integration("arn:aws:states:::glue:startJobRun.sync", slow)
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.jobs", "MaxConcurrencyPath": "$.parallelism", "ToleratedFailureCountPath": "$.failures",
        "ItemSelector": {"limit.$": "$.limit"},
        "ItemProcessor": {"StartAt": "Job", "States": {"Job": {
            "Type": "Task", "Resource": "arn:aws:states:::glue:startJobRun.sync", "TimeoutSecondsPath": "$.limit", "End": True}}},
        "End": True}}}
    assert run(definition, {"jobs": [1, 2], "parallelism": 1, "failures": 2, "limit": 10}, resources=resources).output_value == ["late", "late"]
    execution = run(definition, {"jobs": [1, 2], "parallelism": 1, "failures": 1, "limit": 4}, resources=resources)
    assert execution.error == "States.ExceedToleratedFailureThreshold"
    assert execution.event_types.count("TaskTimedOut") == 2


def test_state_machine_with_substitutions(run):
    machine = StateMachine('{"StartAt": "S", "States": {"S": {"Type": "Pass", "Result": "${Greeting}", "End": true}}}',
                           substitutions={"Greeting": "hello"})
    assert run(machine, {}).output_value == "hello"


def test_runtime_errors_in_an_iteration_are_never_tolerated(run):
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ToleratedFailurePercentage": 100,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "InputPath": "$.missing", "End": True}}}, "End": True}}}
    assert run(definition, [{"a": 1}]).error == "States.Runtime"


def test_service_integration_and_activity_events(run):
    from scones.asl import Resources

    transform = "arn:aws:states:::sagemaker:createTransformJob.sync"
    activity = "arn:aws:states:us-east-1:123456789012:activity:review"
    resources = (Resources()
                 .add_integration(transform, lambda parameters, context: {"TransformJobStatus": "Completed", **parameters})
                 .add_integration(activity, lambda parameters, context: {"approved": True}))
    definition = {"StartAt": "Transform", "States": {
        "Transform": {"Type": "Task", "Resource": transform, "Parameters": {"TransformJobName.$": "$.job"}, "Next": "Review"},
        "Review": {"Type": "Task", "Resource": activity, "ResultPath": "$.review", "End": True}}}
    execution = run(definition, {"job": "scones-batch"}, resources=resources)
    assert execution.output_value == {"TransformJobStatus": "Completed", "TransformJobName": "scones-batch", "review": {"approved": True}}
    assert execution.event_types[2:5] == ["TaskScheduled", "TaskStarted", "TaskSucceeded"]
    assert execution.history[2]["taskScheduledEventDetails"] == {
        "resourceType": "sagemaker", "resource": "createTransformJob.sync", "region": "us-east-1",
        "parameters": '{"TransformJobName":"scones-batch"}'}
    assert execution.event_types[7:10] == ["ActivityScheduled", "ActivityStarted", "ActivitySucceeded"]
    assert execution.history[7]["activityScheduledEventDetails"]["resource"] == activity
