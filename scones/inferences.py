"""Inferences: the endpoint's list of class probabilities, and the confidence threshold.

The filter Lambda and the monitoring report make the same decision ("does the
top confidence meet the threshold?"), so it lives here once. Standard library
only: this module ships inside the Lambda zip.
"""

from __future__ import annotations

import json
import math
from typing import Sequence

from scones.errors import InputError

DEFAULT_THRESHOLD = 0.93
# A softmax's float32 outputs sum to 1 within rounding; a list further off is not a distribution.
PROBABILITY_SUM_TOLERANCE = 0.01


class InferenceFormatError(InputError):
    """Not a list of class probabilities."""


def parse_inferences(value) -> list[float]:
    """Accept the endpoint's response as a JSON string, bytes or a list; return the probabilities.

    Users' state machines pass inferences either decoded or still as the
    endpoint's JSON text, so both are accepted.
    """
    if isinstance(value, (bytes, bytearray)):
        value = value.decode("utf-8")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise InferenceFormatError(
                f"inferences must be a JSON list of probabilities, got {value[:80]!r}"
            ) from None
    if not isinstance(value, list) or not value:
        raise InferenceFormatError(f"inferences must be a non-empty list of probabilities, got {value!r}")
    probabilities = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (int, float)) or not math.isfinite(item):
            raise InferenceFormatError(f"inferences must be finite numbers, got {item!r}")
        probabilities.append(float(item))
    return probabilities


def check_probabilities(probabilities: Sequence[float]) -> Sequence[float]:
    """Refuse numbers that are no class distribution (each in [0, 1], summing to ~1).

    Without it a confidence of 2.5 passes any threshold, in the filter Lambda
    and in the monitoring report alike; both call this one check.
    """
    outside = [value for value in probabilities if not 0.0 <= value <= 1.0]
    if outside:
        raise InferenceFormatError(f"{outside[0]!r} is not a probability (between 0 and 1)")
    total = math.fsum(probabilities)
    if abs(total - 1.0) > PROBABILITY_SUM_TOLERANCE:
        raise InferenceFormatError(
            f"probabilities sum to {total:.6g}, not 1 (within {PROBABILITY_SUM_TOLERANCE}): "
            "send the endpoint's softmax output unchanged"
        )
    return probabilities


def check_threshold(threshold) -> float:
    """A threshold is a number in [0, 1]; anything else is refused with that range."""
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise InputError(f"THRESHOLD must be a number between 0 and 1, got {threshold!r}") from None
    if not 0.0 <= value <= 1.0:
        raise InputError(f"THRESHOLD must be between 0 and 1, got {threshold!r}")
    return value


def top_class(probabilities: Sequence[float]) -> tuple[int, float]:
    """The predicted class id and its confidence (the first one on a tie)."""
    best = max(range(len(probabilities)), key=probabilities.__getitem__)
    return best, probabilities[best]


def meets_threshold(probabilities: Sequence[float], threshold: float = DEFAULT_THRESHOLD) -> bool:
    """True when the top confidence is at least ``threshold`` (the course's rule)."""
    return top_class(probabilities)[1] >= threshold
