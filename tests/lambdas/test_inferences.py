"""The pure threshold rule shared by the filter Lambda and monitoring."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scones.inferences import InferenceFormatError, meets_threshold, parse_inferences, top_class

probabilities = st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=10)


@given(probabilities, st.floats(0, 1))
def test_meets_threshold_is_max_comparison(probs, threshold):
    assert meets_threshold(probs, threshold) == (max(probs) >= threshold)


@given(probabilities)
def test_parse_accepts_json_text_bytes_and_lists(probs):
    assert parse_inferences(probs) == probs
    assert parse_inferences(json.dumps(probs)) == probs
    assert parse_inferences(json.dumps(probs).encode()) == probs


@given(probabilities)
def test_top_class_is_first_maximum(probs):
    best, confidence = top_class(probs)
    assert confidence == max(probs) and best == probs.index(max(probs))


@pytest.mark.parametrize("value,message", [
    ("nope", "inferences must be a JSON list of probabilities, got 'nope'"),
    ([], "inferences must be a non-empty list of probabilities, got []"),
    ([0.5, "x"], "inferences must be finite numbers, got 'x'"),
    ([True], "inferences must be finite numbers, got True"),
    ([float("nan")], "inferences must be finite numbers, got nan"),
])
def test_bad_inferences(value, message):
    with pytest.raises(InferenceFormatError) as caught:
        parse_inferences(value)
    assert str(caught.value) == message
