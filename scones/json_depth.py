"""How deeply JSON nests, measured without recursion, so deep documents are refused before they are walked.

Python's ``json`` module and every recursive walk of a value (paths,
templates, validation) raise RecursionError near the interpreter's recursion
limit (1,000 frames). The interpreter and the monitoring reader bound nesting instead: a definition,
an execution input or a ``States.StringToJson`` text that nests deeper than
:data:`MAX_DEPTH` is refused with an error that says so, never a traceback.
The bound leaves room below Python's limit for the frames that walk a value.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 256

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # the unrolled form: no per-character alternation
_BRACKET = re.compile(r"[\[\]{}]")


class TooDeep(ValueError):
    """A JSON document nests deeper than :data:`MAX_DEPTH`."""

    def __init__(self, what: str):
        super().__init__(f"{what} nests deeper than {MAX_DEPTH} levels of arrays and objects; flatten it")


def nests_too_deep(text: str) -> bool:
    """Does JSON text nest arrays and objects deeper than :data:`MAX_DEPTH` (brackets inside strings do not count)?

    Text cannot nest deeper than it has opening brackets, and counting those
    is cheap, so nearly all text is never scanned.
    """
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    return text_depth(text) > MAX_DEPTH


def text_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _BRACKET.finditer(_STRING.sub("", text)):
        depth += 1 if bracket.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def value_depth(value: Any) -> int:
    """The deepest nesting of lists and dicts in a value, walked with an explicit stack; stops past the bound."""
    deepest, stack = 0, [(value, 0)]
    while stack and deepest <= MAX_DEPTH:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, (list, tuple)):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def check_value(value: Any, what: str) -> None:
    """Raise :class:`TooDeep` (naming ``what``) if ``value`` nests deeper than the bound."""
    if value_depth(value) > MAX_DEPTH:
        raise TooDeep(what)


def parse(text: str, what: str) -> Any:
    """``json.loads(text)``, refusing text that nests deeper than the bound before parsing it."""
    if nests_too_deep(text):
        raise TooDeep(what)
    return json.loads(text)
