"""Intrinsic functions, with the examples of the AWS documentation.

https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
"""

import json
import random
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones.asl.intrinsics import IntrinsicFunctionError, IntrinsicSyntaxError, evaluate, parse
from scones.asl.paths import Scope

json_scalars = st.none() | st.booleans() | st.integers(-10**9, 10**9) | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=15,
)


def call(text: str, data=None, **scope):
    return evaluate(parse(text), Scope(data if data is not None else {}, **scope))


@pytest.mark.parametrize(
    "expression, data, expected",
    [
        ("States.Format('Hello, my name is {}.', $.name)", {"name": "Arnav"}, "Hello, my name is Arnav."),
        ("States.Format($.template, $.name)", {"name": "Arnav", "template": "Hello, my name is {}."}, "Hello, my name is Arnav."),
        ("States.StringToJson($.escapedJsonString)", {"escapedJsonString": '{"foo": "bar"}'}, {"foo": "bar"}),
        ("States.JsonToString($.unescapedJson)", {"unescapedJson": {"foo": "bar"}}, '{"foo":"bar"}'),
        ("States.Array($.Id)", {"Id": 123456}, [123456]),
        ("States.ArrayPartition($.inputArray,4)", {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}, [[1, 2, 3, 4], [5, 6, 7, 8], [9]]),
        ("States.ArrayContains($.inputArray, $.lookingFor)", {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "lookingFor": 5}, True),
        ("States.ArrayRange(1, 9, 2)", {}, [1, 3, 5, 7, 9]),
        ("States.ArrayGetItem($.inputArray, $.index)", {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9], "index": 5}, 6),
        ("States.ArrayLength($.inputArray)", {"inputArray": [1, 2, 3, 4, 5, 6, 7, 8, 9]}, 9),
        ("States.ArrayUnique($.inputArray)", {"inputArray": [1, 2, 3, 3, 3, 3, 3, 3, 4]}, [1, 2, 3, 4]),
        ("States.Base64Encode($.input)", {"input": "Data to encode"}, "RGF0YSB0byBlbmNvZGU="),
        ("States.Base64Decode($.base64)", {"base64": "RGF0YSB0byBlbmNvZGU="}, "Data to encode"),
        ("States.Hash($.Data, $.Algorithm)", {"Data": "input data", "Algorithm": "SHA-1"}, "aaff4a450a104cd177d28d18d74485e8cae074b7"),
        ("States.JsonMerge($.json1, $.json2, false)",
         {"json1": {"a": {"a1": 1, "a2": 2}, "b": 2}, "json2": {"a": {"a3": 1, "a4": 2}, "c": 3}},
         {"a": {"a3": 1, "a4": 2}, "b": 2, "c": 3}),
        ("States.MathAdd($.value1, $.step)", {"value1": 111, "step": -1}, 110),
        ("States.StringSplit($.inputString, $.splitter)", {"inputString": "1,2,3,4,5", "splitter": ","}, ["1", "2", "3", "4", "5"]),
        ("States.StringSplit($.inputString, $.splitter)", {"inputString": "This.is+a,test=string", "splitter": ".+,="},
         ["This", "is", "a", "test", "string"]),
    ],
)
def test_documented_examples(expression, data, expected):
    assert call(expression, data) == expected


def test_math_random_stays_in_range_and_is_reproducible_with_a_seed():
    """States.MathRandom($.start, $.end) returns a number from start (inclusive) to end (exclusive)."""
    values = {call("States.MathRandom($.start, $.end)", {"start": 1, "end": 999}, random=random.Random(seed)) for seed in range(50)}
    assert all(1 <= value < 999 for value in values) and len(values) > 1
    assert call("States.MathRandom(1, 999, 7)") == call("States.MathRandom(1, 999, 7)")


def test_uuid_is_version_4():
    assert uuid.UUID(call("States.UUID()", random=random.Random(1))).version == 4


def test_nested_calls_and_literals():
    assert call("States.ArrayGetItem(States.StringSplit(States.Format('{}/{}', 'a', $.b), '/'), 1)", {"b": "c"}) == "c"
    assert call("States.Array(null, true, false, -1.5, 'it\\'s', $$.x)", context={"x": 2}) == [None, True, False, -1.5, "it's", 2]


def test_escaped_braces_are_not_placeholders():
    assert call("States.Format('\\{\\} {}', 'x')") == "{} x"
    assert call("States.Format('a\\\\b {}', 1)") == "a\\b 1"


def test_format_renders_values_like_aws():
    assert call("States.Format('{} {} {} {}', $.n, $.b, $.list, $.obj)", {"n": 1.5, "b": True, "list": [1, "a"], "obj": {"k": None}}) == (
        "1.5 true [1, a] {k=null}"
    )


def test_variables_are_arguments():
    class Variables:
        def lookup(self, name):
            return {"greeting": "hi"}[name]

    assert call("States.Format('{}!', $greeting)", variables=Variables()) == "hi!"


