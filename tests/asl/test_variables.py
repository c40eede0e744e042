"""Workflow variables: Assign in both query languages, and their scopes.

https://docs.aws.amazon.com/step-functions/latest/dg/workflow-variables.html
"""

from scones.asl import SUCCEEDED


def test_assign_literals_and_reference_them_later_in_jsonata(run):
    """The page's first example: Assign productName, count and available, then use them."""
    definition = {"QueryLanguage": "JSONata", "StartAt": "Store", "States": {
        "Store": {"Type": "Pass", "Assign": {"productName": "product1", "count": 42, "available": True}, "Next": "Use"},
        "Use": {"Type": "Pass", "Output": "{% $productName & ' x' & $string($count) & ($available ? ' in stock' : '') %}", "End": True}}}
    execution = run(definition, {})
    assert execution.output_value == "product1 x42 in stock"
    exited = execution.history[2]["stateExitedEventDetails"]
    assert exited["assignedVariables"] == {"productName": '"product1"', "count": "42", "available": "true"}
    assert exited["assignedVariablesDetails"] == {"truncated": False}


def test_jsonpath_assign_with_paths_intrinsics_and_variable_references(run):
    definition = {"StartAt": "Fetch", "States": {
        "Fetch": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fetch",
                  "Assign": {"price.$": "$.price", "label.$": "States.Format('{} at {}', $.name, $.price)"},
                  "ResultPath": None, "Next": "Later"},
        "Later": {"Type": "Pass", "Parameters": {"price.$": "$price", "label.$": "$label", "input.$": "$"}, "End": True}}}
    execution = run(definition, {"id": 1}, resources={"fetch": lambda event, context: {"name": "scone", "price": 3}})
    assert execution.output_value == {"price": 3, "label": "scone at 3", "input": {"id": 1}}


def test_assignments_see_the_values_from_before_the_state(run):
    definition = {"QueryLanguage": "JSONata", "StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"a": 1, "b": 2}, "Next": "Swap"},
        "Swap": {"Type": "Pass", "Assign": {"a": "{% $b %}", "b": "{% $a %}"}, "Output": "{% [$a, $b] %}", "Next": "Read"},
        "Read": {"Type": "Pass", "Output": "{% [$a, $b] %}", "End": True}}}
    execution = run(definition, {})
    assert execution.output_value == [2, 1]
    assert execution.history[4]["stateExitedEventDetails"]["output"] == "[1,2]"  # Swap's own Output saw the old values


def test_map_iterations_read_outer_variables_and_keep_their_own(run):
    definition = {"QueryLanguage": "JSONata", "StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"factor": 10}, "Next": "Map"},
        "Map": {"Type": "Map", "Items": [1, 2], "Next": "After", "ItemProcessor": {"StartAt": "Scale", "States": {
            "Scale": {"Type": "Pass", "Assign": {"scaled": "{% $states.input * $factor %}"}, "Next": "Report"},
            "Report": {"Type": "Pass", "Output": "{% $scaled %}", "End": True}}}},
        "After": {"Type": "Pass", "Output": "{% {'results': $states.input, 'inner_visible': $exists($scaled)} %}", "End": True}}}
    assert run(definition, {}).output_value == {"results": [10, 20], "inner_visible": False}


def test_map_state_assign_writes_to_the_outer_scope(run):
    definition = {"QueryLanguage": "JSONata", "StartAt": "Map", "States": {
        "Map": {"Type": "Map", "Items": [1, 2, 3], "Assign": {"total": "{% $sum($states.result) %}"}, "Next": "Read",
                "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}},
        "Read": {"Type": "Pass", "Output": "{% $total %}", "End": True}}}
    assert run(definition, {}).output_value == 6


def test_parallel_branches_have_separate_scopes(run):
    definition = {"StartAt": "Init", "States": {
        "Init": {"Type": "Pass", "Assign": {"shared": "outer"}, "Next": "P"},
        "P": {"Type": "Parallel", "End": True, "Branches": [
            {"StartAt": "A", "States": {"A": {"Type": "Pass", "Assign": {"mine": "a"}, "Next": "A2"},
                                        "A2": {"Type": "Pass", "Parameters": {"shared.$": "$shared", "mine.$": "$mine"}, "End": True}}},
            {"StartAt": "B", "States": {"B": {"Type": "Pass", "Assign": {"mine": "b"}, "Next": "B2"},
                                        "B2": {"Type": "Pass", "Parameters": {"mine.$": "$mine"}, "End": True}}}]}}}
    assert run(definition, {}).output_value == [{"shared": "outer", "mine": "a"}, {"mine": "b"}]


def test_choice_rule_assign(run):
    definition = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 1, "Assign": {"branch": "big"}, "Next": "Read"}],
              "Default": "Read", "Assign": {"branch": "default"}},
        "Read": {"Type": "Pass", "Parameters": {"branch.$": "$branch"}, "End": True}}}
    assert run(definition, {"n": 5}).output_value == {"branch": "big"}
    assert run(definition, {"n": 0}).output_value == {"branch": "default"}


def test_catch_assign_sees_the_error_output(run):
    def boom(event, context):
        raise RuntimeError("disk full")

    definition = {"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:boom", "End": True,
              "Catch": [{"ErrorEquals": ["States.ALL"], "Assign": {"failure.$": "$.Error"}, "ResultPath": None, "Next": "Read"}]},
        "Read": {"Type": "Pass", "Parameters": {"failure.$": "$failure"}, "End": True}}}
    execution = run(definition, {}, resources={"boom": boom})
    assert (execution.status, execution.output_value) == (SUCCEEDED, {"failure": "RuntimeError"})


def test_undefined_variable_in_jsonpath_is_a_runtime_error(run):
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"v.$": "$nothing"}, "End": True}}}
    execution = run(definition, {})
    assert execution.error == "States.Runtime"
    assert execution.cause.endswith("The variable '$nothing' is not defined")


def test_assigned_values_over_the_limit_are_data_limit_exceeded(run):
    definition = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Assign": {"big": "x" * 270_000}, "End": True}}}
    assert run(definition, {}).error == "States.DataLimitExceeded"
