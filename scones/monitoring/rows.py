"""One captured inference as a row: when, which class, how confident, and whether that is enough.

The probabilities come from ``endpointOutput``, decoded by its own
``encoding`` (JSON as captured by default, BASE64 when the endpoint config has
no ``CaptureContentTypeHeader``), and are judged by the same rule the filter
Lambda applies (:func:`scones.inferences.meets_threshold`).
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from scones import json_depth
from scones.errors import InputError
from scones.class_names import class_name
from scones import inferences
from scones.inferences import InferenceFormatError, meets_threshold, parse_inferences, top_class
from scones.monitoring.reading import LocatedRecord


class OutputFormatError(InputError):
    """A record's endpointOutput is not a list of class probabilities (for these class names)."""


@dataclass(frozen=True)
class InferenceRow:
    inference_time: datetime
    class_id: int
    class_name: str
    confidence: float  # the top probability
    probabilities: tuple[float, ...]
    meets_threshold: bool
    event_id: str
    location: str
    line_number: int


def captured_probabilities(located: LocatedRecord) -> list[float]:
    """The numbers of a record's endpointOutput (judged by :func:`check_probabilities`).

    Deep nesting is refused before it is parsed (a recursive parse of it would crash).
    """
    output = located.record.endpoint_output
    try:
        body = output.body()
        if json_depth.nests_too_deep(body.decode("utf-8")):
            raise OutputFormatError(f"endpointOutput.data nests deeper than {json_depth.MAX_DEPTH} levels; "
                                    "it must be one flat list of probabilities")
        return parse_inferences(body)
    except binascii.Error:
        raise OutputFormatError("endpointOutput.data is not valid BASE64") from None
    except UnicodeDecodeError:
        raise OutputFormatError("endpointOutput.data does not decode to UTF-8 text") from None
    except InferenceFormatError as error:
        raise OutputFormatError(f"endpointOutput: {error}") from None


def check_probabilities(values: list[float]) -> None:
    """Refuse (OutputFormatError) numbers that are no class distribution (:func:`scones.inferences.check_probabilities`)."""
    try:
        inferences.check_probabilities(values)
    except InferenceFormatError as error:
        raise OutputFormatError(f"endpointOutput: {error}") from None


def inference_row(located: LocatedRecord, *, class_names: Sequence[str] | None, threshold: float) -> InferenceRow:
    """The row of a record with an endpointOutput; :class:`OutputFormatError` says what is wrong."""
    probabilities = captured_probabilities(located)
    if class_names is not None and len(probabilities) != len(class_names):
        raise OutputFormatError(
            f"{len(probabilities)} probabilities but {len(class_names)} class names "
            f"({', '.join(class_names)}); pass --classes in the model's class order"
        )
    check_probabilities(probabilities)
    class_id, confidence = top_class(probabilities)
    return InferenceRow(
        inference_time=located.record.inference_time,
        class_id=class_id,
        class_name=class_name(class_names, class_id),
        confidence=confidence,
        probabilities=tuple(probabilities),
        meets_threshold=meets_threshold(probabilities, threshold),
        event_id=located.record.event_id,
        location=located.location,
        line_number=located.line_number,
    )
