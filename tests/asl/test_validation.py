"""Validation: every problem, with a JSON pointer and an actionable message.

Rules from https://states-language.net/spec.html and
https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

import pytest

from scones.asl import DefinitionError, StateMachine, execute, validate


def pointers(definition) -> list[str]:
    return [diagnostic.pointer for diagnostic in validate(definition)]


def messages(definition) -> dict[str, str]:
    return {diagnostic.pointer: diagnostic.message for diagnostic in validate(definition)}


def machine(**states) -> dict:
    return {"StartAt": next(iter(states)), "States": states}


def test_valid_definition_has_no_diagnostics():
    assert validate(machine(A={"Type": "Pass", "Next": "B"}, B={"Type": "Succeed"})) == []


def test_missing_start_at_and_states():
    assert messages({}) == {
        "/States": "the state machine needs a non-empty 'States' object",
        "/StartAt": "the state machine needs 'StartAt', the name of its first state",
    }


def test_start_at_must_name_a_state():
    diagnostics = validate({"StartAt": "Nope", "States": {"A": {"Type": "Succeed"}}})
    assert [(d.pointer, d.code) for d in diagnostics] == [("/StartAt", "MISSING_TRANSITION_TARGET")]


def test_unknown_next_suggests_the_closest_name():
    definition = machine(Serialize={"Type": "Pass", "Next": "Clasify"}, Classify={"Type": "Succeed"})
    assert messages(definition)["/States/Serialize/Next"] == (
        "Next 'Clasify' does not name a state of this state machine; did you mean 'Classify'?"
    )


def test_unreachable_state_is_reported():
    definition = machine(A={"Type": "Succeed"}, Orphan={"Type": "Succeed"})
    diagnostic = validate(definition)[0]
    assert (diagnostic.pointer, diagnostic.code) == ("/States/Orphan", "UNREACHABLE_STATE")


def test_states_reached_only_through_catch_or_choice_are_reachable():
    definition = machine(
        Choose={"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "Work"}], "Default": "Done"},
        Work={"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}], "End": True},
        Done={"Type": "Succeed"},
        Failed={"Type": "Fail"},
    )
    assert validate(definition) == []


def test_no_terminal_state():
    definition = machine(A={"Type": "Pass", "Next": "B"}, B={"Type": "Pass", "Next": "A"})
    diagnostic = validate(definition)[0]
    assert (diagnostic.pointer, diagnostic.code) == ("/States", "MISSING_END_STATE")


def test_fields_not_allowed_on_a_state_type():
    definition = machine(A={"Type": "Succeed", "Next": "A", "Resource": "x"})
    assert messages(definition) == {
        "/States/A/Next": "the field 'Next' is not supported by Succeed states",
        "/States/A/Resource": "the field 'Resource' is not supported by Succeed states",
    }


def test_jsonpath_field_in_jsonata_state_gets_a_hint():
    definition = {"QueryLanguage": "JSONata", **machine(A={"Type": "Pass", "InputPath": "$.x", "End": True})}
    assert messages(definition) == {
        "/States/A/InputPath": "the field 'InputPath' is not supported by Pass states in JSONata states: "
        "use Arguments or Output with {% $states.input… %}"
    }


def test_next_and_end_are_exclusive_and_one_is_required():
    definition = machine(A={"Type": "Pass", "Next": "B", "End": True}, B={"Type": "Pass"})
    assert messages(definition) == {
        "/States/A": "a state cannot have both Next and \"End\": true",
        "/States/B": "this state needs Next (the state to go to) or \"End\": true",
    }


def test_bad_paths_are_located():
    definition = machine(A={
        "Type": "Pass", "InputPath": "x", "ResultPath": "$.a[*]", "Parameters": {"v.$": "nope", "w.$": "States.Nope()"},
        "End": True,
    })
    assert pointers(definition) == ["/States/A/InputPath", "/States/A/ResultPath", "/States/A/Parameters/v.$", "/States/A/Parameters/w.$"]
    assert "only '.name'" in messages(definition)["/States/A/ResultPath"]
    assert "unknown intrinsic function 'States.Nope'" in messages(definition)["/States/A/Parameters/w.$"]


def test_intrinsic_placeholder_count_is_checked():
    definition = machine(A={"Type": "Pass", "Parameters": {"m.$": "States.Format('{} and {}', $.a)"}, "End": True})
    assert "2 '{}' placeholder(s) but 1 value(s)" in messages(definition)["/States/A/Parameters/m.$"]


def test_bad_jsonata_is_located():
    definition = {"QueryLanguage": "JSONata", **machine(A={"Type": "Pass", "Output": {"x": "{% $states.input. %}"}, "End": True})}
    assert pointers(definition) == ["/States/A/Output/x"]


def test_jsonata_must_be_the_whole_string():
    definition = {"QueryLanguage": "JSONata", **machine(A={"Type": "Pass", "Output": "id: {% $states.input.id %}", "End": True})}
    assert messages(definition) == {
        "/States/A/Output": "a JSONata expression must be the whole string: \"{% … %}\" with nothing around it"
    }


@pytest.mark.parametrize(
    "retry, pointer, message",
    [
        ([{"ErrorEquals": ["States.ALL", "X"]}], "/States/T/Retry/0/ErrorEquals", "States.ALL must appear alone in its ErrorEquals"),
        ([{"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}], "/States/T/Retry/0/ErrorEquals",
         "the retrier or catcher with States.ALL must be the last one"),
        ([{"ErrorEquals": []}], "/States/T/Retry/0/ErrorEquals", "ErrorEquals must be a non-empty list of error names"),
        ([{"ErrorEquals": ["X"], "BackoffRate": 0.5}], "/States/T/Retry/0/BackoffRate", "BackoffRate must be a number of at least 1.0"),
        ([{"ErrorEquals": ["X"], "MaxAttempts": -1}], "/States/T/Retry/0/MaxAttempts", "must be an integer from 0 to 99999999"),
        ([{"ErrorEquals": ["X"], "IntervalSeconds": 0}], "/States/T/Retry/0/IntervalSeconds", "must be an integer from 1 to 99999999"),
        ([{"ErrorEquals": ["X"], "JitterStrategy": "HALF"}], "/States/T/Retry/0/JitterStrategy", "JitterStrategy must be FULL or NONE"),
        ([{"ErrorEquals": ["X"], "Backoff": 2}], "/States/T/Retry/0/Backoff", "the field 'Backoff' is not supported by retriers"),
        ([{"ErrorEquals": ["States.Timout"]}], "/States/T/Retry/0/ErrorEquals",
         "'States.Timout' is not a predefined error name (only AWS may use the 'States.' prefix); did you mean 'States.Timeout'?"),
    ],
)
def test_retrier_shape_errors(retry, pointer, message):
    definition = machine(T={"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"FunctionName": "f"},
                            "Retry": retry, "End": True})
    assert messages(definition) == {pointer: message}


def test_catcher_shape_errors():
    definition = machine(T={
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Nowhere"}, {"ErrorEquals": ["X"]}], "End": True,
    })
    assert messages(definition) == {
        "/States/T/Catch/0/ErrorEquals": "the retrier or catcher with States.ALL must be the last one",
        "/States/T/Catch/0/Next": "Next 'Nowhere' does not name a state of this state machine; the states here are: T",
        "/States/T/Catch/1": "a catcher needs Next, the state to go to after the error",
    }


def test_task_resource_and_timeouts():
    definition = machine(T={"Type": "Task", "Resource": "lambda-function", "TimeoutSeconds": 5, "HeartbeatSeconds": 5, "End": True})
    diagnostics = validate(definition)
    assert [(d.pointer, d.code) for d in diagnostics] == [
        ("/States/T/Resource", "INVALID_RESOURCE"),
        ("/States/T/HeartbeatSeconds", "SCHEMA_VALIDATION_FAILED"),
    ]


def test_lambda_invoke_needs_function_name():
    definition = machine(T={"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Parameters": {"Payload.$": "$"}, "End": True})
    assert messages(definition) == {
        "/States/T/Parameters": "arn:aws:states:::lambda:invoke needs FunctionName (the function's name or ARN)"
    }


def test_choice_rule_errors():
    definition = machine(C={
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.x", "StringEquals": 1, "Next": "Done"},
            {"Variable": "$.x", "NumericEquals": 1, "BooleanEquals": True, "Next": "Done"},
            {"And": [{"Variable": "$.x", "IsNull": True, "Next": "Done"}], "Next": "Done"},
            {"Variable": "$.t", "TimestampEquals": "yesterday", "Next": "Done"},
            {"Variable": "$.x", "IsPresent": True},
        ],
        "Default": "Missing",
    }, Done={"Type": "Succeed"})
    assert messages(definition) == {
        "/States/C/Choices/0/StringEquals": "StringEquals compares with a string",
        "/States/C/Choices/1": "a Choice Rule needs exactly one comparison operator such as StringEquals, or And/Or/Not "
        "(found NumericEquals, BooleanEquals)",
        "/States/C/Choices/2/And/0/Next": "only top-level Choice Rules have Next; nested rules inside And/Or/Not must not",
        "/States/C/Choices/3/TimestampEquals": "TimestampEquals compares with an RFC 3339 timestamp like 2024-01-01T00:00:00Z",
        "/States/C/Choices/4": "a Choice Rule needs Next, the state to go to when it matches",
        "/States/C/Default": "Default 'Missing' does not name a state of this state machine; the states here are: C, Done",
    }


def test_wait_needs_exactly_one_duration():
    definition = machine(W={"Type": "Wait", "Seconds": 1, "TimestampPath": "$.t", "End": True})
    assert messages(definition) == {
        "/States/W": "a Wait state needs exactly one of Seconds, SecondsPath, Timestamp or TimestampPath (it has Seconds, TimestampPath)"
    }


def test_fail_error_and_error_path_are_exclusive_and_intrinsics_limited():
    definition = machine(F={"Type": "Fail", "Error": "E", "ErrorPath": "$.e", "CausePath": "States.Array($.c)"})
    assert messages(definition) == {
        "/States/F/ErrorPath": "use either Error or ErrorPath, not both",
        "/States/F/CausePath": "States.Array cannot be used here; use one of States.ArrayGetItem, States.Base64Decode, "
        "States.Base64Encode, States.Format, States.Hash, States.JsonToString, States.UUID",
    }


def test_nested_branches_and_processors_are_validated_with_full_pointers():
    definition = machine(
        P={"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {"X": {"Type": "Pass", "Next": "Y"}}}], "Next": "M"},
        M={"Type": "Map", "ItemProcessor": {"StartAt": "Z", "States": {"Z": {"Type": "Pas", "End": True}}}, "End": True},
    )
    assert pointers(definition) == [
        "/States/P/Branches/0/States/X/Next",
        "/States/P/Branches/0/States",  # and that branch has no terminal state
        "/States/M/ItemProcessor/States/Z/Type",
    ]


def test_state_names_are_unique_across_branches():
    definition = machine(
        A={"Type": "Parallel", "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}], "End": True}
    )
    diagnostic = validate(definition)[0]
    assert (diagnostic.pointer, diagnostic.code) == ("/States/A/Branches/0/States/A", "DUPLICATE_STATE_NAME")


def test_pointer_tokens_are_escaped():
    definition = machine(**{"a/b~c": {"Type": "Pass", "Next": "x"}, "end": {"Type": "Succeed"}})
    assert pointers(definition) == ["/States/a~1b~0c/Next", "/States/end"]


def test_variable_names_in_assign():
    definition = machine(A={"Type": "Pass", "Assign": {"ok": 1, "1bad": 2, "states": 3}, "End": True})
    assert pointers(definition) == ["/States/A/Assign/1bad", "/States/A/Assign/states"]


def test_result_writer_needs_s3_put_object():
    def writer(result_writer):
        return machine(M={"Type": "Map", "ItemProcessor": {"StartAt": "Z", "States": {"Z": {"Type": "Succeed"}}},
                          "ResultWriter": result_writer, "End": True})

    assert validate(writer({"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "b"}})) == []
    assert pointers(writer({"Resource": "arn:aws:states:::s3:getObject"})) == ["/States/M/ResultWriter"]
    assert pointers(writer({"Resource": "arn:aws:states:::s3:putObject", "Bukket": "b"})) == ["/States/M/ResultWriter/Bukket"]


def test_validate_reports_unparseable_text():
    assert [(d.pointer, d.code) for d in validate("{nope")] == [("", "INVALID_JSON_DESCRIPTION")]


def test_executing_an_invalid_definition_raises_with_all_diagnostics():
    definition = machine(A={"Type": "Pass", "Next": "B"}, C={"Type": "Bogus"})
    with pytest.raises(DefinitionError) as raised:
        execute(definition, {})
    assert [d.pointer for d in raised.value.diagnostics] == ["/States/A/Next", "/States/C/Type", "/States", "/States/C"]
    assert "4 problem(s)" in str(raised.value)
    with pytest.raises(DefinitionError):
        StateMachine(definition)
