"""JSONPath as the States Language uses it: Paths, Reference Paths, and results.

A *Path* starts at one of three roots: ``$`` (the state's input), ``$$`` (the
context object) or ``$name`` (a workflow variable). Most real paths are
*definite* (``$.Payload.body``, ``$['my key'][0]``): they name one value, and
are compiled here into a tuple of steps that resolves with dict and list
lookups. Anything else (``[*]``, ``..``, filters, slices) is *indefinite*: it is
handed to jsonpath-ng and always yields a list, as Jayway JsonPath (which AWS
uses) does.

A *Reference Path* is a definite ``$`` path without negative indexes; it is
what ``ResultPath`` accepts, and :func:`apply_result_path` writes a result
into a copy of the input along it. Values are never mutated in place: the
interpreter treats every JSON value as immutable and copies only the spine.

https://states-language.net/spec.html#path
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext import parse as parse_jsonpath

from .errors import RESULT_PATH_MATCH_FAILURE, StatesError

INPUT, CONTEXT, VARIABLE = "input", "context", "variable"

_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOT_NAME = re.compile(r"[^.\[\]()*?@,:'\"\s]+")
_INDEX = re.compile(r"\[\s*(-?\d+)\s*\]")
_QUOTED = re.compile(r"""\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]""")


class InvalidPath(ValueError):
    """The text is not a Path the States Language accepts."""


class PathNotFound(Exception):
    """A definite path named a value the data does not have."""


# Interpreter values come from JSON, so they cannot be circular: skip the encoder's check.
_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False).encode


def to_json(value: Any) -> str:
    """Compact JSON, the form Step Functions writes into histories and causes."""
    return _compact(value)


class Scope:
    """What a path, template or intrinsic can read while a state runs.

    ``context`` may be a dict or a zero-argument callable that builds one:
    building the context object costs time, and most states never read it.
    ``variables`` is any object with ``lookup(name)`` raising ``KeyError``;
    ``random`` is the execution's random source (States.UUID, States.MathRandom);
    ``interrupt`` a zero-argument callable that raises if the execution must
    stop now (stopped, timed out, cancelled), for evaluations that run long.
    """

    __slots__ = ("input", "_context", "variables", "random", "interrupt")

    def __init__(self, input: Any, context: Any = None, variables: Any = None, random: Any = None,
                 interrupt: Any = None):
        self.input = input
        self._context = context
        self.variables = variables
        self.random = random
        self.interrupt = interrupt

    @property
    def context(self) -> Any:
        if callable(self._context):
            self._context = self._context()
        return self._context

    def with_input(self, input: Any) -> "Scope":
        """The same context and variables, another ``$``."""
        return Scope(input, self._context, self.variables, self.random, self.interrupt)

    def root(self, kind: str, variable: str | None) -> Any:
        if kind == INPUT:
            return self.input
        if kind == CONTEXT:
            return self.context
        try:
            return self.variables.lookup(variable)
        except (KeyError, AttributeError):
            raise PathNotFound(f"The variable '${variable}' is not defined") from None


@dataclass(frozen=True)
class Path:
    """A compiled Path. ``steps`` is set for definite paths, ``query`` otherwise."""

    text: str
    root: str
    variable: str | None
    steps: tuple | None
    query: Any = None

    @property
    def definite(self) -> bool:
        return self.steps is not None

    def resolve(self, scope: Scope) -> Any:
        """The value the path names; a list of matches for an indefinite path."""
        return self.apply(scope.root(self.root, self.variable))

    def apply(self, data: Any) -> Any:
        """Apply the path's steps to ``data`` (the value of its root)."""
        if self.steps is None:
            return [match.value for match in self.query.find(data)]
        for step in self.steps:
            if isinstance(step, str):
                if not isinstance(data, dict) or step not in data:
                    raise PathNotFound(self.text)
                data = data[step]
            else:
                if not isinstance(data, list) or not -len(data) <= step < len(data):
                    raise PathNotFound(self.text)
                data = data[step]
        return data


def parse_path(text: str) -> Path:
    """Compile a Path (``$…``, ``$$…`` or ``$var…``); raises :class:`InvalidPath`."""
    if not isinstance(text, str) or not text.startswith("$"):
        raise InvalidPath(f"'{text}' is not a path: paths start with '$'")
    if text.startswith("$$"):
        root, variable, rest = CONTEXT, None, text[2:]
    elif len(text) == 1 or text[1] in ".[":
        root, variable, rest = INPUT, None, text[1:]
    else:
        name = _VARIABLE_NAME.match(text, 1)
        if not name:
            raise InvalidPath(f"'{text}' is not a path: '$' must be followed by '.', '[', '$' or a variable name")
        root, variable, rest = VARIABLE, name.group(0), text[name.end():]
    steps = _definite_steps(rest)
    if steps is not None:
        return Path(text, root, variable, steps)
    try:
        query = parse_jsonpath("$" + rest)
    except (JsonPathLexerError, JsonPathParserError, Exception) as error:  # jsonpath-ng raises bare Exceptions too
        raise InvalidPath(f"'{text}' is not a valid JSONPath: {error}") from None
    return Path(text, root, variable, None, query)


