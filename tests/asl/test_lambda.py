"""Lambda tasks: the optimized lambda:invoke integration and legacy function ARNs.

https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html
https://docs.aws.amazon.com/lambda/latest/dg/python-context.html
https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html
"""

import base64
import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scones.asl import FAILED, SUCCEEDED, FakeClock, Resources, StatesError
from scones.asl.lambda_invoke import REQUEST_LIMIT_BYTES, LambdaFunction, invoke
from scones.asl.resources import TaskContext, call, classify

ARN = "arn:aws:lambda:us-east-1:724320200543:function:filterPredictions"


class THRESHOLD_CONFIDENCE_NOT_MET(Exception):
    pass


def invoke_task(function_name: str, **fields) -> dict:
    return {"StartAt": "Invoke", "States": {"Invoke": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": function_name, "Payload.$": "$"}, "End": True, **fields}}}


def legacy_task(arn: str = ARN, **fields) -> dict:
    return {"StartAt": "Invoke", "States": {"Invoke": {"Type": "Task", "Resource": arn, "End": True, **fields}}}


def test_lambda_invoke_result_wraps_the_payload_like_aws(run):
    execution = run(invoke_task(ARN + ":$LATEST"), {"inferences": [0.9, 0.1]},
                    resources={"filterPredictions": lambda event, context: {"statusCode": 200, "body": event}})
    output = execution.output_value
    assert execution.status == SUCCEEDED
    assert sorted(output) == ["ExecutedVersion", "Payload", "SdkHttpMetadata", "SdkResponseMetadata", "StatusCode"]
    assert output["Payload"] == {"statusCode": 200, "body": {"inferences": [0.9, 0.1]}}
    assert (output["StatusCode"], output["ExecutedVersion"]) == (200, "$LATEST")
    request_id = output["SdkResponseMetadata"]["RequestId"]
    headers = output["SdkHttpMetadata"]["HttpHeaders"]
    assert output["SdkHttpMetadata"]["HttpStatusCode"] == 200
    assert headers["x-amzn-RequestId"] == request_id
    assert headers["Content-Type"] == "application/json"
    assert headers["Date"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert headers["Content-Length"] == str(len(json.dumps(output["Payload"])))
    assert output["SdkHttpMetadata"]["AllHttpHeaders"]["x-amzn-RequestId"] == [request_id]


def test_lambda_invoke_history_events(run):
    execution = run(invoke_task("filterPredictions"), {"a": 1}, resources={"filterPredictions": lambda event, context: event})
    assert execution.event_types == [
        "ExecutionStarted", "TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited", "ExecutionSucceeded",
    ]
    scheduled = execution.history[2]["taskScheduledEventDetails"]
    assert scheduled == {"resourceType": "lambda", "resource": "invoke", "region": "us-east-1",
                         "parameters": '{"FunctionName":"filterPredictions","Payload":{"a":1}}'}
    assert execution.history[3]["taskStartedEventDetails"] == {"resourceType": "lambda", "resource": "invoke"}
    succeeded = execution.history[4]["taskSucceededEventDetails"]
    assert json.loads(succeeded["output"])["Payload"] == {"a": 1}


@pytest.mark.parametrize("function_name", [
    "filterPredictions",
    "filterPredictions:$LATEST",
    "724320200543:function:filterPredictions",
    ARN,
    ARN + ":$LATEST",
])
def test_function_names_resolve_from_name_partial_and_full_arns(run, function_name):
    execution = run(invoke_task(function_name), {}, resources={"filterPredictions": lambda event, context: "ok"})
    assert execution.output_value["Payload"] == "ok"


def test_output_path_payload_like_the_exported_workflows(run):
    execution = run(invoke_task("f", OutputPath="$.Payload.body"), {"x": 1}, resources={"f": lambda event, context: {"body": event}})
    assert execution.output_value == {"x": 1}


def test_legacy_function_arn_passes_the_effective_input_and_returns_the_raw_result(run):
    execution = run(legacy_task(InputPath="$.body"), {"body": {"x": 1}}, resources={"filterPredictions": lambda event, context: [event]})
    assert execution.output_value == [{"x": 1}]
    assert execution.event_types == [
        "ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted",
        "LambdaFunctionSucceeded", "TaskStateExited", "ExecutionSucceeded",
    ]
    assert execution.history[2]["lambdaFunctionScheduledEventDetails"] == {
        "resource": ARN, "input": '{"x":1}', "inputDetails": {"truncated": False}}
    assert "lambdaFunctionStartedEventDetails" not in execution.history[3]
    assert execution.history[4]["lambdaFunctionSucceededEventDetails"] == {"output": '[{"x":1}]', "outputDetails": {"truncated": False}}


def failing_filter(event, context):
    raise THRESHOLD_CONFIDENCE_NOT_MET("confidence 0.62 is below 0.93")


def test_handler_exception_becomes_the_error_named_by_its_class(run):
    execution = run(invoke_task("filterPredictions"), {}, resources={"filterPredictions": failing_filter})
    assert (execution.status, execution.error) == (FAILED, "THRESHOLD_CONFIDENCE_NOT_MET")
    cause = json.loads(execution.cause)
    assert list(cause) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert cause["errorMessage"] == "confidence 0.62 is below 0.93"
    assert cause["errorType"] == "THRESHOLD_CONFIDENCE_NOT_MET"
    assert len(cause["requestId"]) == 36
    assert cause["stackTrace"][0].startswith('  File "') and "in failing_filter" in cause["stackTrace"][0]
    assert execution.event_types[-3:] == ["TaskStarted", "TaskFailed", "ExecutionFailed"]
    failed = execution.history[-2]["taskFailedEventDetails"]
    assert failed == {"resourceType": "lambda", "resource": "invoke", "error": "THRESHOLD_CONFIDENCE_NOT_MET", "cause": execution.cause}


def test_legacy_handler_exception_is_lambda_function_failed(run):
    execution = run(legacy_task(), {}, resources={"filterPredictions": failing_filter})
    assert execution.event_types[-2:] == ["LambdaFunctionFailed", "ExecutionFailed"]
    assert execution.history[-2]["lambdaFunctionFailedEventDetails"]["error"] == "THRESHOLD_CONFIDENCE_NOT_MET"


def test_catch_task_failed_to_succeed_as_in_the_exported_workflow(run):
    definition = invoke_task("filterPredictions", Catch=[{"ErrorEquals": ["States.TaskFailed"], "Next": "Success"}])
    definition["States"]["Success"] = {"Type": "Succeed"}
    execution = run(definition, {}, resources={"filterPredictions": failing_filter})
    assert execution.status == SUCCEEDED
    assert execution.output_value["Error"] == "THRESHOLD_CONFIDENCE_NOT_MET"
    assert execution.event_types[-5:] == ["TaskFailed", "TaskStateExited", "SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"]


def test_missing_function_fails_as_aws_does(run):
    execution = run(invoke_task("nope"), {}, resources={})
    assert execution.error == "Lambda.ResourceNotFoundException"
    assert execution.cause.startswith(
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope:$LATEST (Service: AWSLambda; Status Code: 404; "
        "Error Code: ResourceNotFoundException; Request ID: ")
    assert execution.event_types[-3:] == ["TaskStarted", "TaskFailed", "ExecutionFailed"]


def test_missing_legacy_function_cannot_start(run):
    execution = run(legacy_task(), {}, resources={})
    assert execution.error == "Lambda.ResourceNotFoundException"
    assert "arn:aws:lambda:us-east-1:724320200543:function:filterPredictions" in execution.cause
    assert execution.event_types == ["ExecutionStarted", "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStartFailed", "ExecutionFailed"]


def test_handler_context_offers_what_lambda_offers(run, clock):
    seen = {}

    def handler(event, context):
        clock.advance(1.5)
        seen.update(
            aws_request_id=context.aws_request_id, function_name=context.function_name,
            function_version=context.function_version, invoked_function_arn=context.invoked_function_arn,
            memory_limit_in_mb=context.memory_limit_in_mb, log_group_name=context.log_group_name,
            log_stream_name=context.log_stream_name, remaining=context.get_remaining_time_in_millis(),
        )
        return None

    resources = Resources().add_lambda("serializeImageData", handler, timeout=3, memory_size=512)
    execution = run(invoke_task(ARN.replace("filterPredictions", "serializeImageData") + ":$LATEST"), {}, resources=resources)
    request_id = execution.output_value["SdkResponseMetadata"]["RequestId"]
    assert seen == {
        "aws_request_id": request_id,
        "function_name": "serializeImageData",
        "function_version": "$LATEST",
        "invoked_function_arn": "arn:aws:lambda:us-east-1:724320200543:function:serializeImageData:$LATEST",
        "memory_limit_in_mb": "512",
        "log_group_name": "/aws/lambda/serializeImageData",
        "log_stream_name": f"2024/01/01/[$LATEST]{request_id.replace('-', '')}",
        "remaining": 1500,
    }
    assert execution.output_value["Payload"] is None


def test_handler_outliving_its_timeout_is_sandbox_timedout(run, clock):
    def slow(event, context):
        clock.advance(4)
        return "late"

    execution = run(invoke_task("slow"), {}, resources=Resources().add_lambda("slow", slow, timeout=3))
    assert execution.error == "Sandbox.Timedout"
    assert json.loads(execution.cause)["errorMessage"].endswith("Error: Task timed out after 3.00 seconds")


def test_result_that_is_not_json_is_a_marshal_error(run):
    execution = run(invoke_task("f"), {}, resources={"f": lambda event, context: {1, 2}})
    assert execution.error == "Runtime.MarshalError"
    assert json.loads(execution.cause)["errorMessage"] == "Unable to marshal response: Object of type set is not JSON serializable"


def test_response_over_six_megabytes_fails_like_lambda(run):
    execution = run(invoke_task("big"), {}, resources={"big": lambda event, context: "x" * 6_300_000})
    assert execution.error == "Function.ResponseSizeTooLarge"
    assert json.loads(execution.cause)["errorMessage"] == "Response payload size exceeded maximum allowed payload size (6291556 bytes)."


def test_request_over_six_megabytes_is_refused_before_the_handler_runs():
    """A state's input is capped at 256 KiB, so only a direct invoke can build such a request."""
    function = LambdaFunction("f", lambda event, context: pytest.fail("handler must not run"), "us-east-1", "123456789012")
    request = json.dumps("x" * REQUEST_LIMIT_BYTES)
    with pytest.raises(StatesError) as raised:
        invoke(function, "x", request, request_id="r", qualifier=None, invoked_arn=function.arn, clock=FakeClock())
    assert raised.value.error == "Lambda.RequestTooLargeException"
    assert raised.value.cause.startswith("Request must be smaller than 6291456 bytes for the InvokeFunction operation")


def test_task_result_over_256_kib_fails_the_task_and_states_all_catches_it(run):
    """AWS: a result over 256 KiB (UTF-8 bytes) fails the task, naming the service, and a catcher handles it."""
    definition = invoke_task("big", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}])
    definition["States"]["Caught"] = {"Type": "Pass", "End": True}
    execution = run(definition, {}, resources={"big": lambda event, context: "é" * 140_000})  # 280 000 bytes
    assert execution.output_value == {
        "Error": "States.DataLimitExceeded",
        "Cause": "The state/task 'lambda' returned a result with a size exceeding the maximum number of bytes service limit.",
    }
    assert execution.event_types[-6:-3] == ["TaskStarted", "TaskFailed", "TaskStateExited"]


def test_lambda_function_result_over_256_kib_names_the_function_arn(run):
    execution = run(legacy_task(), {}, resources={"filterPredictions": lambda event, context: "x" * 300_000})
    assert execution.error == "States.DataLimitExceeded"
    assert execution.cause == (
        "The state/task 'arn:aws:lambda:us-east-1:724320200543:function:filterPredictions' returned a result with a "
        "size exceeding the maximum number of bytes service limit.")


def test_state_output_over_256_kib_cannot_be_caught(run):
    """A state's own output over the limit is terminal: no catcher applies (here Pass has none, Map's would not)."""
    half = "x" * 150_000  # each iteration's output fits; the Map's list of both does not
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": half, "End": True}}},
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], "End": True},
        "Caught": {"Type": "Succeed"}}}
    execution = run(definition, [1, 2])
    assert execution.error == "States.DataLimitExceeded"
    assert execution.cause == "The state/task 'M' returned a result with a size exceeding the maximum number of bytes service limit."


