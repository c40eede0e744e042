"""Map (inline) and Parallel states.

https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itemselector.html
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-itembatcher.html
https://docs.aws.amazon.com/step-functions/latest/dg/state-parallel.html
"""

import json
import threading

import pytest

from scones.asl import FAILED, SUCCEEDED, Resources

SHIPMENT = {
    "ship-date": "2016-03-14T01:59:00Z",
    "detail": {
        "delivery-partner": "UQS",
        "shipped": [
            {"prod": "R31", "dest-code": 9511, "quantity": 1344},
            {"prod": "S39", "dest-code": 9511, "quantity": 40},
            {"prod": "R31", "dest-code": 9833, "quantity": 12},
            {"prod": "R40", "dest-code": 9860, "quantity": 887},
            {"prod": "R40", "dest-code": 9511, "quantity": 1220},
        ],
    },
}


def map_state(processor_states: dict, start: str, **fields) -> dict:
    return {"StartAt": "Map", "States": {"Map": {
        "Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": start, "States": processor_states},
        "End": True, **fields}}}


def test_map_items_path_and_item_selector_from_the_docs(run):
    """The shipment example: ItemsPath picks the array, ItemSelector adds the courier to each parcel."""
    definition = map_state({"Validate": {"Type": "Pass", "End": True}}, "Validate",
                           ItemsPath="$.detail.shipped", MaxConcurrency=0,
                           ItemSelector={"parcel.$": "$$.Map.Item.Value", "courier.$": "$.detail.delivery-partner"})
    output = run(definition, SHIPMENT).output_value
    assert output == [{"parcel": parcel, "courier": "UQS"} for parcel in SHIPMENT["detail"]["shipped"]]


def test_map_context_index_and_value(run):
    """The ItemSelector page's example with $$.Map.Item.Index and $$.Map.Item.Value."""
    definition = map_state({"Pass": {"Type": "Pass", "End": True}}, "Pass",
                           ItemsPath="$.array", ItemSelector={"ContextIndex.$": "$$.Map.Item.Index", "ContextValue.$": "$$.Map.Item.Value"})
    output = run(definition, {"array": ["a", "b", "c"]}).output_value
    assert output == [{"ContextIndex": 0, "ContextValue": "a"}, {"ContextIndex": 1, "ContextValue": "b"}, {"ContextIndex": 2, "ContextValue": "c"}]


def test_map_history_sequence(run):
    execution = run(map_state({"P": {"Type": "Pass", "End": True}}, "P"), [1, 2])
    assert execution.event_types == [
        "ExecutionStarted", "MapStateEntered", "MapStateStarted",
        "MapIterationStarted", "PassStateEntered", "PassStateExited", "MapIterationSucceeded",
        "MapIterationStarted", "PassStateEntered", "PassStateExited", "MapIterationSucceeded",
        "MapStateSucceeded", "MapStateExited", "ExecutionSucceeded",
    ]
    assert execution.history[2]["mapStateStartedEventDetails"] == {"length": 2}
    assert execution.history[3]["mapIterationStartedEventDetails"] == {"name": "Map", "index": 0}
    assert execution.history[10]["mapIterationSucceededEventDetails"] == {"name": "Map", "index": 1}


def test_map_over_lambda_results_with_result_path(run):
    definition = map_state({"Classify": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                                         "Parameters": {"FunctionName": "classify", "Payload.$": "$"}, "OutputPath": "$.Payload", "End": True}},
                           "Classify", ItemsPath="$.keys", ResultPath="$.inferences")
    execution = run(definition, {"keys": ["a.png", "b.png"]}, resources={"classify": lambda key, context: [len(key), 0.5]})
    assert execution.output_value == {"keys": ["a.png", "b.png"], "inferences": [[5, 0.5], [5, 0.5]]}


def test_map_iteration_failure_fails_the_map_with_the_items_error(run):
    definition = map_state({"Check": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 0, "Next": "Ok"}], "Default": "Bad"},
                            "Ok": {"Type": "Succeed"}, "Bad": {"Type": "Fail", "Error": "NotPositive", "Cause": "item <= 0"}}, "Check")
    execution = run(definition, [1, -1, 2])
    assert (execution.status, execution.error, execution.cause) == (FAILED, "NotPositive", "item <= 0")
    assert execution.event_types[-4:] == ["FailStateEntered", "MapIterationFailed", "MapStateFailed", "ExecutionFailed"]
    assert execution.event_types.count("MapIterationStarted") == 2  # the third item never starts


def test_map_tolerated_failure_percentage_path(run):
    definition = map_state({"Check": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThan": 0, "Next": "Ok"}], "Default": "Bad"},
                            "Ok": {"Type": "Succeed"}, "Bad": {"Type": "Fail", "Error": "NotPositive"}}, "Check",
                           ItemsPath="$.items", ToleratedFailurePercentagePath="$.tolerance")
    assert run(definition, {"items": [1, -1, 2, 3], "tolerance": 25}).status == SUCCEEDED
    assert run(definition, {"items": [1, -1, -2, 3], "tolerance": 25}).error == "States.ExceedToleratedFailureThreshold"


