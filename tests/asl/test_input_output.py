"""JSONPath input and output processing, with the worked examples of the AWS documentation.

https://docs.aws.amazon.com/step-functions/latest/dg/input-output-inputpath-params.html
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-example.html
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-contextobject.html
"""

import pytest

from scones.asl import FAILED, SUCCEEDED, Resources

DATASETS = {
    "comment": "Example for InputPath.",
    "dataset1": {"val1": 1, "val2": 2, "val3": 3},
    "dataset2": {"val1": "a", "val2": "b", "val3": "c"},
}

PRODUCT = {
    "comment": "Example for Parameters.",
    "product": {"details": {"color": "blue", "size": "small", "material": "cotton"}, "availability": "in stock", "sku": "2317", "cost": "$23"},
}


def one_pass(**fields) -> dict:
    return {"StartAt": "S", "States": {"S": {"Type": "Pass", "End": True, **fields}}}


def test_input_path_selects_part_of_the_input(run):
    """InputPath "$.dataset2" of the InputPath page."""
    assert run(one_pass(InputPath="$.dataset2"), DATASETS).output_value == {"val1": "a", "val2": "b", "val3": "c"}


def test_parameters_select_and_add_static_values(run):
    """The Parameters example: "Selecting what I care about."."""
    parameters = {"comment": "Selecting what I care about.",
                  "MyDetails": {"size.$": "$.product.details.size", "exists.$": "$.product.availability", "StaticValue": "foo"}}
    assert run(one_pass(Parameters=parameters), PRODUCT).output_value == {
        "comment": "Selecting what I care about.",
        "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"},
    }


def test_result_selector_then_result_path(run):
    """The ResultSelector example of the same page: an EMR createCluster.sync result reshaped."""
    emr_result = {
        "resourceType": "elasticmapreduce",
        "resource": "createCluster.sync",
        "output": {"SdkHttpMetadata": {"HttpHeaders": {"Content-Length": "1112"}, "HttpStatusCode": 200},
                   "SdkResponseMetadata": {"RequestId": "1234-abcd"}, "ClusterId": "AKIAIOSFODNN7EXAMPLE"},
    }
    resources = Resources().add_integration("arn:aws:states:::elasticmapreduce:createCluster.sync", lambda parameters, context: emr_result)
    definition = {"StartAt": "CreateCluster", "States": {"CreateCluster": {
        "Type": "Task", "Resource": "arn:aws:states:::elasticmapreduce:createCluster.sync",
        "ResultSelector": {"ClusterId.$": "$.output.ClusterId", "ResourceType.$": "$.resourceType"},
        "ResultPath": "$.EMROutput", "End": True}}}
    execution = run(definition, {"Name": "MyWorkflowCluster"}, resources=resources)
    assert execution.output_value == {"Name": "MyWorkflowCluster", "EMROutput": {"ClusterId": "AKIAIOSFODNN7EXAMPLE", "ResourceType": "elasticmapreduce"}}


