"""``Retry`` and ``Catch``: what a Task, Parallel or Map state does when it fails.

Retriers are tried in order; the first whose ``ErrorEquals`` matches decides.
Each retrier counts its own attempts; when they run out, the catchers get the
error, and the first match sends the execution on to its ``Next`` with the
error output ``{"Error", "Cause"}`` placed by its ``ResultPath`` (JSONPath) or
shaped by its ``Output`` (JSONata).

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .dataflow import JSONATA, payload_template
from .errors import StatesError, matches
from .paths import Scope, Template, apply_result_path, parse_reference_path
from .query_jsonata import JsonataTemplate


@dataclass(frozen=True)
class Retrier:
    error_equals: tuple[str, ...]
    interval_seconds: float = 1
    max_attempts: int = 3
    backoff_rate: float = 2.0
    max_delay_seconds: float | None = None
    jitter: str = "NONE"

    @classmethod
    def from_spec(cls, spec: dict) -> "Retrier":
        return cls(
            tuple(spec["ErrorEquals"]),
            spec.get("IntervalSeconds", 1),
            spec.get("MaxAttempts", 3),
            spec.get("BackoffRate", 2.0),
            spec.get("MaxDelaySeconds"),
            spec.get("JitterStrategy", "NONE"),
        )

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt + 1`` (``attempt`` counts from 0).

        ``IntervalSeconds × BackoffRate^attempt``, capped by ``MaxDelaySeconds``;
        with ``JitterStrategy: FULL`` a uniformly random part of that.
        """
        seconds = self.interval_seconds * self.backoff_rate**attempt
        if self.max_delay_seconds is not None:
            seconds = min(seconds, self.max_delay_seconds)
        if self.jitter == "FULL":
            seconds = rng.uniform(0, seconds)
        return seconds


class Catcher:
    def __init__(self, spec: dict, language: str):
        self.error_equals = tuple(spec["ErrorEquals"])
        self.next = spec["Next"]
        self.language = language
        if language == JSONATA:
            self.output = JsonataTemplate(spec["Output"], "Output") if "Output" in spec else None
            self.assign: Template | JsonataTemplate | None = (
                JsonataTemplate(spec["Assign"], "Assign") if "Assign" in spec else None
            )
        else:
            result_path = spec.get("ResultPath", "$")
            self.result_path = None if result_path is None else parse_reference_path(result_path)
            self.assign = payload_template(spec["Assign"]) if "Assign" in spec else None

    def handle(self, raw_input: Any, error: StatesError, scope: Scope) -> tuple[Any, dict | None]:
        """The output this catcher passes to ``Next``, and the variables it assigns."""
        error_output = error.error_output
        if self.language == JSONATA:
            states = {"errorOutput": error_output}
            assigned = self.assign.evaluate(scope, states) if self.assign else None
            output = self.output.evaluate(scope, states) if self.output else error_output
            return output, assigned
        assigned = self.assign.evaluate(scope.with_input(error_output)) if self.assign else None
        return apply_result_path(raw_input, error_output, self.result_path), assigned


class ErrorHandling:
    """The Retry and Catch lists of one state."""

    def __init__(self, spec: dict, language: str):
        self.retriers = [Retrier.from_spec(item) for item in spec.get("Retry", ())]
        self.catchers = [Catcher(item, language) for item in spec.get("Catch", ())]

    def retrier_for(self, error: StatesError) -> int | None:
        """Index of the retrier that handles ``error``, if any."""
        for index, retrier in enumerate(self.retriers):
            if matches(retrier.error_equals, error.error, error.terminal):
                return index
        return None

    def catcher_for(self, error: StatesError) -> Catcher | None:
        for catcher in self.catchers:
            if matches(catcher.error_equals, error.error, error.terminal):
                return catcher
        return None
