"""Executions end where AWS ends them (the 25,000-event history quota), sizes are checked before building,
and an evaluation that never ends is ended: by its step budget, a timeout, or ``stop()``.

https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
"""

import json
import threading

import pytest
from click.testing import CliRunner
from hypothesis import given, strategies as st

from scones.asl import (ABORTED, FAILED, TIMED_OUT, FakeClock, RealClock, StateMachine, jsonata_regex,
                        query_jsonata, validate)
from scones.asl.cli import asl_group
from scones.asl.definition import DefinitionLoadError
from scones.asl.intrinsics import InvalidArguments, array_range
from scones import json_depth
from scones.json_depth import MAX_DEPTH
from scones.asl import InvalidExecutionInput
from scones.asl.validation import Diagnostic

LIMIT_CAUSE = "The execution reached the maximum number of history events (25000)."

SPIN = {"StartAt": "Loop", "States": {"Loop": {"Type": "Choice", "Default": "Loop",
                                                "Choices": [{"Variable": "$.stop", "IsPresent": True, "Next": "Done"}]},
                                       "Done": {"Type": "Succeed"}}}


def _ends_at_the_quota(execution):
    """The failure is event 25,000 itself, following the last real event; Catch and Retry did not apply."""
    last = execution.history[-1]
    assert (execution.status, execution.error, execution.cause) == (FAILED, "States.Runtime", LIMIT_CAUSE)
    assert len(execution.history) == 25_000
    assert last == {"timestamp": last["timestamp"], "type": "ExecutionFailed", "id": 25_000, "previousEventId": 24_999,
                    "executionFailedEventDetails": {"error": "States.Runtime", "cause": LIMIT_CAUSE}}


def test_a_choice_looping_to_itself_fails_at_the_history_quota(run):
    execution = run(SPIN, {"spin": True})
    _ends_at_the_quota(execution)
    assert execution.history[-2]["type"] == "ChoiceStateExited"


@pytest.mark.parametrize("max_workers", [1, 4])
def test_looping_map_iterations_fail_at_the_history_quota_on_every_thread(run, max_workers):
    definition = {"StartAt": "M", "States": {"M": {
        "Type": "Map", "ItemsPath": "$.items", "ItemProcessor": {"StartAt": "Loop", "States": SPIN["States"]},
        "End": True}}}
    _ends_at_the_quota(run(definition, {"items": list(range(8))}, max_workers=max_workers))


