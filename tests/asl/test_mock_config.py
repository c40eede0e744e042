"""Step Functions Local's mock files, starting from its documentation's own example.

``data/sfn_local_mock_config.json`` and ``data/lambda_sqs_integration.asl.json``
are the example of the Step Functions Local guide (LambdaSQSIntegration with
its HappyPath, RetryPath and HybridPath test cases), verbatim.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones.asl import FAILED, SUCCEEDED, MockConfig, MockConfigError
from scones.asl.mock_config import MockedResponse

DATA = Path(__file__).parent / "data"
CONFIG = DATA / "sfn_local_mock_config.json"
DEFINITION = DATA / "lambda_sqs_integration.asl.json"
SQS = "arn:aws:states:::sqs:sendMessage"
LAMBDA_RETURN = {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}
SQS_RETURN = {"MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51", "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}
TASK = ["TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited"]


def run_case(asl, test_case, **options):
    return asl.run(str(DEFINITION), {"orderId": 7}, mock_config=CONFIG, test_case=test_case, **options)


def test_happy_path_answers_both_tasks_from_their_mocks(asl):
    execution = run_case(asl, "HappyPath")
    assert execution.status == SUCCEEDED
    assert execution.output_value == SQS_RETURN
    assert execution.path == ["LambdaState", "SQSState"]
    assert execution.event_types == ["ExecutionStarted", *TASK, *TASK, "ExecutionSucceeded"]
    assert execution.state("LambdaState").output == LAMBDA_RETURN
    assert execution.state("SQSState").input == LAMBDA_RETURN
    scheduled = [event["taskScheduledEventDetails"] for event in execution.history if event["type"] == "TaskScheduled"]
    assert json.loads(scheduled[1]["parameters"]) == {
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/myQueue", "MessageBody": LAMBDA_RETURN}
    assert asl.clock.sleeps == []


def test_retry_path_fails_three_attempts_then_succeeds_with_the_definitions_backoff(asl):
    execution = run_case(asl, "RetryPath")
    assert execution.status == SUCCEEDED
    retries = execution.retries("LambdaState")
    assert [(retry.error, retry.cause) for retry in retries] == [
        ("Lambda.ResourceNotReadyException", "Lambda resource is not ready."),
        ("Lambda.TimeoutException", "Lambda timed out."),
        ("Lambda.TimeoutException", "Lambda timed out."),
    ]
    assert [retry.wait_seconds for retry in retries] == [2, 4, 8]  # IntervalSeconds 2, BackoffRate 2
    assert asl.clock.sleeps == [2, 4, 8]
    assert execution.event_types[:14] == ["ExecutionStarted", "TaskStateEntered", *["TaskScheduled", "TaskStarted", "TaskFailed"] * 3,
                                          "TaskScheduled", "TaskStarted", "TaskSucceeded"]
    failed = [event["taskFailedEventDetails"] for event in execution.history if event["type"] == "TaskFailed"]
    assert failed[0] == {"resourceType": "lambda", "resource": "invoke", "error": "Lambda.ResourceNotReadyException",
                         "cause": "Lambda resource is not ready."}


def test_hybrid_path_runs_the_unmocked_state_against_the_bound_resource(asl):
    sent = []

    def send_message(parameters, context):
        sent.append(parameters)
        return {"MessageId": "m-1", "MD5OfMessageBody": "d41d8cd98f00b204e9800998ecf8427e"}

    execution = run_case(asl, "HybridPath", resources={SQS: send_message})
    assert execution.status == SUCCEEDED
    assert execution.output_value == {"MessageId": "m-1", "MD5OfMessageBody": "d41d8cd98f00b204e9800998ecf8427e"}
    assert sent == [{"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/myQueue", "MessageBody": LAMBDA_RETURN}]


def test_hybrid_path_without_a_bound_resource_fails_like_a_missing_integration(asl):
    execution = run_case(asl, "HybridPath")
    assert (execution.status, execution.error) == (FAILED, "States.Runtime")
    assert "No handler is registered for the resource 'arn:aws:states:::sqs:sendMessage'" in execution.cause


def test_a_mocked_throw_goes_to_the_catcher_as_a_service_error_would(asl):
    definition = json.loads(DEFINITION.read_text())
    definition["States"]["LambdaState"].update(Retry=[], Catch=[{"ErrorEquals": ["Lambda.ResourceNotReadyException"],
                                                                 "ResultPath": "$.failure", "Next": "SQSState"}])
    config = json.loads(CONFIG.read_text())
    config["StateMachines"]["LambdaSQSIntegration"]["TestCases"]["NotReady"] = {
        "LambdaState": "LambdaMockedResourceNotReady", "SQSState": "MockedSQSSuccess"}
    execution = asl.run(definition, {"orderId": 7}, mock_config=config, test_case="NotReady")
    assert execution.status == SUCCEEDED
    assert execution.state("SQSState").input == {"orderId": 7, "failure": {
        "Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}}
    assert execution.state("LambdaState").error == "Lambda.ResourceNotReadyException"


def test_attempts_past_the_mocked_ones_fail_the_execution_naming_the_mock(asl):
    config = json.loads(CONFIG.read_text())
    config["MockedResponses"]["MockedLambdaRetry"].pop("3")
    execution = asl.run(str(DEFINITION), {}, mock_config=config, test_case="RetryPath")
    assert (execution.status, execution.error) == (FAILED, "States.Runtime")
    assert "The mocked response 'MockedLambdaRetry' has no answer for attempt 3 (it defines attempts 0-2)" in execution.cause


def test_a_mocked_lambda_function_arn_needs_no_registered_function(asl):
    definition = {"StartAt": "Call", "States": {"Call": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:absent", "End": True}}}
    config = {"StateMachines": {"M": {"TestCases": {"T": {"Call": "Answer"}}}},
              "MockedResponses": {"Answer": {"0": {"Return": {"anything": ["the", "function", "returns"]}}}}}
    execution = asl.run(definition, {}, mock_config=config, test_case="T")
    assert execution.output_value == {"anything": ["the", "function", "returns"]}
    assert execution.event_types == ["ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted",
                                     "LambdaFunctionSucceeded", "TaskStateExited", "ExecutionSucceeded"]


def test_a_mocked_state_inside_a_map_counts_attempts_across_iterations(asl):
    definition = {"StartAt": "Each", "States": {"Each": {
        "Type": "Map", "End": True, "ItemProcessor": {"StartAt": "Work", "States": {"Work": {
            "Type": "Task", "Resource": "arn:aws:states:::aws-sdk:s3:getObject",
            "Parameters": {"Bucket": "b", "Key.$": "$"}, "End": True}}}}}}
    config = {"StateMachines": {"M": {"TestCases": {"T": {"Work": "Objects"}}}},
              "MockedResponses": {"Objects": {"0": {"Return": {"Body": "first"}}, "1-2": {"Return": {"Body": "later"}}}}}
    execution = asl.run(definition, ["a", "b", "c"], mock_config=config, test_case="T")
    assert execution.output_value == [{"Body": "first"}, {"Body": "later"}, {"Body": "later"}]
    assert execution.path == ["Each", "Each/Work", "Each/Work", "Each/Work"]
    assert [visit.input for visit in execution.visits("Each/Work")] == ["a", "b", "c"]


def test_the_state_machine_name_is_needed_only_when_the_file_has_several():
    config = json.loads(CONFIG.read_text())
    assert set(MockConfig.load(config).test_case("HybridPath")) == {"LambdaState"}
    config["StateMachines"]["Other"] = {"TestCases": {}}
    with pytest.raises(MockConfigError, match="name the state machine .* the file has LambdaSQSIntegration, Other"):
        MockConfig.load(config).test_case("HybridPath")
    assert set(MockConfig.load(config).test_case("HybridPath", "LambdaSQSIntegration")) == {"LambdaState"}


@pytest.mark.parametrize("change, message", [
    (lambda c: c["StateMachines"]["LambdaSQSIntegration"]["TestCases"]["HappyPath"].update(SQSState="Typo"),
     "TestCases.HappyPath.SQSState: no MockedResponses entry is named 'Typo'"),
    (lambda c: c["MockedResponses"]["MockedSQSSuccess"].update({"first": {"Return": {}}}),
     '"first" is not an attempt number or range'),
    (lambda c: c["MockedResponses"]["MockedSQSSuccess"].update({"0-1": {"Return": {}}}), "MockedSQSSuccess overlap"),
    (lambda c: c["MockedResponses"]["MockedSQSSuccess"].update({"2": {"Return": {}}}), "leave attempt 1 without a response"),
    (lambda c: c["MockedResponses"]["MockedSQSSuccess"]["0"].update(Throw={"Error": "E"}), 'exactly one of "Return" or "Throw"'),
    (lambda c: c["MockedResponses"]["LambdaMockedResourceNotReady"]["0"]["Throw"].pop("Error"), '"Error": "Name"'),
    (lambda c: c.update(Mocks={}), 'the top level must be an object with "StateMachines" and "MockedResponses"'),
])
def test_malformed_configs_are_refused_naming_the_place_and_the_fix(change, message):
    config = json.loads(CONFIG.read_text())
    change(config)
    with pytest.raises(MockConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        MockConfig.load(config)


def test_unknown_test_case_file_and_json_are_refused(tmp_path, asl):
    with pytest.raises(MockConfigError, match="has no test case 'SadPath'; it has HappyPath, HybridPath, RetryPath"):
        run_case(asl, "SadPath")
    with pytest.raises(MockConfigError, match="cannot read the mock config"):
        MockConfig.load(tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text('{"StateMachines": ')
    with pytest.raises(MockConfigError, match=r"broken.json: not valid JSON \(Expecting value at line 1 column 19\)"):
        MockConfig.load(tmp_path / "broken.json")
    with pytest.raises(MockConfigError, match="needs mock_config=PATH"):
        asl.run(str(DEFINITION), {}, test_case="HappyPath")


def test_mocking_a_state_that_is_not_a_task_is_refused(asl):
    config = json.loads(CONFIG.read_text())
    config["StateMachines"]["LambdaSQSIntegration"]["TestCases"]["HappyPath"]["LambdaStat"] = "MockedLambdaSuccess"
    with pytest.raises(MockConfigError, match="mocks 'LambdaStat', which is not a Task state .*Tasks: LambdaState, SQSState"):
        asl.run(str(DEFINITION), {}, mock_config=config, test_case="HappyPath")


def test_mocked_returns_are_checked_against_the_real_response_shape(asl):
    config = json.loads(CONFIG.read_text())
    config["MockedResponses"]["MockedSQSSuccess"]["0"]["Return"] = {"MessageID": "x", "MD5OfMessageBody": 5}
    with pytest.raises(MockConfigError) as refused:
        asl.run(str(DEFINITION), {}, mock_config=config, test_case="HappyPath")
    assert str(refused.value) == (
        "the mocked response 'MockedSQSSuccess' (attempt 0) of state 'SQSState' does not fit the response of "
        "arn:aws:states:::sqs:sendMessage: 'MessageID' is not a field of SendMessageResult; 'MD5OfMessageBody' must be "
        "of type string, not a number. Fix the mock, or pass field_validation_mode='PRESENT' or 'NONE'.")
    execution = asl.run(str(DEFINITION), {}, mock_config=config, test_case="HappyPath", field_validation_mode="NONE")
    assert execution.output_value == {"MessageID": "x", "MD5OfMessageBody": 5}


@given(st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=6))
def test_attempt_ranges_answer_each_attempt_in_order(lengths):
    spec, first = {}, 0
    for index, length in enumerate(lengths):
        key = str(first) if length == 1 else f"{first}-{first + length - 1}"
        spec[key] = {"Return": {"segment": index}}
        first += length
    response = MockedResponse("R", spec, "test")
    expected = [index for index, length in enumerate(lengths) for _ in range(length)]
    assert [response.answer(attempt).give()["segment"] for attempt in range(first)] == expected
