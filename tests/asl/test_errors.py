"""Retry, Catch, and every predefined error name raised where AWS raises it.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
https://states-language.net/spec.html#errors
"""

import random

import pytest

from scones.asl import FAILED, SUCCEEDED, Resources, StatesError
from scones.asl.errors import matches

CUSTOM_ARN = "arn:aws:states:::custom:work"


class ErrorA(Exception):
    pass


class ErrorB(Exception):
    pass


def flaky(errors: list):
    """A Lambda handler that raises the given exceptions in turn, then returns "done"."""
    remaining = list(errors)

    def handler(event, context):
        if remaining:
            raise remaining.pop(0)
        return "done"

    return handler


def task(**fields) -> dict:
    """One Lambda task; with a Catch, also the "Recovered" state its catchers go to."""
    states = {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work", "End": True, **fields}}
    if "Catch" in fields:
        states["Recovered"] = {"Type": "Pass", "End": True}
    return {"StartAt": "T", "States": states}


# --- matching rules ----------------------------------------------------------------------

def test_matching_rules():
    assert matches(["States.ALL"], "ErrorA")
    assert matches(["States.TaskFailed"], "ErrorA")
    assert matches(["States.TaskFailed"], "States.HeartbeatTimeout")
    assert not matches(["States.TaskFailed"], "States.Timeout")
    assert matches(["States.Timeout"], "States.Timeout")
    assert not matches(["errora"], "ErrorA")  # names are case-sensitive
    for terminal in ("States.Runtime", "States.DataLimitExceeded"):
        assert not matches(["States.ALL"], terminal)
        assert not matches([terminal], terminal)


# --- Retry ------------------------------------------------------------------------------

def test_retry_intervals_grow_by_backoff_rate(run, clock):
    """The spec's example: retry ErrorA/ErrorB twice, 1 s then 2 s apart."""
    retry = [{"ErrorEquals": ["ErrorA", "ErrorB"], "IntervalSeconds": 1, "BackoffRate": 2.0, "MaxAttempts": 2}]
    execution = run(task(Retry=retry), {}, resources={"work": flaky([ErrorA(), ErrorB()])})
    assert execution.output_value == "done"
    assert clock.sleeps == [1.0, 2.0]
    assert execution.event_types.count("LambdaFunctionFailed") == 2
    failed_at = [event["timestamp"] for event in execution.history if event["type"] == "LambdaFunctionFailed"]
    scheduled_at = [event["timestamp"] for event in execution.history if event["type"] == "LambdaFunctionScheduled"]
    assert [(s - f).total_seconds() for f, s in zip(failed_at, scheduled_at[1:])] == [1.0, 2.0]


def test_retries_run_out_then_the_error_stands(run, clock):
    retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3, "MaxAttempts": 2, "BackoffRate": 1.5}]
    execution = run(task(Retry=retry), {}, resources={"work": flaky([ErrorA()] * 3)})
    assert (execution.status, execution.error) == (FAILED, "ErrorA")
    assert clock.sleeps == [3.0, 4.5]


def test_max_delay_seconds_caps_the_backoff(run, clock):
    retry = [{"ErrorEquals": ["ErrorA"], "IntervalSeconds": 1, "BackoffRate": 10, "MaxAttempts": 4, "MaxDelaySeconds": 20}]
    run(task(Retry=retry), {}, resources={"work": flaky([ErrorA()] * 4)})
    assert clock.sleeps == [1.0, 10.0, 20.0, 20.0]


def test_full_jitter_draws_from_the_injected_random_source(run, clock):
    retry = [{"ErrorEquals": ["ErrorA"], "IntervalSeconds": 2, "MaxAttempts": 3, "JitterStrategy": "FULL"}]
    rng = random.Random(11)
    run(task(Retry=retry), {}, resources={"work": flaky([ErrorA()] * 3)}, random=rng)
    replay = random.Random(11)
    replay.getrandbits(128)  # the execution name
    expected = []
    for attempt in range(3):
        replay.getrandbits(128)  # the Lambda request id
        expected.append(replay.uniform(0, 2 * 2.0**attempt))
    assert clock.sleeps == pytest.approx(expected, abs=1e-6)  # datetimes hold microseconds
    assert all(0 <= delay <= 2 * 2.0**index for index, delay in enumerate(clock.sleeps))