def test_map_runs_iterations_concurrently_with_workers_and_keeps_item_order(run):
    barrier = threading.Barrier(3, timeout=10)

    def together(event, context):
        barrier.wait()  # returns only when three iterations run at the same time
        return event * 10

    definition = map_state({"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:together", "End": True}}, "T")
    execution = run(definition, [1, 2, 3, 4, 5, 6], resources={"together": together}, max_workers=3)
    assert execution.output_value == [10, 20, 30, 40, 50, 60]
    assert execution.event_types.count("MapIterationSucceeded") == 6
    ids = [event["id"] for event in execution.history]
    assert ids == list(range(1, len(ids) + 1))


def test_max_concurrency_one_runs_in_order_even_with_workers(run):
    order = []
    definition = map_state({"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:record", "End": True}}, "T",
                           MaxConcurrency=1)
    run(definition, list(range(5)), resources={"record": lambda event, context: order.append(event)}, max_workers=4)
    assert order == [0, 1, 2, 3, 4]


def test_concurrent_failure_fails_the_map_with_the_items_error(run):
    started = threading.Barrier(2, timeout=10)

    def work(event, context):
        started.wait()  # both items are in flight when one fails
        if event == "fail":
            raise ValueError("bad item")
        return event

    definition = map_state({"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:work", "Next": "After"},
                            "After": {"Type": "Pass", "End": True}}, "T")
    execution = run(definition, ["fail", "ok"], resources={"work": work}, max_workers=2)
    assert (execution.status, execution.error) == (FAILED, "ValueError")
    assert execution.event_types[-2:] == ["MapStateFailed", "ExecutionFailed"]
    assert "MapIterationFailed" in execution.event_types
    # The other iteration either finished first or was aborted at its next state, as on AWS.
    assert {"MapIterationSucceeded", "MapIterationAborted"} & set(execution.event_types)


def test_item_batcher_with_batch_input(run):
    """The ItemBatcher page: MaxItemsPerBatch with BatchInput shared by every batch."""
    definition = map_state({"P": {"Type": "Pass", "End": True}}, "P",
                           ItemBatcher={"MaxItemsPerBatch": 2, "BatchInput": {"factCheck": "December 2022", "source.$": "$.source"}},
                           ItemsPath="$.items")
    output = run(definition, {"source": "s3", "items": [1, 2, 3]}).output_value
    assert output == [
        {"BatchInput": {"factCheck": "December 2022", "source": "s3"}, "Items": [1, 2]},
        {"BatchInput": {"factCheck": "December 2022", "source": "s3"}, "Items": [3]},
    ]


def test_item_batcher_max_input_bytes(run):
    definition = map_state({"P": {"Type": "Pass", "End": True}}, "P", ItemBatcher={"MaxInputBytesPerBatch": 10})
    assert run(definition, ["aaaa", "bbbb", "cccc"]).output_value == [{"Items": ["aaaa"]}, {"Items": ["bbbb"]}, {"Items": ["cccc"]}]


def test_item_reader_reads_json_and_csv_through_registered_integrations(run):
    objects = {"items.json": json.dumps([{"id": 1}, {"id": 2}]), "items.csv": "id,label\n1,bicycle\n2,motorcycle\n"}
    resources = Resources().add_integration("arn:aws:states:::s3:getObject", lambda parameters, context: objects[parameters["Key"]])
    for key, input_type, expected in [("items.json", "JSON", [{"id": 1}, {"id": 2}]),
                                      ("items.csv", "CSV", [{"id": "1", "label": "bicycle"}, {"id": "2", "label": "motorcycle"}])]:
        definition = map_state({"P": {"Type": "Pass", "End": True}}, "P", ItemReader={
            "Resource": "arn:aws:states:::s3:getObject", "ReaderConfig": {"InputType": input_type},
            "Parameters": {"Bucket": "scones", "Key.$": "$.key"}})
        assert run(definition, {"key": key}, resources=resources).output_value == expected


