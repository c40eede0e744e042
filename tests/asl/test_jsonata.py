"""JSONata states: Arguments, Output, $states, Conditions and QueryEvaluationError.

https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
"""

import json

import pytest

from scones.asl import FAILED, SUCCEEDED


def jsonata(states: dict, start: str | None = None) -> dict:
    return {"QueryLanguage": "JSONata", "StartAt": start or next(iter(states)), "States": states}


def test_arguments_and_output_like_the_exported_workflow(run):
    definition = jsonata({"Serialize": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Arguments": {"FunctionName": "serializeImageData", "Payload": "{% $states.input %}"},
        "Output": "{% $states.result.Payload %}", "End": True}})
    execution = run(definition, {"s3_key": "test/bicycle.png"},
                    resources={"serializeImageData": lambda event, context: {"statusCode": 200, "body": {"key": event["s3_key"]}}})
    assert execution.output_value == {"statusCode": 200, "body": {"key": "test/bicycle.png"}}


def test_task_output_defaults_to_the_result(run):
    definition = jsonata({"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "End": True}})
    assert run(definition, {"a": 1}, resources={"f": lambda event, context: {"seen": event}}).output_value == {"seen": {"a": 1}}


def test_output_templates_mix_literals_and_expressions(run):
    definition = jsonata({"P": {"Type": "Pass", "End": True, "Output": {
        "total": "{% $sum($states.input.prices) %}", "label": "fixed", "first": ["{% $states.input.prices[0] %}", 0],
        "name": "{% $states.context.Execution.Name %}"}}})
    assert run(definition, {"prices": [2, 3.5]}, name="exec-1").output_value == {"total": 5.5, "label": "fixed", "first": [2, 0], "name": "exec-1"}


def test_pass_output_defaults_to_the_input(run):
    assert run(jsonata({"P": {"Type": "Pass", "End": True}}), {"a": [1]}).output_value == {"a": [1]}


def test_json_null_is_kept_apart_from_undefined(run):
    definition = jsonata({"P": {"Type": "Pass", "End": True, "Output": {"value": "{% $states.input.a %}"}}})
    assert run(definition, {"a": None}).output_value == {"value": None}


def test_undefined_result_is_a_query_evaluation_error(run):
    definition = jsonata({"P": {"Type": "Pass", "End": True, "Output": "{% $states.input.missing %}"}})
    execution = run(definition, {})
    assert (execution.status, execution.error) == (FAILED, "States.QueryEvaluationError")
    assert execution.cause == ("An error occurred while executing the state 'P' (entered at the event id #2). "
                               "The JSONata expression '$states.input.missing' specified for the field 'Output' returned nothing (undefined).")
    assert execution.event_types == ["ExecutionStarted", "PassStateEntered", "EvaluationFailed", "ExecutionFailed"]
    assert execution.history[2]["evaluationFailedEventDetails"] == {
        "error": "States.QueryEvaluationError", "cause": execution.cause, "location": "Output", "state": "P"}


def test_jsonata_runtime_errors_are_query_evaluation_errors(run):
    execution = run(jsonata({"P": {"Type": "Pass", "End": True, "Output": "{% 1 + 'a' %}"}}), {})
    assert execution.error == "States.QueryEvaluationError"
    assert "The right side of the + operator must evaluate to a number" in execution.cause


def test_choice_conditions(run):
    definition = jsonata({
        "Route": {"Type": "Choice", "Default": "Low", "Choices": [
            {"Condition": "{% $states.input.confidence >= 0.93 %}", "Next": "High", "Output": {"accepted": "{% $states.input.confidence %}"}}]},
        "High": {"Type": "Succeed"},
        "Low": {"Type": "Fail", "Error": "THRESHOLD_CONFIDENCE_NOT_MET", "Cause": "{% 'confidence ' & $string($states.input.confidence) %}"},
    })
    assert run(definition, {"confidence": 0.95}).output_value == {"accepted": 0.95}
    low = run(definition, {"confidence": 0.5})
    assert (low.error, low.cause) == ("THRESHOLD_CONFIDENCE_NOT_MET", "confidence 0.5")


def test_condition_must_be_boolean(run):
    definition = jsonata({"C": {"Type": "Choice", "Choices": [{"Condition": "{% $states.input.n %}", "Next": "D"}]}, "D": {"Type": "Succeed"}})
    execution = run(definition, {"n": 3})
    assert execution.error == "States.QueryEvaluationError"
    assert execution.cause.endswith("returned an unexpected result type. Expected 'boolean', but was 'number' for value: 3")


def test_wait_seconds_expression(run, clock):
    run(jsonata({"W": {"Type": "Wait", "Seconds": "{% $states.input.delay * 2 %}", "End": True}}), {"delay": 5})
    assert clock.sleeps == [10.0]


def test_map_items_and_item_selector(run):
    definition = jsonata({"M": {
        "Type": "Map", "Items": "{% $states.input.keys %}",
        "ItemSelector": {"key": "{% $states.context.Map.Item.Value %}", "position": "{% $states.context.Map.Item.Index + 1 %}"},
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
        "Output": "{% $states.result.key %}", "End": True}})
    assert run(definition, {"keys": ["a", "b"]}).output_value == ["a", "b"]


def test_map_items_must_be_an_array(run):
    definition = jsonata({"M": {"Type": "Map", "Items": "{% $states.input.keys %}",
                                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, "End": True}})
    execution = run(definition, {"keys": "a"})
    assert execution.error == "States.QueryEvaluationError"


def test_parallel_arguments_and_output(run):
    definition = jsonata({"P": {"Type": "Parallel", "Arguments": {"n": "{% $states.input.n %}"}, "Output": "{% $states.result[1] %}",
                                "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}},
                                             {"StartAt": "B", "States": {"B": {"Type": "Pass", "Output": "{% $states.input.n * 10 %}", "End": True}}}],
                                "End": True}})
    assert run(definition, {"n": 4}).output_value == 40


def test_state_level_query_language_in_a_jsonpath_machine(run):
    definition = {"StartAt": "Old", "States": {
        "Old": {"Type": "Pass", "Parameters": {"v.$": "$.value"}, "Next": "New"},
        "New": {"Type": "Pass", "QueryLanguage": "JSONata", "Output": "{% $states.input.v + 1 %}", "End": True}}}
    assert run(definition, {"value": 1}).output_value == 2


def test_catch_output_with_error_output(run):
    definition = jsonata({
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:boom", "End": True,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled",
                         "Output": {"input": "{% $states.input %}", "error": "{% $states.errorOutput.Error %}"}}]},
        "Handled": {"Type": "Succeed"}})

    def boom(event, context):
        raise KeyError("x")

    execution = run(definition, {"id": 7}, resources={"boom": boom})
    assert (execution.status, execution.output_value) == (SUCCEEDED, {"input": {"id": 7}, "error": "KeyError"})


