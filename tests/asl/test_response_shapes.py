"""Mocked results against botocore's response models, in TestState's three modes."""

from __future__ import annotations

import pytest

from scones.asl.response_shapes import NONE, PRESENT, STRICT, integration_operation, shape_problems

INVOKE = "arn:aws:states:::lambda:invoke"


def test_lambda_invoke_accepts_the_step_functions_response_with_any_json_payload():
    answer = {"ExecutedVersion": "$LATEST", "StatusCode": 200, "Payload": {"body": [1, {"x": None}]},
              "SdkHttpMetadata": {"HttpStatusCode": 200}, "SdkResponseMetadata": {"RequestId": "r"}}
    assert shape_problems(INVOKE, answer) == []


def test_unknown_and_mistyped_fields_are_named():
    assert shape_problems(INVOKE, {"StatusCode": "200", "Paylod": {}, "FunctionError": True}) == [
        "'StatusCode' must be of type integer, not a string",
        "'Paylod' is not a field of InvocationResponse",
        "'FunctionError' must be of type string, not a boolean",
    ]


def test_nested_lists_maps_and_structures_are_checked_with_their_path():
    resource = "arn:aws:states:::aws-sdk:dynamodb:getItem"
    assert shape_problems(resource, {"Item": {"id": {"S": "1"}, "tags": {"L": [{"N": "2"}]}}}) == []
    assert shape_problems(resource, {"Item": {"id": {"X": "1"}, "tags": {"L": [{"N": 2}]}}}) == [
        "'Item.id.X' is not a field of AttributeValue",
        "'Item.tags.L[0].N' must be of type string, not a number",
    ]


def test_strict_requires_the_required_fields_and_present_does_not():
    resource = "arn:aws:states:::aws-sdk:sfn:startExecution"  # StartExecutionOutput requires executionArn, startDate
    partial = {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:m:e"}
    assert shape_problems(resource, partial, STRICT) == ["the required field 'startDate' is missing"]
    assert shape_problems(resource, partial, PRESENT) == []
    assert shape_problems(resource, {"executionArn": 1}, PRESENT) == ["'executionArn' must be of type string, not a number"]


def test_none_checks_nothing_and_an_unknown_mode_is_refused():
    assert shape_problems(INVOKE, {"anything": object()}, NONE) == []
    with pytest.raises(ValueError, match="field_validation_mode must be one of STRICT, PRESENT, NONE, not 'LAX'"):
        shape_problems(INVOKE, {}, "LAX")


def test_sdk_integrations_must_name_an_operation_botocore_knows():
    assert shape_problems("arn:aws:states:::aws-sdk:s3:getObjekt", {}) == ["botocore knows no operation 'getObjekt' of 's3'"]
    assert shape_problems("arn:aws:states:::aws-sdk:s3:getObject", {"Body": "hello", "ContentLength": 5}) == []


@pytest.mark.parametrize("resource", [
    "arn:aws:lambda:us-east-1:123456789012:function:serializeImageData",
    "arn:aws:states:us-east-1:123456789012:activity:review",
    "arn:aws:states:::sagemaker:createTrainingJob.sync",
    "arn:aws:states:::lambda:invoke.waitForTaskToken",
])
def test_results_the_worker_chooses_have_no_shape_to_check(resource):
    assert integration_operation(resource) is None
    assert shape_problems(resource, {"free": "form"}) == []
