"""The JSONata functions Step Functions adds to the language.

AWS documents six functions that JSONata states may call besides JSONata's
own library: ``$partition``, ``$range``, ``$hash``, ``$random`` (with an
optional seed, replacing JSONata's), ``$uuid`` and ``$parse``. Each is the
JSONata form of an intrinsic function of JSONPath states, so each reuses that
intrinsic's implementation and argument checks (one place for each rule);
invalid arguments are a ``States.QueryEvaluationError`` naming the function.

https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html#jsonata-functions-provided-by-sfn
"""

from __future__ import annotations

import random as random_module
from typing import Any, Callable

from jsonata import Jsonata
from jsonata.utils import Utils

from . import intrinsics


class FunctionArgumentError(ValueError):
    """A Step Functions JSONata function was called with arguments it does not accept."""


def _plain(value: Any) -> Any:
    """jsonata-python's argument as plain JSON (its null marker and sequences become None and lists)."""
    if value is Utils.NULL_VALUE:
        return None
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def _checked(name: str, implementation: Callable[..., Any]) -> Callable[..., Any]:
    """Run an intrinsic's implementation; its refusal becomes a :class:`FunctionArgumentError`."""

    def function(*arguments: Any) -> Any:
        try:
            return implementation(*(_plain(argument) for argument in arguments))
        except (intrinsics.InvalidArguments, TypeError):
            raise FunctionArgumentError(f"Invalid arguments in ${name}") from None

    return function


def _random(rng: random_module.Random) -> Callable[..., float]:
    """``$random([seed])``: a number in [0, 1); the same seed always gives the same number."""

    def random(seed: Any = None) -> float:
        seed = _plain(seed)
        if seed is None:
            return rng.random()
        if not intrinsics.is_number(seed):
            raise FunctionArgumentError("Invalid arguments in $random")
        return random_module.Random(seed).random()

    return random


STATIC_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "partition": _checked("partition", intrinsics.array_partition),
    "range": _checked("range", intrinsics.array_range),
    "hash": _checked("hash", intrinsics.hash_text),
    "parse": _checked("parse", intrinsics.string_to_json),
}


def register_static(expression: Jsonata) -> None:
    """Make the functions that need no per-execution state callable from ``expression``."""
    for name, function in STATIC_FUNCTIONS.items():
        expression.register_lambda(name, function)


def random_bindings(source: str, rng: random_module.Random) -> dict[str, Any]:
    """``$random``/``$uuid`` bound to the execution's random source, for the names ``source`` mentions."""
    bindings: dict[str, Any] = {}
    if "$random" in source:
        bindings["random"] = Jsonata.JLambda(_random(rng))
    if "$uuid" in source:
        bindings["uuid"] = Jsonata.JLambda(lambda: intrinsics.uuid(rng=rng))
    return bindings