def test_result_path_and_output_path_on_a_task(run):
    """The ResultPath page's Lambda greeting, placed with "$.taskresult" and filtered by OutputPath."""
    state_input = {"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"}
    resources = {"HelloFunction": lambda event, context: f"Hello, {event['who']}!"}
    task = {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:HelloFunction", "End": True}
    assert run({"StartAt": "T", "States": {"T": {**task, "ResultPath": "$.taskresult"}}}, state_input, resources=resources).output_value == {
        **state_input, "taskresult": "Hello, AWS Step Functions!"}
    assert run({"StartAt": "T", "States": {"T": {**task, "ResultPath": None}}}, state_input, resources=resources).output_value == state_input
    assert run({"StartAt": "T", "States": {"T": {**task, "ResultPath": "$.taskresult", "OutputPath": "$.taskresult"}}},
               state_input, resources=resources).output_value == "Hello, AWS Step Functions!"


def test_null_input_path_and_output_path_give_empty_objects(run):
    assert run(one_pass(InputPath=None, Parameters={"seen.$": "$"}), {"a": 1}).output_value == {"seen": {}}
    # ResultPath places the result into the raw input, whatever InputPath selected.
    assert run(one_pass(InputPath=None, Result=None, ResultPath="$.r"), {"a": 1}).output_value == {"a": 1, "r": None}
    assert run(one_pass(OutputPath=None), {"a": 1}).output_value == {}


def test_indefinite_paths_in_parameters_give_lists(run):
    output = run(one_pass(Parameters={"ids.$": "$.items[*].id", "none.$": "$.items[?(@.id > 5)].id"}), {"items": [{"id": 1}, {"id": 2}]}).output_value
    assert output == {"ids": [1, 2], "none": []}


def test_missing_parameter_path_is_a_runtime_error_with_aws_cause(run):
    execution = run(one_pass(Parameters={"size.$": "$.product.size"}), {"product": {}})
    assert (execution.status, execution.error) == (FAILED, "States.Runtime")
    assert execution.cause == (
        "An error occurred while executing the state 'S' (entered at the event id #2). The JSONPath '$.product.size' "
        "specified for the field 'size.$' could not be found in the input '{\"product\":{}}'"
    )
    assert execution.event_types == ["ExecutionStarted", "PassStateEntered", "ExecutionFailed"]


def test_missing_input_path_is_a_runtime_error(run):
    execution = run(one_pass(InputPath="$.missing"), {"a": 1})
    assert execution.error == "States.Runtime"
    assert execution.cause.endswith("Invalid path '$.missing' : No results for path: $['missing']")


def test_context_object(run, clock):
    """$$ holds Execution, State and StateMachine; a Pass state (which cannot retry) has no State.RetryCount."""
    definition = one_pass(Parameters={"context.$": "$$", "name.$": "$$.Execution.Name", "entered.$": "$$.State.EnteredTime"})
    execution = run(definition, {"x": 1}, name="my-execution")
    context = execution.output_value["context"]
    assert context == {
        "Execution": {
            "Id": "arn:aws:states:us-east-1:123456789012:execution:StateMachine:my-execution",
            "Input": {"x": 1},
            "Name": "my-execution",
            "RoleArn": "arn:aws:iam::123456789012:role/service-role/StepFunctions-StateMachine-role",
            "StartTime": "2024-01-01T00:00:00.000Z",
            "RedriveCount": 0,
        },
        "State": {"EnteredTime": "2024-01-01T00:00:00.000Z", "Name": "S"},
        "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:StateMachine", "Name": "StateMachine"},
    }
    assert execution.output_value["name"] == "my-execution"
    assert execution.status == SUCCEEDED


def test_task_token_in_context_for_wait_for_task_token(run):
    seen = {}

    def callback(parameters, context):
        seen["token"] = context.task_token
        return {"approved": parameters["token"] == context.task_token}

    resources = Resources().add_integration("arn:aws:states:::sqs:sendMessage.waitForTaskToken", callback)
    definition = {"StartAt": "Ask", "States": {"Ask": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"token.$": "$$.Task.Token"}, "End": True}}}
    execution = run(definition, {}, resources=resources)
    assert execution.output_value == {"approved": True}
    assert len(seen["token"]) == 36


def test_values_are_never_shared_with_handlers(run):
    """A handler mutating its event cannot change the workflow's data (the Lambda JSON boundary)."""
    def mutate(event, context):
        event["items"].append("injected")
        return event

    definition = {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:mutate",
                                                    "ResultPath": "$.result", "End": True}}}
    state_input = {"items": [1]}
    execution = run(definition, state_input, resources={"mutate": mutate})
    assert execution.output_value == {"items": [1], "result": {"items": [1, "injected"]}}
    assert state_input == {"items": [1]}


@pytest.mark.parametrize("field", ["InputPath", "OutputPath"])
def test_input_and_output_paths_may_read_the_context_object(run, field):
    execution = run(one_pass(**{field: "$$.Execution.Input"}), {"x": 1})
    assert execution.output_value == {"x": 1}
    whole = run(one_pass(**{field: "$$"}), {"x": 1}).output_value
    assert set(whole) == {"Execution", "State", "StateMachine"} and whole["State"]["Name"] == "S"


def test_input_path_may_read_a_variable(run):
    definition = {"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Assign": {"kept": {"k": [1]}}, "Next": "S"},
        "S": {"Type": "Pass", "InputPath": "$kept.k", "End": True}}}
    assert run(definition, {}).output_value == [1]