def test_max_attempts_zero_never_retries(run, clock):
    retry = [{"ErrorEquals": ["ErrorA"], "MaxAttempts": 0}, {"ErrorEquals": ["States.ALL"], "MaxAttempts": 5}]
    execution = run(task(Retry=retry), {}, resources={"work": flaky([ErrorA()])})
    assert (execution.error, clock.sleeps) == ("ErrorA", [])


def test_each_retrier_counts_its_own_attempts(run, clock):
    retry = [{"ErrorEquals": ["ErrorA"], "MaxAttempts": 1, "IntervalSeconds": 1},
             {"ErrorEquals": ["ErrorB"], "MaxAttempts": 1, "IntervalSeconds": 5}]
    execution = run(task(Retry=retry), {}, resources={"work": flaky([ErrorA(), ErrorB()])})
    assert (execution.output_value, clock.sleeps) == ("done", [1.0, 5.0])


def test_retry_count_is_in_the_context_object(run):
    seen = []

    def handler(event, context):
        seen.append(event["retry"])
        if len(seen) < 3:
            raise ErrorA()
        return seen

    definition = task(Retry=[{"ErrorEquals": ["ErrorA"], "MaxAttempts": 5}], Parameters={"retry.$": "$$.State.RetryCount"})
    assert run(definition, {}, resources={"work": handler}).output_value == [0, 1, 2]


# --- Catch ------------------------------------------------------------------------------

def test_catch_result_path_keeps_the_input(run):
    """The spec's example: put the error output at "$.error-info" and go on."""
    catch = [{"ErrorEquals": ["ErrorA"], "ResultPath": "$.error-info", "Next": "Recovered"}]
    execution = run(task(Catch=catch), {"order": 1}, resources={"work": flaky([ErrorA("bad order")])})
    assert execution.status == SUCCEEDED
    info = execution.output_value["error-info"]
    assert execution.output_value["order"] == 1
    assert info["Error"] == "ErrorA" and '"errorMessage": "bad order"' in info["Cause"]
    assert execution.event_types[-5:] == ["LambdaFunctionFailed", "TaskStateExited", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]


def test_catch_default_result_path_replaces_the_input(run):
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}]
    assert set(run(task(Catch=catch), {"order": 1}, resources={"work": flaky([ErrorB()])}).output_value) == {"Error", "Cause"}


def test_first_matching_catcher_wins(run):
    catch = [{"ErrorEquals": ["ErrorB"], "ResultPath": "$.b", "Next": "Recovered"},
             {"ErrorEquals": ["ErrorA"], "ResultPath": "$.a", "Next": "Recovered"}]
    assert list(run(task(Catch=catch), {}, resources={"work": flaky([ErrorA()])}).output_value) == ["a"]


def test_retry_before_catch(run, clock):
    execution = run(task(Retry=[{"ErrorEquals": ["ErrorA"], "MaxAttempts": 1}],
                         Catch=[{"ErrorEquals": ["ErrorA"], "ResultPath": None, "Next": "Recovered"}]),
                    {"kept": True}, resources={"work": flaky([ErrorA(), ErrorA()])})
    assert (execution.output_value, clock.sleeps) == ({"kept": True}, [1.0])


# --- one test per predefined error name ----------------------------------------------------

def test_states_all_catches_any_error(run):
    execution = run(task(Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}]), {}, resources={"work": flaky([ErrorA()])})
    assert execution.output_value["Error"] == "ErrorA"


