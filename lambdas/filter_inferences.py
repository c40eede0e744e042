"""filterInferences: fail when the top confidence is below ``$THRESHOLD`` (default 0.93).

Failing is the point: the Step Functions execution fails with the error
``THRESHOLD_CONFIDENCE_NOT_MET``, so low-confidence inferences are visible in
the console and never pass downstream.
"""

from __future__ import annotations

from scones.function_environment import environment
from scones.inferences import DEFAULT_THRESHOLD, check_probabilities, check_threshold, parse_inferences, top_class
from scones.lambda_events import event_body, require, response


class THRESHOLD_CONFIDENCE_NOT_MET(Exception):
    """Named as the course names the error: Step Functions reports the class name."""


def threshold() -> float:
    return check_threshold(environment().get("THRESHOLD", DEFAULT_THRESHOLD))


def lambda_handler(event, context):
    body = event_body(event)
    probabilities = check_probabilities(
        parse_inferences(require(body, "inferences", "the endpoint's class probabilities"))
    )
    limit = threshold()
    best, confidence = top_class(probabilities)
    if confidence < limit:
        raise THRESHOLD_CONFIDENCE_NOT_MET(
            f"top confidence {confidence:.4f} (class {best}) is below the threshold {limit}"
        )
    return response({**body, "inferences": probabilities})
