"""Pass, Wait, Choice, Succeed and Fail states, with the documentation's examples.

https://docs.aws.amazon.com/step-functions/latest/dg/state-pass.html
https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
https://docs.aws.amazon.com/step-functions/latest/dg/state-fail.html
"""

import json
from datetime import datetime, timezone

import pytest

from scones.asl import FAILED, SUCCEEDED


def single(state: dict, name: str = "S") -> dict:
    return {"StartAt": name, "States": {name: {**state, "End": True} if state["Type"] not in ("Succeed", "Fail", "Choice") else state}}


def test_pass_result_into_result_path(run):
    """The "No-op" example of the Pass state page."""
    execution = run(single({"Type": "Pass", "Result": {"x-datum": 0.381018, "y-datum": 622.2269926397355}, "ResultPath": "$.coords"}),
                    {"georefOf": "Home"})
    assert execution.status == SUCCEEDED
    assert execution.output_value == {"georefOf": "Home", "coords": {"x-datum": 0.381018, "y-datum": 622.2269926397355}}
    assert execution.event_types == ["ExecutionStarted", "PassStateEntered", "PassStateExited", "ExecutionSucceeded"]


def test_pass_without_fields_passes_input_through(run):
    assert run(single({"Type": "Pass"}), {"a": 1}).output_value == {"a": 1}


def test_wait_seconds_uses_the_clock(run, clock):
    """wait_ten_seconds from the Wait state page; the fake clock moves, nothing sleeps."""
    execution = run(single({"Type": "Wait", "Seconds": 10}), {"x": 1})
    assert execution.output_value == {"x": 1}
    assert clock.sleeps == [10.0]
    entered, exited = execution.history[1], execution.history[2]
    assert (entered["type"], exited["type"]) == ("WaitStateEntered", "WaitStateExited")
    assert (exited["timestamp"] - entered["timestamp"]).total_seconds() == 10


def test_wait_until_timestamp(run, clock):
    execution = run(single({"Type": "Wait", "Timestamp": "2024-01-01T00:05:00Z"}))
    assert execution.status == SUCCEEDED
    assert clock.now() == datetime(2024, 1, 1, 0, 5, tzinfo=timezone.utc)


def test_wait_seconds_path_and_timestamp_path(run, clock):
    run(single({"Type": "Wait", "SecondsPath": "$.expiryseconds"}), {"expiryseconds": 30})
    run(single({"Type": "Wait", "TimestampPath": "$.expirydate"}), {"expirydate": "2024-01-01T01:00:00Z"})
    assert clock.sleeps == [30.0, 3570.0]


def test_wait_timestamp_in_the_past_does_not_wait(run, clock):
    run(single({"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z"}))
    assert clock.sleeps == []


@pytest.mark.parametrize("value, problem", [
    ("ten", "cannot be parsed as a long value: $.s == ten"),
    (1.5, "cannot be parsed as a long value: $.s == 1.5"),
    (-1, "references a negative value: $.s == -1"),
])
def test_wait_seconds_path_must_be_a_count(run, value, problem):
    execution = run(single({"Type": "Wait", "SecondsPath": "$.s"}), {"s": value})
    assert (execution.status, execution.error) == (FAILED, "States.Runtime")
    assert execution.cause == (
        f"An error occurred while executing the state 'S' (entered at the event id #2). The SecondsPath parameter {problem}")


def test_wait_path_that_finds_nothing(run):
    execution = run(single({"Type": "Wait", "TimestampPath": "$.t"}), {})
    assert execution.cause == ("An error occurred while executing the state 'S' (entered at the event id #2). "
                               "The TimestampPath parameter does not reference an input value: $.t")


def test_wait_timestamp_path_must_be_an_iso_8601_offset_date_time(run):
    execution = run(single({"Type": "Wait", "TimestampPath": "$.t"}), {"t": "2016-12-05T21:29:29"})
    assert execution.cause == (
        "An error occurred while executing the state 'S' (entered at the event id #2). The TimestampPath parameter does "
        "not reference a valid ISO-8601 extended offset date-time format string: $.t == 2016-12-05T21:29:29")


CHOICE = {
    "StartAt": "ChoiceStateX",
    "States": {
        "ChoiceStateX": {
            "Type": "Choice",
            "Choices": [
                {"Not": {"Variable": "$.type", "StringEquals": "Private"}, "Next": "Public"},
                {"And": [
                    {"Variable": "$.value", "IsPresent": True},
                    {"Variable": "$.value", "IsNumeric": True},
                    {"Variable": "$.value", "NumericGreaterThanEquals": 20},
                    {"Variable": "$.value", "NumericLessThan": 30},
                ], "Next": "ValueInTwenties"},
                {"And": [
                    {"Variable": "$.rating", "IsPresent": True},
                    {"Variable": "$.rating", "IsNumeric": True},
                    {"Variable": "$.auditThreshold", "IsNumeric": True},
                    {"Variable": "$.rating", "NumericGreaterThanPath": "$.auditThreshold"},
                ], "Next": "StartAudit"},
            ],
            "Default": "DefaultState",
        },
        "Public": {"Type": "Pass", "Result": "Public", "End": True},
        "ValueInTwenties": {"Type": "Pass", "Result": "ValueInTwenties", "End": True},
        "StartAudit": {"Type": "Pass", "Result": "StartAudit", "End": True},
        "DefaultState": {"Type": "Fail", "Error": "DefaultStateError", "Cause": "No Matches!"},
    },
}