def test_jsonata_functions_like_now_work_in_worker_threads(run):
    definition = jsonata({"M": {"Type": "Map", "Items": [1, 2, 3, 4],
                                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "Output": "{% $type($now()) %}", "End": True}}},
                                "End": True}})
    assert run(definition, {}, max_workers=4).output_value == ["string"] * 4


def test_jsonata_executions_in_many_threads_do_not_interfere():
    """jsonata-python's compiled expressions keep state; each thread gets its own copy."""
    from concurrent.futures import ThreadPoolExecutor

    from scones.asl import StateMachine

    machine = StateMachine(jsonata({"P": {"Type": "Pass", "End": True,
                                          "Output": {"double": "{% $states.input.n * 2 %}", "items": "{% [1..$states.input.n] %}"}}}))
    with ThreadPoolExecutor(max_workers=8) as pool:
        outputs = list(pool.map(lambda n: machine.execute({"n": n}).output_value, range(1, 200)))
    assert outputs == [{"double": n * 2, "items": list(range(1, n + 1))} for n in range(1, 200)]


def _output(expression: str) -> dict:
    return jsonata({"P": {"Type": "Pass", "Output": expression, "End": True}})


@pytest.mark.parametrize("expression, expected", [
    ("{% $partition([1, 2, 3, 4, 5], 2) %}", [[1, 2], [3, 4], [5]]),
    ("{% $partition([1], 5) %}", [[1]]),
    ("{% $range(0, 10, 4) %}", [0, 4, 8]),
    ("{% $range(3, 1, -1) %}", [3, 2, 1]),
    ("{% $hash('abc', 'MD5') %}", "900150983cd24fb0d6963f7d28e17f72"),
    ("{% $parse('{\"a\": [1, \"x\"]}') %}", {"a": [1, "x"]}),
    ("{% $parse('-0') %}", 0),
    ("{% $random(7) = $random(7) %}", True),
    ("{% $random() >= 0 and $random() < 1 %}", True),
    ("{% $length($uuid()) %}", 36),
])
def test_step_functions_jsonata_functions(run, expression, expected):
    """AWS's own JSONata functions ($partition, $range, $hash, $random, $uuid, $parse)."""
    execution = run(_output(expression))
    assert (execution.status, execution.output_value) == (SUCCEEDED, expected)