@pytest.mark.parametrize(
    "expression, data",
    [
        ("States.ArrayPartition($.a, 0)", {"a": [1]}),
        ("States.ArrayPartition($.a, -0.6)", {"a": [1]}),
        ("States.ArrayPartition('no', 2)", {}),
        ("States.ArrayGetItem($.a, 3)", {"a": [1]}),
        ("States.ArrayRange(1, 2000, 1)", {}),
        ("States.ArrayRange(1, 2, 0)", {}),
        ("States.Base64Decode('***')", {}),
        ("States.Hash('x', 'SHA-999')", {}),
        ("States.JsonMerge($.a, $.a, true)", {"a": {}}),
        ("States.MathAdd(2147483648, 1)", {}),
        ("States.StringToJson('{nope')", {}),
        ("States.Format($.t, 1)", {"t": "no placeholder"}),
    ],
)
def test_invalid_arguments_fail_with_aws_cause(expression, data):
    with pytest.raises(IntrinsicFunctionError) as raised:
        call(expression, data)
    assert str(raised.value) == f"Invalid arguments in {expression.split('(')[0]}"


def test_missing_path_argument_names_the_path_and_input():
    with pytest.raises(IntrinsicFunctionError) as raised:
        call("States.Array($.missing)", {"requiredProperty": 1})
    assert str(raised.value) == (
        "The function 'States.Array($.missing)' had the following error: The JsonPath argument for the field "
        "'$.missing' could not be found in the input '{\"requiredProperty\":1}'"
    )


def test_array_partition_truncates_a_fractional_chunk_size():
    assert call("States.ArrayPartition($.a, 2.6)", {"a": [1, 2, 3, 4, 5]}) == [[1, 2], [3, 4], [5]]


@pytest.mark.parametrize(
    "text, problem",
    [
        ("States.Format(", "expected a string"),
        ("States.Array(1 2)", "expected ',' or ')'"),
        ("States.Array('open)", "unterminated string"),
        ("States.Array('\\n')", "open escape"),
        ("States.MathAdd(1)", "takes 2 argument(s), got 1"),
        ("States.Array(1) extra", "unexpected text"),
        ("States.Array(" * 11 + ")" * 11, "nest at most 10 deep"),
    ],
)
def test_syntax_errors(text, problem):
    with pytest.raises(IntrinsicSyntaxError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse(text)


# --- properties ---------------------------------------------------------------------------

printable = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@given(printable)
def test_base64_round_trip(text):
    scope = Scope({"text": text})
    encoded = evaluate(parse("States.Base64Encode($.text)"), scope)
    assert evaluate(parse("States.Base64Decode($.encoded)"), Scope({"encoded": encoded})) == text


@given(st.lists(json_values, max_size=30), st.integers(1, 12))
def test_array_partition_concatenates_back(array, size):
    chunks = call("States.ArrayPartition($.a, $.n)", {"a": array, "n": size})
    assert [item for chunk in chunks for item in chunk] == array
    assert all(len(chunk) == size for chunk in chunks[:-1]) and all(0 < len(chunk) <= size for chunk in chunks)


@given(json_values)
def test_json_to_string_and_back(value):
    text = call("States.JsonToString($.v)", {"v": value})
    assert call("States.StringToJson($.t)", {"t": text}) == value
    assert json.loads(text) == value


@given(st.integers(-500, 500), st.integers(-500, 500), st.integers(1, 50))
def test_array_range_length(start, end, step):
    if end < start:
        step = -step
    expected = max(0, (end - start) // step + 1)
    if expected > 1000:
        return
    values = call("States.ArrayRange($.s, $.e, $.t)", {"s": start, "e": end, "t": step})
    assert len(values) == expected
    assert all(start <= v <= end or end <= v <= start for v in values)


@given(st.lists(st.integers(0, 5), max_size=30))
def test_array_unique_keeps_first_occurrences(array):
    assert call("States.ArrayUnique($.a)", {"a": array}) == list(dict.fromkeys(array))


@given(st.lists(printable, min_size=1, max_size=5))
def test_format_fills_placeholders_in_order(values):
    template = " | ".join("{}" for _ in values)
    arguments = ", ".join(f"$.v[{index}]" for index in range(len(values)))
    assert call(f"States.Format('{template}', {arguments})", {"v": values}) == " | ".join(values)


@given(st.integers(-(2**31), 2**31 - 1), st.integers(-(2**31), 2**31 - 1))
def test_math_add_is_addition(a, b):
    assert call("States.MathAdd($.a, $.b)", {"a": a, "b": b}) == a + b


@pytest.mark.parametrize("text", ["", " ", "\n\t"])
def test_string_to_json_of_blank_text_is_null(text):
    """AWS reads blank text as no JSON document: null, not an error."""
    assert call("States.StringToJson($.t)", {"t": text}) is None
