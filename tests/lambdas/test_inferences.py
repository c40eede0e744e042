"""The pure threshold rule shared by the filter Lambda and monitoring."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import math

from scones.inferences import (
    PROBABILITY_SUM_TOLERANCE, InferenceFormatError, check_probabilities, meets_threshold, parse_inferences, top_class,
)

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


@given(st.lists(st.floats(0.001, 1), min_size=1, max_size=10))
def test_a_normalised_distribution_passes_unchanged(weights):
    distribution = [weight / math.fsum(weights) for weight in weights]
    distribution = [min(value, 1.0) for value in distribution]
    assert check_probabilities(distribution) == distribution


@given(probabilities, st.floats(allow_nan=False, allow_infinity=False).filter(lambda value: not 0 <= value <= 1))
def test_a_number_outside_0_1_is_named(probs, outsider):
    with pytest.raises(InferenceFormatError) as caught:
        check_probabilities([*probs, outsider])
    first_outside = next(value for value in [*probs, outsider] if not 0 <= value <= 1)
    assert str(caught.value) == f"{first_outside!r} is not a probability (between 0 and 1)"


@given(probabilities.filter(lambda probs: abs(math.fsum(probs) - 1) > PROBABILITY_SUM_TOLERANCE))
def test_numbers_not_summing_to_one_are_refused(probs):
    with pytest.raises(InferenceFormatError, match=r"^probabilities sum to .*, not 1 \(within 0.01\)"):
        check_probabilities(probs)