def test_states_task_failed_matches_a_function_error(run):
    execution = run(task(Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Recovered"}]), {}, resources={"work": flaky([ErrorB()])})
    assert execution.output_value["Error"] == "ErrorB"


def test_states_timeout_when_a_task_overruns_timeout_seconds(run, clock):
    def slow(event, context):
        clock.advance(11)
        return "late"

    resources = Resources().add_lambda("work", slow, timeout=900)
    caught = run(task(TimeoutSeconds=10, Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Recovered"},
                                                {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timeout", "Next": "Recovered"}]),
                 {}, resources=resources)
    assert caught.output_value == {"timeout": {"Error": "States.Timeout", "Cause": ""}}
    assert "LambdaFunctionTimedOut" in caught.event_types
    assert caught.history[2]["lambdaFunctionScheduledEventDetails"]["timeoutInSeconds"] == 10


def test_states_heartbeat_timeout_when_an_integration_stops_beating(run, clock):
    def worker(parameters, context):
        clock.advance(4)
        context.heartbeat()
        clock.advance(6)  # more than HeartbeatSeconds without a heartbeat
        return "late"

    resources = Resources().add_integration(CUSTOM_ARN, worker)
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": CUSTOM_ARN, "HeartbeatSeconds": 5, "TimeoutSeconds": 60, "End": True}}}
    execution = run(definition, {}, resources=resources)
    assert execution.error == "States.HeartbeatTimeout"
    assert execution.event_types[-2:] == ["TaskTimedOut", "ExecutionFailed"]
    assert execution.history[2]["taskScheduledEventDetails"]["heartbeatInSeconds"] == 5


def test_states_runtime_cannot_be_caught(run):
    execution = run(task(InputPath="$.missing", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Recovered"}],
                         Retry=[{"ErrorEquals": ["States.ALL"]}]), {}, resources={"work": flaky([])})
    assert (execution.status, execution.error) == (FAILED, "States.Runtime")
    assert execution.event_types == ["ExecutionStarted", "TaskStateEntered", "ExecutionFailed"]


def test_states_permissions_from_an_access_denied_integration(run):
    def denied(parameters, context):
        raise PermissionError("User is not authorized to perform: s3:GetObject")

    resources = Resources().add_integration("arn:aws:states:::aws-sdk:s3:getObject", denied)
    definition = {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
              "Catch": [{"ErrorEquals": ["States.Permissions"], "Next": "Denied"}], "End": True},
        "Denied": {"Type": "Pass", "End": True}}}
    execution = run(definition, {}, resources=resources)
    assert execution.output_value == {"Error": "States.Permissions", "Cause": "User is not authorized to perform: s3:GetObject"}
    assert execution.history[2]["taskScheduledEventDetails"]["resourceType"] == "aws-sdk:s3"


def test_states_data_limit_exceeded_is_terminal(run):
    definition = {"StartAt": "Grow", "States": {"Grow": {"Type": "Pass", "Result": "x" * 270_000, "End": True}}}
    execution = run(definition, {})
    assert (execution.error, execution.event_types) == ("States.DataLimitExceeded", ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"])


def test_states_result_path_match_failure_can_be_caught(run):
    execution = run(task(ResultPath="$.text.result", Catch=[{"ErrorEquals": ["States.ResultPathMatchFailure"], "Next": "Recovered"}]),
                    {"text": "not an object"}, resources={"work": flaky([])})
    assert execution.output_value == {"Error": "States.ResultPathMatchFailure",
                                "Cause": 'Unable to apply ReferencePath $.text.result to input {"text":"not an object"}'}


def test_states_parameter_path_failure_is_reported_as_runtime_by_aws(run):
    """The spec names States.ParameterPathFailure; AWS reports a missing Parameters path as States.Runtime."""
    execution = run(task(Parameters={"v.$": "$.missing"}, Catch=[{"ErrorEquals": ["States.ParameterPathFailure"], "Next": "Recovered"}]),
                    {}, resources={"work": flaky([])})
    assert execution.error == "States.Runtime"


def test_states_intrinsic_failure_is_reported_as_runtime_by_aws(run):
    """The spec names States.IntrinsicFailure; AWS reports an intrinsic's failure as States.Runtime."""
    execution = run(task(Parameters={"v.$": "States.ArrayGetItem($.a, 5)"}, Catch=[{"ErrorEquals": ["States.IntrinsicFailure"], "Next": "Recovered"}]),
                    {"a": [1]}, resources={"work": flaky([])})
    assert (execution.error, execution.cause) == (
        "States.Runtime", "An error occurred while executing the state 'T' (entered at the event id #2). Invalid arguments in States.ArrayGetItem")


def test_branch_failure_carries_the_branch_error_not_states_branch_failed(run):
    """A failed branch fails the Parallel state with the branch's own error (AWS does not substitute States.BranchFailed)."""
    definition = {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [
            {"StartAt": "Ok", "States": {"Ok": {"Type": "Pass", "End": True}}},
            {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "BranchError", "Cause": "second branch"}}},
        ], "Catch": [{"ErrorEquals": ["States.BranchFailed"], "ResultPath": "$.branch", "Next": "Done"},
                     {"ErrorEquals": ["BranchError"], "ResultPath": "$.own", "Next": "Done"}], "End": True},
        "Done": {"Type": "Succeed"}}}
    assert run(definition, {}).output_value == {"own": {"Error": "BranchError", "Cause": "second branch"}}