def test_null_payload_is_an_empty_event_and_json_text_payload_is_parsed(run):
    seen = []
    definition = invoke_task("f")
    parameters = definition["States"]["Invoke"]["Parameters"]
    parameters.pop("Payload.$", None)
    for payload in (None, '{"a": 1}', "plain"):
        parameters["Payload"] = payload
        output = run(definition, {}, resources={"f": lambda event, context: seen.append(event) or event}).output_value
    assert seen == [{}, {"a": 1}, "plain"]
    assert output["SdkHttpMetadata"]["HttpHeaders"]["Content-Length"] == str(len('"plain"'))


def test_log_type_tail_returns_the_log_result(run):
    definition = invoke_task("f")
    definition["States"]["Invoke"]["Parameters"]["LogType"] = "Tail"
    output = run(definition, {}, resources={"f": lambda event, context: 1}).output_value
    log = base64.b64decode(output["LogResult"]).decode()
    assert log.startswith(f"START RequestId: {output['SdkResponseMetadata']['RequestId']} Version: $LATEST\n")
    assert output["SdkHttpMetadata"]["HttpHeaders"]["X-Amz-Log-Result"] == output["LogResult"]


def test_async_invocation_type_returns_202_without_payload(run):
    definition = invoke_task("f")
    definition["States"]["Invoke"]["Parameters"]["InvocationType"] = "Event"
    output = run(definition, {}, resources={"f": lambda event, context: "ignored"}).output_value
    assert (output["StatusCode"], output["Payload"]) == (202, "")


