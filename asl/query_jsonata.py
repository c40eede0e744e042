"""JSONata as a query language of states: ``{% … %}`` strings, evaluated with jsonata-python.

In a JSONata state every string field that is exactly ``{% expression %}``
is evaluated; any other string is a literal. Expressions see ``$states``
(``input``, ``result``, ``errorOutput``, ``context``) and the workflow
variables as ``$name``. A failing or undefined expression is
``States.QueryEvaluationError``.

jsonata-python's compiled expressions keep evaluation state on the object, so
they are not safe to share between threads: syntax is checked once at load
time, and each thread compiles its own copy on first use.

https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
"""

from __future__ import annotations

import random as random_module
import threading
from typing import Any, Mapping

import jsonata
from jsonata.jexception import JException
from jsonata.utils import Utils

from . import jsonata_functions
from .jsonata_regex import RegexTimeout, bounded_regex_engine
from .errors import QUERY_EVALUATION_ERROR, Interrupt, StatesError
from .paths import Scope, to_json

OPEN, CLOSE = "{%", "%}"


class JsonataSyntaxError(ValueError):
    """The text between ``{%`` and ``%}`` is not valid JSONata."""


class QueryEvaluationError(StatesError):
    """A JSONata expression failed; ``location`` names the field."""

    def __init__(self, cause: str, location: str | None = None):
        super().__init__(QUERY_EVALUATION_ERROR, cause)
        self.location = location


def is_expression(value: Any) -> bool:
    """Is ``value`` a whole-string JSONata expression (``{% … %}``)?"""
    return isinstance(value, str) and value.startswith(OPEN) and value.endswith(CLOSE) and len(value) >= 4


def is_partial_expression(value: Any) -> bool:
    """A string that contains ``{%`` … ``%}`` without being one expression: AWS rejects these."""
    return isinstance(value, str) and OPEN in value and CLOSE in value and not is_expression(value)


def check_syntax(text: str) -> None:
    """Raise :class:`JsonataSyntaxError` unless ``{% text %}`` parses."""
    try:
        jsonata.Jsonata(text[2:-2], bounded_regex_engine)
    except JException as error:
        raise JsonataSyntaxError(f"'{text}' is not a valid JSONata expression: {error}") from None
    except RecursionError:  # jsonata-python's parser recurses once per level of nesting
        raise JsonataSyntaxError(f"the JSONata expression '{text[:40]}…' nests too deeply to parse") from None


_per_thread = threading.local()


def _compiled(source: str) -> jsonata.Jsonata:
    """This thread's compiled copy of ``source``."""
    cache = getattr(_per_thread, "cache", None)
    if cache is None:
        cache = _per_thread.cache = {}
    expression = cache.get(source)
    if expression is None:
        expression = jsonata.Jsonata(source, bounded_regex_engine)
        expression.set_output_convert_nulls(False)  # keep JSON null apart from "undefined"
        jsonata_functions.register_static(expression)
        cache[source] = expression
    return expression


class Expression:
    """One ``{% … %}`` string, evaluated against a :class:`Scope`.

    ``$states`` is built from the scope: ``input`` is the scope's input, and
    the rest comes from ``states`` (a dict with ``result``/``errorOutput``)
    passed to :meth:`evaluate`. The context object is built only if the
    expression mentions it.
    """

    def __init__(self, text: str, field: str):
        self.text = text
        self.source = text[2:-2]
        self.field = field
        self.reads_context = "context" in self.source
        self.reads_random = "$random" in self.source or "$uuid" in self.source

    def evaluate(self, scope: Scope, states: Mapping[str, Any] | None = None) -> Any:
        value = self.evaluate_any(scope, states)
        if value is None:
            raise QueryEvaluationError(
                f"The JSONata expression '{self.source.strip()}' specified for the field '{self.field}' "
                f"returned nothing (undefined).",
                self.field,
            )
        return _to_json_value(value, self)

    def evaluate_any(self, scope: Scope, states: Mapping[str, Any] | None = None) -> Any:
        """jsonata-python's raw result: None for undefined, its null marker for JSON null."""
        variables = scope.variables.visible() if scope.variables is not None else {}
        # A variable holding JSON null must read as null, not as an undefined name.
        bindings = {name: Utils.NULL_VALUE if value is None else value for name, value in variables.items()}
        reserved = {"input": scope.input}
        if states:
            reserved.update(states)
        if self.reads_context:
            reserved["context"] = scope.context
        bindings["states"] = reserved
        if self.reads_random:
            bindings.update(jsonata_functions.random_bindings(self.source, scope.random or _fallback_random))
        bindings[_ENTRY_CALLBACK] = _Budget(self, scope.interrupt).step
        expression = _compiled(self.source)
        jsonata.Jsonata.CURRENT.jsonata = expression  # functions like $now() read the thread's current expression
        try:
            return expression.evaluate(None, bindings)
        except (Interrupt, QueryEvaluationError):  # stopped or timed out mid-evaluation, or out of steps
            raise
        except JException as error:
            raise QueryEvaluationError(f"{error}", self.field) from None
        except (jsonata_functions.FunctionArgumentError, RegexTimeout) as error:
            raise QueryEvaluationError(str(error), self.field) from None
        except RecursionError:
            raise QueryEvaluationError("The JSONata expression recursed too deeply", self.field) from None
        except Exception as error:  # jsonata-python can fail with plain Python errors on odd operands
            raise QueryEvaluationError(
                f"The JSONata expression '{self.source.strip()}' specified for the field '{self.field}' "
                f"could not be evaluated: {type(error).__name__}: {error}", self.field) from None

    def type_error(self, expected: str, value: Any) -> QueryEvaluationError:
        """AWS's error for a result of the wrong JSON type (``value`` is plain JSON)."""
        return QueryEvaluationError(
            f"The JSONata expression '{self.source.strip()}' specified for the field '{self.field}' returned an "
            f"unexpected result type. Expected '{expected}', but was '{jsonata_type(value)}' for value: {to_json(value)}",
            self.field,
        )