@pytest.mark.parametrize("expression, function", [
    ("{% $partition([1, 2], 0) %}", "$partition"),
    ("{% $range(0, 5, 0) %}", "$range"),
    ("{% $hash('abc', 'SHA-3') %}", "$hash"),
    ("{% $parse('{not json') %}", "$parse"),
    ("{% $random('seed') %}", "$random"),
])
def test_step_functions_jsonata_functions_check_their_arguments(run, expression, function):
    execution = run(_output(expression))
    assert (execution.status, execution.error) == (FAILED, "States.QueryEvaluationError")
    assert execution.cause.endswith(f"Invalid arguments in {function}")


def test_a_variable_may_shadow_a_step_functions_function(run):
    definition = jsonata({
        "A": {"Type": "Pass", "Assign": {"partition": "mine"}, "Next": "B"},
        "B": {"Type": "Pass", "Output": "{% $partition %}", "End": True}})
    assert run(definition).output_value == "mine"


@pytest.mark.parametrize("output", ["plain text", None, 5, [1, "two"], {"nested": {"text": "as is"}}])
def test_output_may_be_any_json_value_and_strings_without_braces_are_literals(run, output):
    execution = run(jsonata({"P": {"Type": "Pass", "Output": output, "End": True}}))
    assert (execution.status, execution.output_value) == (SUCCEEDED, output)
    assert execution.output == json.dumps(output, separators=(",", ":"))


def test_undefined_inside_a_template_names_the_field_path(run):
    definition = jsonata({"P": {"Type": "Pass", "End": True, "Output": {"a": {"b": ["{% 1 %}", "{% $nothing %}"]}}}})
    execution = run(definition)
    assert execution.cause.endswith(
        "The JSONata expression '$nothing' specified for the field 'Output/a/b/1' returned nothing (undefined).")


def test_a_variable_holding_null_is_null_not_undefined(run):
    definition = jsonata({
        "A": {"Type": "Pass", "Assign": {"v": None}, "Next": "B"},
        "B": {"Type": "Pass", "Output": "{% [$v, $type($v)] %}", "End": True}})
    assert run(definition).output_value == [None, "null"]


def test_a_function_value_is_not_json(run):
    execution = run(_output("{% function($x) { $x } %}"))
    assert (execution.status, execution.error) == (FAILED, "States.QueryEvaluationError")
    assert execution.cause.endswith(
        "The JSONata expression 'function($x) { $x }' specified for the field 'Output' returned an unsupported result type.")


@pytest.mark.parametrize("condition, next_state", [(True, "Yes"), (False, "No")])
def test_a_choice_condition_may_be_a_constant(run, condition, next_state):
    definition = jsonata({
        "C": {"Type": "Choice", "Choices": [{"Condition": condition, "Next": "Yes"}], "Default": "No"},
        "Yes": {"Type": "Pass", "Output": "Yes", "End": True},
        "No": {"Type": "Pass", "Output": "No", "End": True}})
    assert run(definition).output_value == next_state


@pytest.mark.parametrize("items, cause", [
    ('"text"', 'Map state input must be an array but was: "text"'),  # input given as JSON text
    ({"a": 1}, 'Map state input must be an array but was: {"a":1}'),
])
def test_map_without_items_needs_an_array_input(run, items, cause):
    definition = jsonata({"M": {"Type": "Map", "End": True,
                                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}})
    execution = run(definition, items)
    assert (execution.error, execution.cause) == (
        "States.QueryEvaluationError", f"An error occurred while executing the state 'M' (entered at the event id #2). {cause}")


def test_map_items_of_the_wrong_type_name_the_expression(run):
    definition = jsonata({"M": {"Type": "Map", "Items": "{% $states.input.v %}", "End": True,
                                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}}})
    execution = run(definition, {"v": "text"})
    assert execution.cause.endswith(
        "The JSONata expression '$states.input.v' specified for the field 'Items' returned an unexpected result type. "
        "Expected 'array', but was 'string' for value: \"text\"")