def test_request_ids_are_reproducible_with_a_seeded_random(run):
    first = run(invoke_task("f"), {}, resources={"f": lambda e, c: 1}, random=random.Random(3))
    second = run(invoke_task("f"), {}, resources={"f": lambda e, c: 1}, random=random.Random(3))
    assert first.output_value["SdkResponseMetadata"] == second.output_value["SdkResponseMetadata"]
    assert first.name == second.name


@settings(max_examples=60, deadline=None)
@given(result=st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children, max_size=4), max_leaves=20))
def test_lambda_invoke_size_bound_covers_the_response_json(result):
    """The bound that lets the history encode a lambda:invoke response lazily is never below its real size."""
    resources = Resources().add_lambda("f", lambda event, context: result)
    context = TaskContext(execution_arn="arn", state_name="S", task_token=None, clock=FakeClock())
    response = call(classify("arn:aws:states:::lambda:invoke"), '{"FunctionName":"f","LogType":"Tail"}',
                    resources=resources, context=context, request_id="0" * 8 + "-0000-0000-0000-" + "0" * 12)
    assert len(json.dumps(response, separators=(",", ":"), ensure_ascii=False).encode("utf-8")) <= context.result_size_bound


def test_history_holds_the_task_result_json_when_read_later(run):
    execution = run(invoke_task("f"), {"é": [1.5, None]}, resources={"f": lambda event, context: event})
    succeeded = execution.history[4]["taskSucceededEventDetails"]
    assert json.loads(succeeded["output"])["Payload"] == {"é": [1.5, None]}
    assert succeeded["output"] == json.dumps(json.loads(succeeded["output"]), separators=(",", ":"), ensure_ascii=False)
    assert execution.history is execution.history  # built once, the same list on every read
