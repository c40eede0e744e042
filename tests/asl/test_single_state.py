"""test_state: one state at a time, answered as AWS's TestState API answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scones.asl import TestStateError, test_state

DEFINITION = json.loads((Path(__file__).parent / "data" / "lambda_sqs_integration.asl.json").read_text())
TIMEOUT = {"errorOutput": {"error": "Lambda.TimeoutException", "cause": "Lambda timed out."}}

CLASSIFY = {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke",
    "InputPath": "$.image",
    "Parameters": {"FunctionName": "classifyImage", "Payload": {"data.$": "$.data", "id.$": "$$.Execution.Name"}},
    "ResultSelector": {"inferences.$": "$.Payload.inferences"},
    "ResultPath": "$.classified",
    "OutputPath": "$.classified",
    "Catch": [{"ErrorEquals": ["Lambda.ServiceException"], "ResultPath": "$.failure", "Next": "Retry later"},
              {"ErrorEquals": ["States.ALL"], "Next": "Give up"}],
    "Next": "Filter",
}
INPUT = {"image": {"data": "aGk="}, "request": 1}


def test_debug_shows_each_jsonpath_step_of_a_mocked_task():
    result = test_state(CLASSIFY, input=INPUT, inspection_level="DEBUG",
                        mock={"result": json.dumps({"StatusCode": 200, "Payload": {"inferences": [0.9, 0.1]}})},
                        context={"Execution": {"Name": "run-1"}})
    assert result == {
        "output": '{"inferences":[0.9,0.1]}',
        "inspectionData": {
            "input": '{"image":{"data":"aGk="},"request":1}',
            "afterInputPath": '{"data":"aGk="}',
            "afterParameters": '{"FunctionName":"classifyImage","Payload":{"data":"aGk=","id":"run-1"}}',
            "result": '{"StatusCode":200,"Payload":{"inferences":[0.9,0.1]}}',
            "afterResultSelector": '{"inferences":[0.9,0.1]}',
            "afterResultPath": '{"image":{"data":"aGk="},"request":1,"classified":{"inferences":[0.9,0.1]}}',
        },
        "nextState": "Filter",
        "status": "SUCCEEDED",
    }


def test_info_gives_status_output_and_next_state_only():
    result = test_state(CLASSIFY, input=INPUT, mock={"result": '{"Payload": {"inferences": [1]}}'})
    assert result == {"output": '{"inferences":[1]}', "nextState": "Filter", "status": "SUCCEEDED"}


def test_a_caught_error_reports_the_catcher_its_output_and_next_state():
    result = test_state(CLASSIFY, input=INPUT, inspection_level="DEBUG",
                        mock={"errorOutput": {"error": "Lambda.ServiceException", "cause": "busy"}})
    assert result["status"] == "CAUGHT_ERROR"
    assert (result["error"], result["cause"], result["nextState"]) == ("Lambda.ServiceException", "busy", "Retry later")
    assert json.loads(result["output"]) == {**INPUT, "failure": {"Error": "Lambda.ServiceException", "Cause": "busy"}}
    assert result["inspectionData"]["errorDetails"] == {"catchIndex": 0}
    other = test_state(CLASSIFY, input=INPUT, mock={"errorOutput": {"error": "Other"}}, inspection_level="DEBUG")
    assert (other["status"], other["nextState"], other["inspectionData"]["errorDetails"]) == (
        "CAUGHT_ERROR", "Give up", {"catchIndex": 1})


@pytest.mark.parametrize("retries, backoff", [(0, 2), (1, 4), (2, 8)])
def test_an_error_a_retrier_still_covers_is_retriable_with_its_backoff(retries, backoff):
    result = test_state(DEFINITION, "LambdaState", {}, mock=TIMEOUT, inspection_level="DEBUG", retrier_retry_count=retries)
    assert result["status"] == "RETRIABLE"
    assert (result["error"], result["cause"]) == ("Lambda.TimeoutException", "Lambda timed out.")
    assert "nextState" not in result and "output" not in result
    assert result["inspectionData"]["errorDetails"] == {"retryIndex": 0, "retryBackoffIntervalSeconds": backoff}


def test_spent_retries_without_a_catcher_fail():
    result = test_state(DEFINITION, "LambdaState", {}, mock=TIMEOUT, retrier_retry_count=3)
    assert result == {"error": "Lambda.TimeoutException", "cause": "Lambda timed out.", "status": "FAILED"}


def test_the_retry_count_is_the_context_objects_retry_count():
    state = {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
             "Parameters": {"Bucket": "b", "Key.$": "States.Format('try-{}', $$.State.RetryCount)"}, "End": True}
    result = test_state(state, input={}, mock={"result": '{"Body": "x"}'}, retrier_retry_count=2, inspection_level="DEBUG")
    assert result["inspectionData"]["afterParameters"] == '{"Bucket":"b","Key":"try-2"}'
    assert "nextState" not in result


def test_an_unmocked_task_calls_the_bound_resource():
    def classify(event, context):
        return {"inferences": [len(event["data"])]}

    state = {**CLASSIFY, "Parameters": {"FunctionName": "classifyImage", "Payload.$": "$"}}
    result = test_state(state, input=INPUT, resources={"classifyImage": classify})
    assert result == {"output": '{"inferences":[4]}', "nextState": "Filter", "status": "SUCCEEDED"}


def test_jsonata_states_show_arguments_result_and_variables():
    state = {"Type": "Task", "QueryLanguage": "JSONata", "Resource": "arn:aws:states:::lambda:invoke",
             "Arguments": {"FunctionName": "f", "Payload": "{% $states.input.x + $offset %}"},
             "Assign": {"total": "{% $states.result.Payload %}"},
             "Output": "{% {'total': $states.result.Payload} %}", "End": True}
    result = test_state(state, input={"x": 2}, variables={"offset": 40}, inspection_level="DEBUG",
                        mock={"result": '{"StatusCode": 200, "Payload": 42}'})
    assert result == {
        "output": '{"total":42}',
        "inspectionData": {
            "input": '{"x":2}',
            "afterArguments": '{"FunctionName":"f","Payload":42}',
            "result": '{"StatusCode":200,"Payload":42}',
            "variables": '{"offset":40,"total":42}',
        },
        "status": "SUCCEEDED",
    }


def test_choice_pass_succeed_and_fail_states():
    choice = {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Next": "Big"}], "Default": "Small"}
    assert test_state(choice, input={"n": 2}) == {"output": '{"n":2}', "nextState": "Big", "status": "SUCCEEDED"}
    assert test_state(choice, input={"n": 0})["nextState"] == "Small"
    without_default = {key: value for key, value in choice.items() if key != "Default"}
    assert test_state(without_default, input={"n": 0}) == {"error": "States.NoChoiceMatched", "cause": "No Matches!", "status": "FAILED"}
    passing = {"Type": "Pass", "Parameters": {"doubled.$": "States.MathAdd($.n, $.n)"}, "ResultPath": "$.out", "Next": "Done"}
    assert test_state(passing, input={"n": 3}, inspection_level="DEBUG")["inspectionData"] == {
        "input": '{"n":3}', "afterInputPath": '{"n":3}', "afterParameters": '{"doubled":6}', "result": '{"doubled":6}',
        "afterResultPath": '{"n":3,"out":{"doubled":6}}'}
    assert test_state(passing, input={"n": 3})["output"] == '{"n":3,"out":{"doubled":6}}'
    assert test_state({"Type": "Succeed"}, input={"a": 1}) == {"output": '{"a":1}', "status": "SUCCEEDED"}
    assert test_state({"Type": "Fail", "Error": "Bad", "Cause": "it is"}) == {"error": "Bad", "cause": "it is", "status": "FAILED"}


def test_a_wait_state_does_not_really_wait():
    result = test_state({"Type": "Wait", "Seconds": 86400, "Next": "Later"}, input={})
    assert result == {"output": "{}", "nextState": "Later", "status": "SUCCEEDED"}


def test_map_and_parallel_states_take_their_result_from_the_mock():
    parallel = {"Type": "Parallel", "End": True, "ResultPath": "$.both", "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}]}
    assert test_state(parallel, input={"k": 1}, mock={"result": "[1, 2]"})["output"] == '{"k":1,"both":[1,2]}'
    with pytest.raises(TestStateError, match="a Parallel state can only be tested with a mock of its result"):
        test_state(parallel, input={})
    failed = test_state(parallel, input={}, mock={"errorOutput": {"error": "States.BranchFailed"}}, error_caused_by_state="A")
    assert failed == {"error": "States.BranchFailed", "status": "FAILED"}
    with pytest.raises(TestStateError, match="error_caused_by_state 'B' is not a state inside 'TestState'"):
        test_state(parallel, input={}, mock={"errorOutput": {"error": "E"}}, error_caused_by_state="B")


def test_mocked_results_are_checked_with_the_field_validation_mode():
    bad = {"result": json.dumps({"StatusCode": "200", "Payload": {}})}
    with pytest.raises(TestStateError, match="'StatusCode' must be of type integer, not a string .fieldValidationMode STRICT."):
        test_state(DEFINITION, "LambdaState", {}, mock=bad)
    assert test_state(DEFINITION, "LambdaState", {}, mock={**bad, "fieldValidationMode": "NONE"})["status"] == "SUCCEEDED"


@pytest.mark.parametrize("call, message", [
    (lambda: test_state({"Type": "Pass", "End": True}, mock={"result": "{}"}), "a mock can only be given for a Task, Map or Parallel"),
    (lambda: test_state({"Type": "Pass", "End": True}, context={}), "context may only be given together with a mock"),
    (lambda: test_state(DEFINITION, "Nope"), "the definition has no state named 'Nope'"),
    (lambda: test_state({"Type": "Pass", "End": True}, variables="{x"), "variables is not JSON text"),
    (lambda: test_state({"Type": "Pass", "End": True}, variables="[1]"), "variables must be a JSON object"),
    (lambda: test_state(DEFINITION), 'a definition without state_name must be one state'),
    (lambda: test_state(DEFINITION, "LambdaState", mock={"result": "{", "errorOutput": {}}), 'a mock is {"result"'),
    (lambda: test_state(DEFINITION, "LambdaState", inspection_level="ALL"), "inspection_level must be one of INFO, DEBUG, TRACE"),
    (lambda: test_state({"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "End": True,
                                "Parameters": {"FunctionName": "f", "Payload": {"token.$": "$$.Task.Token"}}}),
     "activities, .sync and .waitForTaskToken tasks can only be tested with a mock"),
])
def test_requests_teststate_refuses_are_refused(call, message):
    with pytest.raises(TestStateError, match=message.replace("(", r"\(").replace("{", r"\{").replace(".", r"\.")):
        call()
