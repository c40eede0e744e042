"""Every Choice Rule comparison operator, its …Path form, and the type tests.

https://states-language.net/spec.html#choice-state
https://docs.aws.amazon.com/step-functions/latest/dg/state-choice.html
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones.asl.choice_rules import COMPARISONS, compile_rule, string_matches
from scones.asl.errors import StatesError
from scones.asl.paths import Scope

# operator -> (value at $.v, literal that makes it true, literal that makes it false)
CASES = {
    "StringEquals": ("b", "b", "c"),
    "StringLessThan": ("b", "c", "a"),
    "StringGreaterThan": ("b", "a", "c"),
    "StringLessThanEquals": ("b", "b", "a"),
    "StringGreaterThanEquals": ("b", "b", "c"),
    "NumericEquals": (2, 2.0, 3),
    "NumericLessThan": (2, 3, 1),
    "NumericGreaterThan": (2, 1, 3),
    "NumericLessThanEquals": (2, 2, 1),
    "NumericGreaterThanEquals": (2, 2, 3),
    "BooleanEquals": (True, True, False),
    "TimestampEquals": ("2024-01-01T00:00:00Z", "2024-01-01T01:00:00+01:00", "2024-01-01T00:00:01Z"),
    "TimestampLessThan": ("2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", "2023-12-31T00:00:00Z"),
    "TimestampGreaterThan": ("2024-01-01T00:00:00Z", "2023-12-31T00:00:00Z", "2024-01-02T00:00:00Z"),
    "TimestampLessThanEquals": ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z", "2023-12-31T00:00:00Z"),
    "TimestampGreaterThanEquals": ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z"),
}


def holds(rule: dict, data) -> bool:
    return compile_rule(rule)(Scope(data))


def test_every_operator_is_covered():
    assert set(CASES) == set(COMPARISONS)


@pytest.mark.parametrize("operator", sorted(CASES))
def test_comparison_with_a_literal(operator):
    value, true_literal, false_literal = CASES[operator]
    assert holds({"Variable": "$.v", operator: true_literal}, {"v": value})
    assert not holds({"Variable": "$.v", operator: false_literal}, {"v": value})


@pytest.mark.parametrize("operator", sorted(CASES))
def test_comparison_with_a_path(operator):
    value, true_literal, false_literal = CASES[operator]
    rule = {"Variable": "$.v", f"{operator}Path": "$.other"}
    assert holds(rule, {"v": value, "other": true_literal})
    assert not holds(rule, {"v": value, "other": false_literal})


@pytest.mark.parametrize("operator, wrong_type", [("StringEquals", 1), ("NumericEquals", "1"), ("NumericEquals", True),
                                                  ("BooleanEquals", 1), ("TimestampEquals", "yesterday")])
def test_a_value_of_the_wrong_type_compares_false(operator, wrong_type):
    _, literal, _ = CASES[operator]
    assert not holds({"Variable": "$.v", operator: literal}, {"v": wrong_type})


@pytest.mark.parametrize(
    "test, value, expected",
    [
        ("IsNull", None, True), ("IsNull", 0, False),
        ("IsNumeric", 1.5, True), ("IsNumeric", "1", False), ("IsNumeric", True, False),
        ("IsString", "a", True), ("IsString", 1, False),
        ("IsBoolean", False, True), ("IsBoolean", 0, False),
        ("IsTimestamp", "2016-03-14T01:59:00Z", True), ("IsTimestamp", "2016-03-14", False),
    ],
)
def test_type_tests(test, value, expected):
    assert holds({"Variable": "$.v", test: True}, {"v": value}) is expected
    assert holds({"Variable": "$.v", test: False}, {"v": value}) is not expected


def test_is_present():
    assert holds({"Variable": "$.v", "IsPresent": True}, {"v": None})
    assert not holds({"Variable": "$.v", "IsPresent": True}, {})
    assert holds({"Variable": "$.v", "IsPresent": False}, {})


def test_missing_variable_is_a_runtime_error():
    with pytest.raises(StatesError) as raised:
        holds({"Variable": "$.v", "IsNull": True}, {})
    assert raised.value.error == "States.Runtime"


@pytest.mark.parametrize(
    "pattern, text, expected",
    [
        ("log-*.txt", "log-2024.txt", True),
        ("log-*.txt", "log-2024.csv", False),
        ("*", "", True),
        ("a*b*c", "aXXbYYc", True),
        ("literal\\*star", "literal*star", True),
        ("literal\\*star", "literalXstar", False),
        ("back\\\\slash*", "back\\slash!", True),
    ],
)
def test_string_matches_wildcards_and_escapes(pattern, text, expected):
    assert holds({"Variable": "$.v", "StringMatches": pattern}, {"v": text}) is expected


def test_and_or_not():
    rule = {"And": [{"Variable": "$.n", "NumericGreaterThan": 0},
                    {"Or": [{"Not": {"Variable": "$.s", "IsPresent": True}}, {"Variable": "$.s", "StringEquals": "a"}]}]}
    assert holds(rule, {"n": 1, "s": "a"})
    assert holds(rule, {"n": 1})
    assert not holds(rule, {"n": 1, "s": "b"})
    assert not holds(rule, {"n": 0})  # And stops at its first false rule; Or at its first true one


@given(st.text(alphabet="ab*", max_size=6), st.text(alphabet="ab", max_size=8))
def test_string_matches_agrees_with_a_glob_without_escapes(pattern, text):
    import fnmatch

    assert (string_matches(pattern).fullmatch(text) is not None) == fnmatch.fnmatchcase(text, pattern)
