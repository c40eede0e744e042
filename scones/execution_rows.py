"""Reading executions of the workflow: the row of the executions table for each one.

The predicted class and confidence come from the execution's history (the
last successful task whose result carries ``inferences``), so a run that the
filter failed still shows what the model said; failing that, from the output. History events have the same
shape locally and on AWS, so this works for both backends.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

from scones.backend import ExecutionOutcome
from scones.class_names import class_name
from scones.inferences import InferenceFormatError, parse_inferences, top_class
from scones.execution_inputs import ImageCase

SUCCEEDED_DETAILS = {
    "TaskSucceeded": "taskSucceededEventDetails",
    "LambdaFunctionSucceeded": "lambdaFunctionSucceededEventDetails",
}


@dataclass(frozen=True)
class ExecutionRow:
    execution: str
    image: str
    true_class: str
    predicted_class: str | None
    confidence: float | None
    status: str
    error: str | None

    def to_json(self) -> dict:
        return asdict(self)


def _find_inferences(value):
    """The ``inferences`` list inside a task result, wherever the integration nests it."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    if isinstance(value, dict):
        if value.get("inferences"):
            return value["inferences"]
        for key in ("Payload", "body"):
            if key in value:
                found = _find_inferences(value[key])
                if found:
                    return found
    return None


def inferences_from_history(history: Iterable[dict]) -> list[float] | None:
    """The probabilities of the last successful task that returned some, if any."""
    found = None
    for event in history:
        details_key = SUCCEEDED_DETAILS.get(event.get("type"))
        if details_key and details_key in event:
            candidate = _find_inferences(event[details_key].get("output"))
            if candidate:
                found = candidate
    if found is None:
        return None
    try:
        return parse_inferences(found)
    except InferenceFormatError:
        return None


def outcome_inferences(outcome: ExecutionOutcome) -> list[float] | None:
    """From the history's task results, else from the execution's output."""
    found = inferences_from_history(outcome.history)
    if found is None and outcome.output is not None:
        try:
            found = parse_inferences(_find_inferences(outcome.output))
        except InferenceFormatError:
            found = None
    return found


def execution_row(outcome: ExecutionOutcome, case: ImageCase, class_names: Sequence[str]) -> ExecutionRow:
    probabilities = outcome_inferences(outcome)
    predicted = confidence = None
    if probabilities:
        best, confidence = top_class(probabilities)
        predicted = class_name(class_names, best)
    return ExecutionRow(
        execution=outcome.name,
        image=case.s3_key,
        true_class=class_name(class_names, case.true_class),
        predicted_class=predicted,
        confidence=confidence,
        status=outcome.status,
        error=outcome.error,
    )