def _definite_steps(rest: str) -> tuple | None:
    """The steps of a definite path, or None when the path is indefinite."""
    steps: list = []
    position = 0
    while position < len(rest):
        if rest.startswith("..", position):
            return None
        if rest[position] == ".":
            name = _DOT_NAME.match(rest, position + 1)
            if not name:
                return None
            steps.append(name.group(0))
            position = name.end()
            continue
        index = _INDEX.match(rest, position)
        if index:
            steps.append(int(index.group(1)))
            position = index.end()
            continue
        quoted = _QUOTED.match(rest, position)
        if quoted:
            # Only the enclosing quote is escaped; any other backslash is part of the name, as AWS reads it.
            if quoted.group(1) is not None:
                steps.append(quoted.group(1).replace("\\'", "'"))
            else:
                steps.append(quoted.group(2).replace('\\"', '"'))
            position = quoted.end()
            continue
        return None
    return tuple(steps)


def parse_reference_path(text: str) -> Path:
    """Compile a Reference Path (what ``ResultPath`` takes); raises :class:`InvalidPath`."""
    path = parse_path(text)
    if path.root != INPUT:
        raise InvalidPath(f"'{text}' is not a reference path: it must start with '$' and refer to the state input")
    if not path.definite or any(isinstance(step, int) and step < 0 for step in path.steps):
        raise InvalidPath(
            f"'{text}' is not a reference path: only '.name', \"['name']\" and '[index]' steps are allowed"
        )
    return path


def apply_result_path(raw_input: Any, result: Any, path: Path | None) -> Any:
    """Place ``result`` into a copy of ``raw_input`` at ``path`` (``ResultPath``).

    ``None`` (ResultPath null) discards the result. Missing objects along the
    path are created; anything else that is in the way is a
    ``States.ResultPathMatchFailure``.
    """
    if path is None:
        return raw_input
    try:
        return _place(raw_input, path.steps, 0, result)
    except PathNotFound:
        raise StatesError(
            RESULT_PATH_MATCH_FAILURE,
            f"Unable to apply ReferencePath {path.text} to input {to_json(raw_input)}",
        ) from None


def _place(target: Any, steps: tuple, position: int, result: Any) -> Any:
    if position == len(steps):
        return result
    step = steps[position]
    if isinstance(step, str) and isinstance(target, dict):
        copy = dict(target)
        copy[step] = _place(target.get(step, {}), steps, position + 1, result)
        return copy
    if isinstance(step, int) and isinstance(target, list) and step < len(target):
        copy = list(target)
        copy[step] = _place(target[step], steps, position + 1, result)
        return copy
    raise PathNotFound(step)


# --- payload templates (Parameters, ResultSelector, ItemSelector, Assign) ---------------


class Template:
    """A compiled payload template; ``evaluate(scope)`` builds a fresh value."""

    constant = False

    def evaluate(self, scope: Scope) -> Any:
        raise NotImplementedError


class Constant(Template):
    constant = True

    def __init__(self, value: Any):
        self.value = value

    def evaluate(self, scope: Scope) -> Any:
        return self.value


class ObjectTemplate(Template):
    def __init__(self, entries: list[tuple[str, Template]]):
        self.entries = entries

    def evaluate(self, scope: Scope) -> Any:
        return {key: part.evaluate(scope) for key, part in self.entries}


class ArrayTemplate(Template):
    def __init__(self, items: list[Template]):
        self.items = items

    def evaluate(self, scope: Scope) -> Any:
        return [item.evaluate(scope) for item in self.items]


class Dynamic(Template):
    """One ``"key.$": "<path or intrinsic>"`` value."""

    def __init__(self, evaluate: Callable[[Scope], Any]):
        self.evaluate = evaluate


def compile_template(value: Any, compile_dynamic: Callable[[str, str], Callable[[Scope], Any]]) -> Template:
    """Compile a payload template.

    ``compile_dynamic(field, text)`` compiles the string of a ``field.$`` key
    (a path, an intrinsic call, or under JSONata an expression) into a
    function of the scope; static parts are kept as shared constants.
    """
    if isinstance(value, Mapping):
        entries: list[tuple[str, Template]] = []
        for key, item in value.items():
            if key.endswith(".$") and isinstance(item, str):
                entries.append((key[:-2], Dynamic(compile_dynamic(key, item))))
            else:
                entries.append((key, compile_template(item, compile_dynamic)))
        if all(part.constant for _, part in entries):
            return Constant(dict(value))
        return ObjectTemplate(entries)
    if isinstance(value, list):
        items = [compile_template(item, compile_dynamic) for item in value]
        if all(item.constant for item in items):
            return Constant(list(value))
        return ArrayTemplate(items)
    return Constant(value)


def missing_path_cause(path: Path, field: str, scope: Scope) -> str:
    """The cause AWS reports when a ``field.$`` path finds nothing."""
    try:
        data = scope.root(path.root, path.variable)
    except PathNotFound as missing:
        return str(missing)
    return f"The JSONPath '{path.text}' specified for the field '{field}' could not be found in the input '{to_json(data)}'"


def no_results_cause(path: Path) -> str:
    """The cause AWS reports when InputPath/OutputPath/ItemsPath find nothing."""
    root = {INPUT: "$", CONTEXT: "$$"}.get(path.root, f"${path.variable}")
    rendered = root + "".join(f"['{step}']" if isinstance(step, str) else f"[{step}]" for step in path.steps or ())
    return f"Invalid path '{path.text}' : No results for path: {rendered}"
