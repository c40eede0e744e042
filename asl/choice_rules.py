"""Choice Rules, compiled into predicates over a :class:`~scones.asl.paths.Scope`.

A JSONPath rule compares the value at ``Variable`` with a literal (``StringEquals``)
or with the value at another path (``StringEqualsPath``); ``And``/``Or``/``Not``
combine rules; ``Is…`` operators test type and presence. A comparison whose
operand has the wrong type is simply false, as the spec says. A ``Variable``
that names nothing is a ``States.Runtime`` error — except for ``IsPresent``,
whose whole point is to ask.

A JSONata rule is a ``Condition`` expression that must evaluate to a boolean.

https://states-language.net/spec.html#choice-state
"""

from __future__ import annotations

import operator
import re
from typing import Any, Callable

from .clock import parse_timestamp
from .errors import RUNTIME, StatesError
from .paths import Path, PathNotFound, Scope, parse_path
from .query_jsonata import Expression

Predicate = Callable[[Scope], bool]

ORDERINGS = {
    "Equals": operator.eq,
    "LessThan": operator.lt,
    "GreaterThan": operator.gt,
    "LessThanEquals": operator.le,
    "GreaterThanEquals": operator.ge,
}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# Each type of comparison: how to check the operand and how to turn it into a comparable.
KINDS: dict[str, tuple[Callable[[Any], bool], Callable[[Any], Any]]] = {
    "String": (lambda value: isinstance(value, str), lambda value: value),
    "Numeric": (_is_number, lambda value: value),
    "Boolean": (lambda value: isinstance(value, bool), lambda value: value),
    "Timestamp": (lambda value: parse_timestamp(value) is not None, parse_timestamp),
}

# Every comparison operator name -> (kind, ordering name); Boolean has only Equals.
COMPARISONS: dict[str, tuple[str, str]] = {
    f"{kind}{ordering}": (kind, ordering)
    for kind in KINDS
    for ordering in ORDERINGS
    if kind != "Boolean" or ordering == "Equals"
}

TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda value: value is None,
    "IsNumeric": _is_number,
    "IsString": lambda value: isinstance(value, str),
    "IsBoolean": lambda value: isinstance(value, bool),
    "IsTimestamp": lambda value: parse_timestamp(value) is not None,
}

OPERATORS = frozenset(
    set(COMPARISONS)
    | {f"{name}Path" for name in COMPARISONS}
    | {"StringMatches"}
    | set(TYPE_TESTS)
    | {"IsPresent"}
)


def operator_of(rule: dict) -> str | None:
    """The comparison operator a (non-boolean) rule uses, if exactly one."""
    found = [key for key in rule if key in OPERATORS]
    return found[0] if len(found) == 1 else None


def string_matches(pattern: str) -> re.Pattern:
    """Compile a ``StringMatches`` pattern: ``*`` is a wildcard, ``\\*`` and ``\\\\`` are literals."""
    parts, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern) and pattern[index + 1] in "*\\":
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "*" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def compile_rule(rule: dict) -> Predicate:
    """Compile one JSONPath Choice Rule (boolean combinations included)."""
    if "And" in rule:
        parts = [compile_rule(item) for item in rule["And"]]
        return lambda scope: all(part(scope) for part in parts)
    if "Or" in rule:
        parts = [compile_rule(item) for item in rule["Or"]]
        return lambda scope: any(part(scope) for part in parts)
    if "Not" in rule:
        inner = compile_rule(rule["Not"])
        return lambda scope: not inner(scope)
    variable = parse_path(rule["Variable"])
    name = operator_of(rule)
    operand = rule[name]

    if name == "IsPresent":
        return lambda scope: _is_present(variable, scope) == operand
    if name in TYPE_TESTS:
        test = TYPE_TESTS[name]
        return lambda scope: test(_value(variable, scope)) == operand
    if name == "StringMatches":
        pattern = string_matches(operand)
        return lambda scope: _matches(pattern, _value(variable, scope))

    by_path = name.endswith("Path")
    kind, ordering = COMPARISONS[name[:-4] if by_path else name]
    accepts, comparable = KINDS[kind]
    compare = ORDERINGS[ordering]
    if by_path:
        other_path = parse_path(operand)

        def compare_paths(scope: Scope) -> bool:
            left, right = _value(variable, scope), _value(other_path, scope)
            return accepts(left) and accepts(right) and compare(comparable(left), comparable(right))

        return compare_paths
    right = comparable(operand)

    def compare_literal(scope: Scope) -> bool:
        left = _value(variable, scope)
        return accepts(left) and compare(comparable(left), right)

    return compare_literal


def compile_condition(condition: str | bool) -> Predicate:
    """Compile a JSONata ``Condition``: a constant true/false, or an expression that must give one."""
    if isinstance(condition, bool):
        return lambda scope: condition
    expression = Expression(condition, "Condition")

    def evaluate(scope: Scope) -> bool:
        value = expression.evaluate(scope)
        if not isinstance(value, bool):
            raise expression.type_error("boolean", value)
        return value

    return evaluate


def _is_present(path: Path, scope: Scope) -> bool:
    try:
        value = path.resolve(scope)
    except PathNotFound:
        return False
    return bool(value) if not path.definite else True


def _value(path: Path, scope: Scope) -> Any:
    try:
        return path.resolve(scope)
    except PathNotFound:
        raise StatesError(
            RUNTIME, f"Invalid path '{path.text}': The choice state's condition path references an invalid value."
        ) from None


def _matches(pattern: re.Pattern, value: Any) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None