def test_a_retry_of_99999999_attempts_fails_at_the_history_quota(run, clock):
    definition = {"StartAt": "Flaky", "States": {"Flaky": {
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:flaky", "Next": "Caught",
        "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 99_999_999, "IntervalSeconds": 1, "BackoffRate": 1}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]}, "Caught": {"Type": "Succeed"}}}

    def flaky(event, context):
        raise RuntimeError("down")

    execution = run(definition, {}, resources={"flaky": flaky})
    _ends_at_the_quota(execution)
    assert 8_000 < len(clock.sleeps) < 25_000


# --- sizes checked before anything is built --------------------------------------------------------------------


def _pass(parameters: dict, language: str = "JSONPath") -> dict:
    field = "Parameters" if language == "JSONPath" else "Output"
    return {"StartAt": "P", "QueryLanguage": language, "States": {"P": {"Type": "Pass", field: parameters, "End": True}}}


@pytest.mark.parametrize("end", ["1000000000", "1e300", "-1e300"])
def test_array_range_counts_against_the_1000_item_limit_before_building(run, end):
    step = -1 if end.startswith("-") else 1
    execution = run(_pass({"r.$": f"States.ArrayRange(0, {end}, {step})"}), {})
    assert (execution.status, execution.error) == (FAILED, "States.Runtime")
    assert execution.cause.endswith("Invalid arguments in States.ArrayRange")


@given(st.integers(-3000, 3000), st.integers(-3000, 3000), st.integers(-50, 50).filter(bool))
def test_array_range_is_the_inclusive_range_or_refused(start, end, step):
    expected = list(range(start, end + (1 if step > 0 else -1), step))
    if len(expected) <= 1000:
        assert array_range(start, end, step) == expected
    else:
        with pytest.raises(InvalidArguments):
            array_range(start, end, step)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_input_as_deep_as_the_bound_runs_and_deeper_is_refused_before_parsing(run):
    deepest = json.loads(_nested(MAX_DEPTH))
    assert run(_pass({"copy.$": "$"}), deepest).output_value == {"copy": deepest}
    for refused in (_nested(50_000), json.loads(_nested(MAX_DEPTH + 1))):
        with pytest.raises(InvalidExecutionInput) as caught:
            run(_pass({"copy.$": "$"}), refused)
        assert str(caught.value) == (f"InvalidExecutionInput: the execution input nests deeper than {MAX_DEPTH} "
                                     "levels of arrays and objects; flatten it")


OVERSIZE = {"data": "x" * (256 * 1024)}  # 256 KiB of data plus its key: 262,155 bytes of JSON


def _circular():
    value = []
    value.append(value)
    return value


@pytest.mark.parametrize("refused,reason", [
    (OVERSIZE, "the execution input is 262155 bytes, larger than the 262144-byte limit of Step Functions; "
               "pass a reference (an S3 key) instead of the data"),
    (json.dumps(OVERSIZE, separators=(",", ":")), "the execution input is 262155 bytes, larger than the 262144-byte limit of Step Functions; "
                           "pass a reference (an S3 key) instead of the data"),
    ('{"a": ', "the execution input is not JSON (Expecting value at line 1 column 7)"),
    ({"when": threading.Event}, "the execution input is no JSON value (Object of type type is not JSON serializable)"),
])
def test_an_input_start_execution_refuses_raises_invalid_execution_input(run, refused, reason):
    with pytest.raises(InvalidExecutionInput) as caught:
        run(_pass({"copy.$": "$"}), refused)
    assert (caught.value.code, str(caught.value)) == ("InvalidExecutionInput", f"InvalidExecutionInput: {reason}")


def test_a_circular_input_is_invalid_not_a_recursion_error(run):
    with pytest.raises(InvalidExecutionInput, match=r"^InvalidExecutionInput: the execution input nests deeper"):
        run(_pass({"copy.$": "$"}), _circular())


def test_the_cli_refuses_an_oversize_input_in_one_line(tmp_path):
    definition = tmp_path / "pass.asl.json"
    definition.write_text(json.dumps(_pass({"copy.$": "$"})), encoding="utf-8")
    (tmp_path / "big.json").write_text(json.dumps(OVERSIZE), encoding="utf-8")
    result = CliRunner().invoke(asl_group, ["run", str(definition), "--input", f"@{tmp_path / 'big.json'}"])
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", (
        "error: InvalidExecutionInput: the execution input is 262155 bytes, larger than the 262144-byte limit of "
        "Step Functions; pass a reference (an S3 key) instead of the data\n"))


def test_string_to_json_of_deep_text_fails_the_execution(run):
    execution = run(_pass({"v.$": "States.StringToJson($.text)"}), {"text": _nested(50_000)})
    assert (execution.status, execution.error) == (FAILED, "States.Runtime")
    assert execution.cause.endswith("Invalid arguments in States.StringToJson")
    parsed = run(_pass("{% $parse($states.input.text) %}", "JSONata"), {"text": _nested(50_000)})
    assert (parsed.status, parsed.error) == (FAILED, "States.QueryEvaluationError")
    assert run(_pass({"v.$": "States.StringToJson($.text)"}), {"text": _nested(100)}).output_value == {
        "v": json.loads(_nested(100))}


DEEP_DEFINITION = '{"StartAt":"P","States":{"P":{"Type":"Pass","Result":%s,"End":true}}}' % _nested(100_000)


def test_a_100000_deep_definition_is_a_validation_error():
    assert validate(DEEP_DEFINITION) == [Diagnostic(
        "", f"definition text nests deeper than {MAX_DEPTH} levels of arrays and objects; flatten it",
        "INVALID_JSON_DESCRIPTION")]
    with pytest.raises(DefinitionLoadError, match="nests deeper"):
        StateMachine(DEEP_DEFINITION)
    deep_dict = {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": json.loads(_nested(MAX_DEPTH)), "End": True}}}
    assert [diagnostic.message for diagnostic in validate(deep_dict)] == [
        f"the definition nests deeper than {MAX_DEPTH} levels of arrays and objects; flatten it"]


def test_scones_asl_validate_and_run_refuse_deep_json_without_a_traceback(tmp_path):
    path = tmp_path / "deep.asl.json"
    path.write_text(DEEP_DEFINITION)
    result = CliRunner().invoke(asl_group, ["validate", str(path)])
    assert (result.exit_code, result.output) == (
        1, f"/: {path} nests deeper than {MAX_DEPTH} levels of arrays and objects; flatten it\n")
    path.write_text(json.dumps(_pass({"copy.$": "$"})))
    result = CliRunner().invoke(asl_group, ["run", str(path), "--input", _nested(50_000)])
    assert result.exit_code == 2 and result.exception.__class__ is SystemExit
    assert f"the value nests deeper than {MAX_DEPTH} levels" in result.output


# --- evaluations that never end ------------------------------------------------------------------------------

ENDLESS = {"StartAt": "P", "QueryLanguage": "JSONata", "States": {"P": {
    "Type": "Pass", "Output": "{% ($f := function($x) { $f($x + 1) }; $f(1)) %}", "End": True}}}


def test_an_endless_recursive_jsonata_function_fails_the_state_when_its_steps_run_out(run, monkeypatch):
    monkeypatch.setattr(query_jsonata, "MAX_EVALUATION_STEPS", 20_000)
    execution = run(ENDLESS, {})
    assert (execution.status, execution.error) == (FAILED, "States.QueryEvaluationError")
    assert execution.cause == (
        "An error occurred while executing the state 'P' (entered at the event id #2). The JSONata expression "
        "'($f := function($x) { $f($x + 1) }; $f(1))' specified for the field 'Output' did not finish within "
        "20,000 evaluation steps")
    assert execution.event_types == ["ExecutionStarted", "PassStateEntered", "EvaluationFailed", "ExecutionFailed"]


class _TickingClock(FakeClock):
    """A second passes on every reading; ``busy`` is set once ``after`` readings were taken."""

    def __init__(self, after: int):
        super().__init__()
        self.readings, self.after, self.busy = 0, after, threading.Event()

    def now(self):
        self.readings += 1
        if self.readings > self.after:
            self.busy.set()
        self.advance(1)
        return super().now()


def _with_timeout(definition: dict, seconds: int) -> dict:
    return {**definition, "TimeoutSeconds": seconds}


def test_an_execution_times_out_in_the_middle_of_an_evaluation(run):
    execution = run(_with_timeout(ENDLESS, 60), {}, clock=_TickingClock(after=0))
    assert execution.status == TIMED_OUT
    assert execution.event_types == ["ExecutionStarted", "PassStateEntered", "ExecutionTimedOut"]


def test_stop_ends_an_execution_in_the_middle_of_an_evaluation():
    clock = _TickingClock(after=20)  # readings past the first few are taken inside the evaluation
    execution = StateMachine(_with_timeout(ENDLESS, 99_999_999)).start({}, clock=clock)
    assert clock.busy.wait(10)
    execution.stop(error="Operator", cause="stopped by hand")
    execution.wait(10)
    assert (execution.status, execution.error, execution.cause) == (ABORTED, "Operator", "stopped by hand")
    assert execution.event_types == ["ExecutionStarted", "PassStateEntered", "ExecutionAborted"]


@pytest.mark.parametrize("call", ["$match($states.input.text, /(a|aa)+$/)", "$contains($states.input.text, /(a|aa)+$/)",
                                  '$replace($states.input.text, /(a|aa)+$/, "b")', "$split($states.input.text, /(a|aa)+$/)"])
def test_a_catastrophic_regex_fails_the_state_when_its_match_runs_out_of_time(run, monkeypatch, call):
    """``(a|aa)+$`` backtracks through Fibonacci(60) paths on 60 a's and a '!': Python's re would never finish."""
    monkeypatch.setattr(jsonata_regex, "MATCH_TIMEOUT_SECONDS", 0.05)
    execution = run(_pass("{% " + call + " %}", "JSONata"), {"text": "a" * 60 + "!"})
    assert (execution.status, execution.error) == (FAILED, "States.QueryEvaluationError")
    assert execution.cause.endswith("the regular expression /(a|aa)+$/ did not finish matching within 0.05 s")


def test_the_bounded_regex_engine_matches_as_jsonata_documents(run):
    output = run(_pass({"match": "{% $match('ab AB', /a(b)/i) %}", "replace": "{% $replace('Hello World', /o/, '0') %}",
                        "split": "{% $split('a1b22c', /[0-9]+/) %}", "contains": "{% $contains('abc', /B/i) %}"},
                       "JSONata"), {}).output_value
    assert output == {"match": [{"match": "ab", "index": 0, "groups": ["b"]}, {"match": "AB", "index": 3, "groups": ["B"]}],
                      "replace": "Hell0 W0rld", "split": ["a", "b", "c"], "contains": True}


class _SignallingClock(RealClock):
    """The real clock, saying when the run starts to sleep."""

    def __init__(self):
        self.sleeping = threading.Event()

    def sleep(self, seconds, wake=None):
        self.sleeping.set()
        super().sleep(seconds, wake)


@pytest.mark.parametrize("definition", [
    {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}},
    {"StartAt": "W", "TimeoutSeconds": 7200, "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": True}}},
    {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:down",
                                      "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 3600}], "End": True}}},
], ids=["wait", "wait-within-timeout", "retry-interval"])
def test_stop_wakes_an_execution_sleeping_on_the_real_clock(definition):
    def down(event, context):
        raise RuntimeError("down")

    clock = _SignallingClock()
    execution = StateMachine(definition).start({}, clock=clock, resources={"down": down})
    assert clock.sleeping.wait(10)
    execution.stop(error="Operator", cause="stopped by hand")
    execution.wait(10)  # an hour's sleep that did not wake would fail here
    assert (execution.status, execution.error) == (ABORTED, "Operator")
    assert execution.event_types[-1] == "ExecutionAborted"


def _reference_depth(value) -> int:
    if isinstance(value, dict):
        value = list(value.values())
    return 1 + max(map(_reference_depth, value), default=0) if isinstance(value, list) else 0


_json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab'),
                            lambda children: st.lists(children, max_size=3)
                            | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=3), children, max_size=3),
                            max_leaves=30)


@given(_json_values)
def test_depth_of_text_and_of_values_is_the_nesting_of_arrays_and_objects(value):
    """Brackets inside strings (escaped quotes included) do not count."""
    depth = _reference_depth(value)
    assert json_depth.text_depth(json.dumps(value)) == json_depth.value_depth(value) == depth
    assert json_depth.nests_too_deep(json.dumps(value)) is (depth > MAX_DEPTH)


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("(", ")")])
def test_a_jsonata_expression_nesting_too_deeply_to_parse_is_a_validation_error(opening, closing):
    expression = "{% " + opening * 20_000 + "1" + closing * 20_000 + " %}"
    [diagnostic] = validate(_pass(expression, "JSONata"))
    assert diagnostic.pointer == "/States/P/Output"
    assert diagnostic.message == f"the JSONata expression '{expression[:40]}…' nests too deeply to parse"
