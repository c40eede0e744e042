"""Whatever JSON an execution is given, it ends with a status: no Python exception escapes ``execute``.

Each definition below reads its input through paths, intrinsics or JSONata
at a place where a wrongly typed value is an error; hypothesis puts random
JSON there. Every run must end SUCCEEDED, or FAILED with an error name (the
Runtime, QueryEvaluationError, intrinsic or task error AWS would report).
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from scones.asl import FAILED, SUCCEEDED, FakeClock, StateMachine

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)

ITEM = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}


def _map(**fields) -> dict:
    return {"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": ITEM, "End": True, **fields}}}


def _pass(**fields) -> dict:
    return {"StartAt": "S", "States": {"S": {"Type": "Pass", "End": True, **fields}}}


def _jsonata(state: dict) -> dict:
    ending = {} if state["Type"] == "Fail" else {"End": True}
    return {"QueryLanguage": "JSONata", "StartAt": "S", "States": {"S": {**ending, **state}}}


DEFINITIONS = [
    {"StartAt": "W", "States": {"W": {"Type": "Wait", "SecondsPath": "$.a", "End": True}}},
    {"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.a", "End": True}}},
    _map(ItemsPath="$.a", MaxConcurrencyPath="$.b"),
    _map(ItemsPath="$.a", ToleratedFailureCountPath="$.b", ToleratedFailurePercentagePath="$.c"),
    _pass(Parameters={"p.$": "States.ArrayPartition($.a, $.b)", "r.$": "States.ArrayRange($.a, $.b, $.c)"}),
    _pass(Parameters={"f.$": "States.Format('{} {}', $.a, $.b)", "s.$": "States.MathAdd($.a, $.b)",
                      "j.$": "States.StringToJson($.a)", "h.$": "States.Hash($.a, $.b)"}),
    _pass(InputPath="$.a", ResultPath="$.b", OutputPath="$.b"),
    {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Default": "D", "Choices": [
            {"Variable": "$.a", "NumericGreaterThanPath": "$.b", "Next": "D"},
            {"Variable": "$.a", "TimestampEqualsPath": "$.c", "Next": "D"},
            {"Variable": "$.a", "StringMatches": "a*", "Next": "D"}]},
        "D": {"Type": "Succeed"}}},
    _jsonata({"Type": "Pass", "Output": "{% $partition($states.input.a, $states.input.b) %}"}),
    _jsonata({"Type": "Pass", "Output": "{% $range($states.input.a, $states.input.b, $states.input.c) %}"}),
    _jsonata({"Type": "Pass", "Output": "{% [$hash($states.input.a, $states.input.b), $parse($states.input.c)] %}"}),
    _jsonata({"Type": "Pass", "Output": "{% $states.input.a + $states.input.b %}", "Assign": {"x": "{% $states.input.c %}"}}),
    _jsonata({"Type": "Map", "Items": "{% $states.input.a %}", "MaxConcurrency": "{% $states.input.b %}",
              "ItemProcessor": ITEM}),
    _jsonata({"Type": "Wait", "Seconds": "{% $states.input.a %}"}),
    _jsonata({"Type": "Fail", "Error": "{% $states.input.a %}", "Cause": "{% $states.input.b %}"}),
]
MACHINES = [StateMachine(definition) for definition in DEFINITIONS]


@settings(max_examples=40, deadline=None)
@given(machine=st.sampled_from(MACHINES), a=JSON, b=JSON, c=JSON)
def test_random_json_in_any_path_ends_the_execution_with_a_status(machine, a, b, c):
    execution = machine.execute({"a": a, "b": b, "c": c}, clock=FakeClock(), random=random.Random(1))
    assert execution.status in (SUCCEEDED, FAILED)
    if execution.status == FAILED:
        # only a Fail state may end an execution without an error name (its Error can be null)
        assert isinstance(execution.error, str) or execution.event_types[-2] == "FailStateEntered"
        assert execution.event_types[-1] == "ExecutionFailed"


def test_a_python_error_inside_a_state_is_a_states_runtime_failure(run):
    """The last guard: an error no rule foresaw ends the execution FAILED, named after its state."""
    definition = _pass(Parameters={"v.$": "$.a"})
    machine = StateMachine(definition)
    state = machine.graph.states["S"]
    state.execute = lambda visit, raw: 1 / 0  # stands in for a bug in a state
    execution = run(machine, {"a": 1})
    assert (execution.status, execution.error) == (FAILED, "States.Runtime")
    assert execution.cause == ("An error occurred while executing the state 'S' (entered at the event id #2). "
                               "ZeroDivisionError: division by zero")