def test_states_no_choice_matched_can_be_caught_around_its_branch(run):
    definition = {"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Branches": [{"StartAt": "C", "States": {
            "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "D"}]},
            "D": {"Type": "Succeed"}}}],
            "Catch": [{"ErrorEquals": ["States.NoChoiceMatched"], "Next": "Done"}], "End": True},
        "Done": {"Type": "Pass", "End": True}}}
    assert run(definition, {}).output_value == {"Error": "States.NoChoiceMatched", "Cause": "No Matches!"}


def test_states_exceed_tolerated_failure_threshold(run):
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ToleratedFailureCount": 1,
        "ItemProcessor": {"StartAt": "Check", "States": {"Check": {"Type": "Choice", "Choices": [
            {"Variable": "$", "NumericGreaterThan": 0, "Next": "Ok"}], "Default": "Bad"},
            "Ok": {"Type": "Succeed"}, "Bad": {"Type": "Fail", "Error": "NotPositive"}}},
        "End": True}}}
    assert run(definition, [1, -1, 2]).output_value == [1, {"Error": "NotPositive", "Cause": ""}, 2]
    execution = run(definition, [1, -1, -2])
    assert (execution.error, execution.cause) == ("States.ExceedToleratedFailureThreshold", "The specified tolerated failure threshold was exceeded")


def test_states_query_evaluation_error_can_be_caught(run):
    definition = {"QueryLanguage": "JSONata", "StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work",
              "Arguments": "{% $states.input.a + 'text' %}",
              "Catch": [{"ErrorEquals": ["States.QueryEvaluationError"], "Output": "{% $states.errorOutput.Error %}", "Next": "Done"}],
              "End": True},
        "Done": {"Type": "Pass", "End": True}}}
    execution = run(definition, {"a": 1}, resources={"work": flaky([])})
    assert execution.output_value == "States.QueryEvaluationError"
    assert "EvaluationFailed" in execution.event_types


def test_states_item_reader_failed(run):
    def broken_object(parameters, context):
        return "not json ["

    resources = Resources().add_integration("arn:aws:states:::s3:getObject", broken_object)
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemReader": {"Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": "JSON"},
                                      "Parameters": {"Bucket": "b", "Key": "items.json"}},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                          "StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "Catch": [{"ErrorEquals": ["States.ItemReaderFailed"], "Next": "Done"}], "End": True},
        "Done": {"Type": "Pass", "End": True}}}
    execution = run(definition, {}, resources=resources)
    assert execution.output_value["Error"] == "States.ItemReaderFailed"


def test_unregistered_integration_is_a_runtime_error_naming_the_fix(run):
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::sagemaker:createTransformJob.sync", "End": True}}}
    execution = run(definition, {})
    assert execution.error == "States.Runtime"
    assert "Resources.add_integration('arn:aws:states:::sagemaker:createTransformJob.sync', fn)" in execution.cause


def test_integrations_may_raise_states_errors_with_their_own_names(run):
    def get_object(parameters, context):
        raise StatesError("S3.NoSuchKeyException", "The specified key does not exist.")

    resources = Resources().add_integration("arn:aws:states:::aws-sdk:s3:getObject", get_object)
    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject", "End": True}}}
    execution = run(definition, {}, resources=resources)
    assert (execution.error, execution.cause) == ("S3.NoSuchKeyException", "The specified key does not exist.")