_fallback_random = random_module.Random()


# jsonata-python calls the function bound under this name before it evaluates each node of an expression.
_ENTRY_CALLBACK = "__evaluate_entry"
# How many expression nodes one evaluation may evaluate: an endless (tail-)recursion ends here, not never.
MAX_EVALUATION_STEPS = 1_000_000
# Every this many steps an evaluation asks whether its execution was stopped or timed out.
_INTERRUPT_EVERY = 1024


class _Budget:
    """The steps one evaluation has left, and the check that lets ``Execution.stop()`` end it."""

    __slots__ = ("expression", "interrupt", "steps")

    def __init__(self, expression: "Expression", interrupt):
        self.expression = expression
        self.interrupt = interrupt
        self.steps = 0

    def step(self, node, input, environment) -> None:
        self.steps += 1
        if self.steps % _INTERRUPT_EVERY == 0:
            if self.interrupt is not None:
                self.interrupt()
            if self.steps > MAX_EVALUATION_STEPS:
                raise QueryEvaluationError(
                    f"The JSONata expression '{self.expression.source.strip()}' specified for the field "
                    f"'{self.expression.field}' did not finish within {MAX_EVALUATION_STEPS:,} evaluation steps",
                    self.expression.field)


def jsonata_type(value: Any) -> str:
    """The JSONata name of a JSON value's type, as error messages use it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object"}.get(type(value), "unknown")


def _to_json_value(value: Any, expression: Expression) -> Any:
    """jsonata-python's result as plain JSON (its null marker becomes None); a function is refused."""
    if value is Utils.NULL_VALUE:
        return None
    if isinstance(value, list):
        return [_to_json_value(item, expression) for item in value]
    if isinstance(value, dict):
        return {key: _to_json_value(item, expression) for key, item in value.items()}
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise QueryEvaluationError(
        f"The JSONata expression '{expression.source.strip()}' specified for the field '{expression.field}' "
        f"returned an unsupported result type.",
        expression.field,
    )


class JsonataTemplate:
    """A JSON value whose ``{% %}`` strings are expressions (Arguments, Output, Assign, ItemSelector…).

    Compiled once into a function of (scope, extra ``$states`` fields); parts
    without expressions are returned as they are.
    """

    def __init__(self, value: Any, field: str):
        self.field = field
        self._evaluate = _compile_template(value, field)

    def evaluate(self, scope: Scope, states: Mapping[str, Any] | None = None) -> Any:
        return self._evaluate(scope, states)


def _compile_template(value: Any, field: str):
    """Compile one value of a template; ``field`` is its location (``Output/result``), as AWS names it."""
    if is_expression(value):
        return Expression(value, field).evaluate
    if isinstance(value, dict) and expressions_in(value):
        parts = {key: _compile_template(item, f"{field}/{key}") for key, item in value.items()}
        return lambda scope, states: {key: part(scope, states) for key, part in parts.items()}
    if isinstance(value, list) and expressions_in(value):
        items = [_compile_template(item, f"{field}/{index}") for index, item in enumerate(value)]
        return lambda scope, states: [item(scope, states) for item in items]
    return lambda scope, states: value


def expressions_in(value: Any) -> list[str]:
    """Every ``{% %}`` string inside a JSON value (for validation)."""
    if is_expression(value):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in expressions_in(item)]
    if isinstance(value, list):
        return [text for item in value for text in expressions_in(item)]
    return []