@pytest.mark.parametrize(
    "state_input, outcome",
    [
        ({"type": "Public"}, "Public"),
        ({"type": "Private", "value": 22}, "ValueInTwenties"),
        ({"type": "Private", "value": 30, "rating": 55, "auditThreshold": 50}, "StartAudit"),
    ],
)
def test_choice_example_from_the_spec(run, state_input, outcome):
    """The ChoiceStateX example of the States Language spec and the Choice state page."""
    execution = run(CHOICE, state_input)
    assert execution.output_value == outcome
    assert execution.event_types[1:3] == ["ChoiceStateEntered", "ChoiceStateExited"]


def test_choice_default_to_fail(run):
    execution = run(CHOICE, {"type": "Private", "value": 50})
    assert (execution.status, execution.error, execution.cause) == (FAILED, "DefaultStateError", "No Matches!")
    assert execution.event_types[-2:] == ["FailStateEntered", "ExecutionFailed"]
    assert execution.history[-1]["executionFailedEventDetails"] == {"error": "DefaultStateError", "cause": "No Matches!"}


def test_choice_without_match_or_default_is_no_choice_matched(run):
    definition = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": True, "Next": "Done"}]},
        "Done": {"Type": "Succeed"}}}
    execution = run(definition, {"x": False})
    assert (execution.error, execution.cause) == ("States.NoChoiceMatched", "No Matches!")
    assert execution.event_types == ["ExecutionStarted", "ChoiceStateEntered", "ExecutionFailed"]


def test_choice_variable_that_is_missing_is_a_runtime_error(run):
    definition = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "StringEquals": "a", "Next": "Done"}], "Default": "Done"},
        "Done": {"Type": "Succeed"}}}
    execution = run(definition, {})
    assert execution.error == "States.Runtime"
    assert execution.cause.endswith("Invalid path '$.x': The choice state's condition path references an invalid value.")


def test_choice_output_path_applies_to_the_effective_input(run):
    definition = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "InputPath": "$.in", "OutputPath": "$.keep",
              "Choices": [{"Variable": "$.go", "BooleanEquals": True, "Next": "Done"}]},
        "Done": {"Type": "Succeed"}}}
    assert run(definition, {"in": {"go": True, "keep": 7}}).output_value == 7


def test_succeed_state_with_paths(run):
    execution = run(single({"Type": "Succeed", "InputPath": "$.a", "OutputPath": "$.b"}), {"a": {"b": "done"}})
    assert execution.output_value == "done"
    assert execution.event_types == ["ExecutionStarted", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"]


def test_fail_state_with_error_and_cause(run):
    execution = run(single({"Type": "Fail", "Error": "ErrorA", "Cause": "Kaiju attack"}))
    assert (execution.status, execution.error, execution.cause, execution.output_value) == (FAILED, "ErrorA", "Kaiju attack", None)


def test_fail_state_with_error_path_and_cause_path(run):
    """ErrorPath and CausePath may read the context object and use string intrinsics."""
    execution = run(single({"Type": "Fail", "ErrorPath": "$$.State.Name", "CausePath": "States.Format('bad {}', $.item)"}, "FailState"),
                    {"item": 42})
    assert (execution.error, execution.cause) == ("FailState", "bad 42")


def test_fail_without_error_or_cause(run):
    execution = run(single({"Type": "Fail"}))
    assert (execution.status, execution.error, execution.cause) == (FAILED, None, None)
    assert "executionFailedEventDetails" not in execution.history[-1]


def test_fail_error_path_must_be_a_string(run):
    execution = run(single({"Type": "Fail", "ErrorPath": "$.code"}), {"code": 500})
    assert execution.error == "States.Runtime"
    assert "The value of the field 'Error' must be a string, but was: 500" in execution.cause


def test_pass_data_flow_fields_in_order(run):
    """InputPath → Parameters → ResultPath → OutputPath on a Pass state."""
    definition = single({
        "Type": "Pass", "InputPath": "$.in", "Parameters": {"doubled.$": "States.Array($.v, $.v)", "static": 1},
        "ResultPath": "$.result", "OutputPath": "$.result",
    })
    assert run(definition, {"in": {"v": 3}}).output_value == {"doubled": [3, 3], "static": 1}


def test_history_payloads_are_compact_json(run):
    execution = run(single({"Type": "Pass", "Result": {"b": [1, 2]}}), {"a": "é"})
    assert execution.history[0]["executionStartedEventDetails"]["input"] == '{"a":"é"}'
    assert execution.history[2]["stateExitedEventDetails"] == {"name": "S", "output": '{"b":[1,2]}', "outputDetails": {"truncated": False}}
    assert json.loads(execution.history[-1]["executionSucceededEventDetails"]["output"]) == {"b": [1, 2]}