def test_legacy_iterator_and_parameters(run):
    definition = {"StartAt": "Map", "States": {"Map": {
        "Type": "Map", "Parameters": {"value.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
        "Iterator": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}}}
    assert run(definition, ["x"]).output_value == [{"value": "x", "index": 0}]


def test_items_path_must_select_an_array(run):
    execution = run(map_state({"P": {"Type": "Pass", "End": True}}, "P", ItemsPath="$.items"), {"items": {"not": "array"}})
    assert execution.error == "States.Runtime"
    assert "The value of the ItemsPath field must be a JSON array" in execution.cause


PARALLEL = {
    "StartAt": "LookupCustomerInfo",
    "States": {
        "LookupCustomerInfo": {
            "Type": "Parallel",
            "End": True,
            "Branches": [
                {"StartAt": "LookupAddress", "States": {"LookupAddress": {
                    "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:AddressFinder", "End": True}}},
                {"StartAt": "LookupPhone", "States": {"LookupPhone": {
                    "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:PhoneFinder", "End": True}}},
            ],
        }
    },
}
FINDERS = {"AddressFinder": lambda event, context: {"address": f"{event['name']} Street"},
           "PhoneFinder": lambda event, context: {"phone": "555-0100"}}


def test_parallel_example_from_the_docs_outputs_branch_results_in_order(run):
    """LookupCustomerInfo from the Parallel state page."""
    execution = run(PARALLEL, {"name": "Ada"}, resources=FINDERS)
    assert execution.output_value == [{"address": "Ada Street"}, {"phone": "555-0100"}]
    assert execution.event_types == [
        "ExecutionStarted", "ParallelStateEntered", "ParallelStateStarted",
        "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded", "TaskStateExited",
        "TaskStateEntered", "LambdaFunctionScheduled", "LambdaFunctionStarted", "LambdaFunctionSucceeded", "TaskStateExited",
        "ParallelStateSucceeded", "ParallelStateExited", "ExecutionSucceeded",
    ]


def test_parallel_branches_run_concurrently_with_workers(run):
    barrier = threading.Barrier(2, timeout=10)

    def finder(event, context):
        barrier.wait()
        return context.function_name

    execution = run(PARALLEL, {"name": "Ada"}, resources={"AddressFinder": finder, "PhoneFinder": finder}, max_workers=2)
    assert execution.output_value == ["AddressFinder", "PhoneFinder"]


def test_parallel_failure_and_retry(run, clock):
    calls = []

    def phone(event, context):
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("busy")
        return "ok"

    definition = json.loads(json.dumps(PARALLEL))
    definition["States"]["LookupCustomerInfo"]["Retry"] = [{"ErrorEquals": ["ConnectionError"], "IntervalSeconds": 2}]
    execution = run(definition, {"name": "Ada"}, resources={**FINDERS, "PhoneFinder": phone})
    assert execution.output_value == [{"address": "Ada Street"}, "ok"]
    assert clock.sleeps == [2.0]
    assert execution.event_types.count("ParallelStateFailed") == 1
    assert execution.event_types.count("ParallelStateStarted") == 2


def test_parallel_parameters_shape_each_branch_input(run):
    definition = {"StartAt": "P", "States": {"P": {"Type": "Parallel", "Parameters": {"n.$": "$.value"}, "End": True, "Branches": [
        {"StartAt": "A", "States": {"A": {"Type": "Pass", "OutputPath": "$.n", "End": True}}},
        {"StartAt": "B", "States": {"B": {"Type": "Pass", "End": True}}}],
        "ResultSelector": {"first.$": "$[0]", "second.$": "$[1]"}, "ResultPath": "$.results"}}}
    assert run(definition, {"value": 5}).output_value == {"value": 5, "results": {"first": 5, "second": {"n": 5}}}


def test_items_path_may_read_a_variable(run):
    definition = map_state({"P": {"Type": "Pass", "End": True}}, "P", ItemsPath="$items")
    definition["States"] = {"A": {"Type": "Pass", "Assign": {"items": [1, 2, 3]}, "Next": "Map"}, **definition["States"]}
    definition["StartAt"] = "A"
    assert run(definition, {"other": True}).output_value == [1, 2, 3]


@pytest.mark.parametrize("field, value, cause", [
    ("MaxConcurrencyPath", "many", 'The MaxConcurrencyPath field refers to value "many" which is not a valid integer: $.v'),
    ("MaxConcurrencyPath", 1.5, 'The MaxConcurrencyPath field refers to value "1.5" which is not a valid integer: $.v'),
    ("MaxConcurrencyPath", -1, "Expected non-negative integer for MaxConcurrency, got '-1' instead."),
    ("ToleratedFailureCountPath", "x", 'The ToleratedFailureCountPath field refers to value "x" which is not a valid integer: $.v'),
    ("ToleratedFailureCountPath", -2, "ToleratedFailureCount cannot be negative."),
    ("ToleratedFailurePercentagePath", "x", 'The ToleratedFailurePercentagePath field refers to value "x" which is not a valid float: $.v'),
    ("ToleratedFailurePercentagePath", 100.5, "ToleratedFailurePercentage must be between 0 and 100."),
])
def test_map_settings_read_through_paths_are_checked(run, field, value, cause):
    definition = map_state({"P": {"Type": "Pass", "End": True}}, "P", ItemsPath="$.items", **{field: "$.v"})
    execution = run(definition, {"items": [1], "v": value})
    assert (execution.status, execution.error) == (FAILED, "States.Runtime")
    assert execution.cause == f"An error occurred while executing the state 'Map' (entered at the event id #2). {cause}"


@pytest.mark.parametrize("field", ["MaxConcurrencyPath", "ToleratedFailureCountPath"])
def test_map_counts_given_as_numeric_strings_are_read_as_numbers(run, field):
    definition = map_state({"P": {"Type": "Pass", "End": True}}, "P", ItemsPath="$.items", **{field: "$.v"})
    assert run(definition, {"items": [1, 2], "v": "2"}).output_value == [1, 2]
