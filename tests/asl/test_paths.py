"""Paths, Reference Paths and ResultPath placement.

https://states-language.net/spec.html#path
https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html
"""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones.asl.errors import RESULT_PATH_MATCH_FAILURE, StatesError
from scones.asl.paths import (
    InvalidPath,
    PathNotFound,
    Scope,
    apply_result_path,
    parse_path,
    parse_reference_path,
)

json_scalars = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=12,
)
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6)


@pytest.mark.parametrize(
    "text, root, steps",
    [
        ("$", "input", ()),
        ("$.Payload.body", "input", ("Payload", "body")),
        ("$['my key'][0].x", "input", ("my key", 0, "x")),
        ('$["a.b"][-1]', "input", ("a.b", -1)),
        ("$$.Execution.Id", "context", ("Execution", "Id")),
        ("$$", "context", ()),
        ("$counter", "variable", ()),
        ("$order.items[2]", "variable", ("items", 2)),
    ],
)
def test_definite_paths_compile_to_steps(text, root, steps):
    path = parse_path(text)
    assert (path.root, path.steps) == (root, steps)


@pytest.mark.parametrize("text", ["$.items[*].id", "$..id", "$.items[?(@.price > 10)]", "$.items[0:2]"])
def test_indefinite_paths_return_lists(text):
    data = {"items": [{"id": 1, "price": 5}, {"id": 2, "price": 20}, {"id": 3, "price": 30}]}
    assert isinstance(parse_path(text).apply(data), list)


def test_indefinite_path_results():
    data = {"items": [{"id": 1, "price": 5}, {"id": 2, "price": 20}]}
    assert parse_path("$.items[*].id").apply(data) == [1, 2]
    assert parse_path("$.items[?(@.price > 10)].id").apply(data) == [2]
    assert parse_path("$.missing[*]").apply(data) == []


@pytest.mark.parametrize("text", ["Payload", "$.", "$[", "$.a[?(@.x >]"])
def test_invalid_paths(text):
    with pytest.raises(InvalidPath):
        parse_path(text)


def test_missing_definite_path_raises():
    with pytest.raises(PathNotFound):
        parse_path("$.a.b").apply({"a": {}})
    with pytest.raises(PathNotFound):
        parse_path("$.a[3]").apply({"a": [1]})
    with pytest.raises(PathNotFound):
        parse_path("$.a.b").apply({"a": "text"})


def test_paths_resolve_against_their_root():
    scope = Scope({"x": 1}, context={"State": {"Name": "S"}}, variables=None)
    assert parse_path("$.x").resolve(scope) == 1
    assert parse_path("$$.State.Name").resolve(scope) == "S"


def test_reference_paths_reject_operators_and_other_roots():
    for text in ("$.a[*]", "$..a", "$$.Execution", "$var", "$.a[-1]"):
        with pytest.raises(InvalidPath):
            parse_reference_path(text)


def test_result_path_examples_from_the_docs():
    """https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultpath.html"""
    state_input = {"comment": "This is a test of the input and output of a Task state.", "details": "Default example", "who": "AWS Step Functions"}
    result = "Hello, AWS Step Functions!"
    assert apply_result_path(state_input, result, parse_reference_path("$")) == result
    assert apply_result_path(state_input, result, None) == state_input
    assert apply_result_path(state_input, result, parse_reference_path("$.taskresult")) == {**state_input, "taskresult": result}
    assert apply_result_path(state_input, result, parse_reference_path("$.strings.lambdaresult")) == {
        **state_input, "strings": {"lambdaresult": result}
    }


def test_result_path_replaces_array_elements_and_never_mutates():
    state_input = {"list": [1, {"a": 1}]}
    output = apply_result_path(state_input, "x", parse_reference_path("$.list[1].b"))
    assert output == {"list": [1, {"a": 1, "b": "x"}]}
    assert state_input == {"list": [1, {"a": 1}]}


def test_result_path_into_a_non_object_is_a_match_failure():
    with pytest.raises(StatesError) as raised:
        apply_result_path({"a": "text"}, 1, parse_reference_path("$.a.b"))
    assert raised.value.error == RESULT_PATH_MATCH_FAILURE
    assert raised.value.cause == 'Unable to apply ReferencePath $.a.b to input {"a":"text"}'


@given(st.dictionaries(names, json_values, max_size=5), st.lists(names, min_size=1, max_size=4), json_values)
def test_result_path_then_path_reads_back_the_result(state_input, keys, result):
    path_text = "$" + "".join(f".{key}" for key in keys)
    try:
        output = apply_result_path(state_input, result, parse_reference_path(path_text))
    except StatesError:
        return  # something that is not an object was in the way
    assert parse_path(path_text).apply(output) == result


@given(json_values)
def test_root_path_is_identity(value):
    assert parse_path("$").apply(value) is value


def test_backslash_in_a_quoted_name_is_part_of_the_name():
    """Only the enclosing quote is escaped in ['…']: "Test\\"\\"Name\\"" names the key Test\\""Name"."""
    assert parse_path("$['Test\\\"\"Name\"']").steps == ('Test\\""Name"',)
    assert parse_path("$['it\\'s']").steps == ("it's",)
