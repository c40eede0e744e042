"""Intrinsic functions (``States.Format(...)`` and the rest), parsed once, run per state.

The call syntax is small enough for a hand-written recursive-descent parser:
arguments are nested calls, single-quoted strings (``\\'``, ``\\{``, ``\\}``
and ``\\\\`` are the only escapes), paths (``$.x``, ``$$.Execution.Id``,
``$var``), numbers, ``null``, ``true`` and ``false``. Calls nest up to 10 deep.

Each function checks its arguments the way AWS does. A failure at run time is
``States.Runtime`` — that is what AWS reports (its docs still name
``States.IntrinsicFailure``, which no execution produces) — with AWS's cause
texts: ``Invalid arguments in States.ArrayPartition``, or for a path argument
that finds nothing, ``The function '…' had the following error: The JsonPath
argument for the field '$.x' could not be found in the input '{…}'``.

https://docs.aws.amazon.com/step-functions/latest/dg/intrinsic-functions.html
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import random as random_module
import re
from dataclasses import dataclass
from typing import Any, Callable

from scones import json_depth
from .ids import random_uuid
from .paths import InvalidPath, Path, PathNotFound, Scope, parse_path, to_json

MAX_NESTING = 10
MAX_ENCODING_LENGTH = 10_000
MAX_RANGE_LENGTH = 1000
INT32 = (-(2**31), 2**31 - 1)
HASH_ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


class IntrinsicSyntaxError(ValueError):
    """The text is not a well-formed intrinsic function call."""


class IntrinsicFunctionError(Exception):
    """An intrinsic failed at run time; ``str()`` is the cause AWS reports."""


# --- the syntax tree ------------------------------------------------------------------


@dataclass(frozen=True)
class Literal:
    value: Any
    # For string literals: the text split at unescaped "{}" (what States.Format fills).
    format_pieces: tuple[str, ...] | None = None


@dataclass(frozen=True)
class PathArgument:
    path: Path


@dataclass(frozen=True)
class Call:
    name: str
    arguments: tuple
    text: str


# --- parsing --------------------------------------------------------------------------

_NAME = re.compile(r"States\.[A-Za-z0-9]+")
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_KEYWORDS = {"null": None, "true": True, "false": False}


def is_intrinsic(text: Any) -> bool:
    return isinstance(text, str) and text.startswith("States.")


def parse(text: str) -> Call:
    """Parse one intrinsic call; raises :class:`IntrinsicSyntaxError`."""
    parser = _Parser(text)
    call = parser.call(depth=1)
    parser.skip_space()
    if parser.position != len(text):
        parser.fail("unexpected text after the closing ')'")
    return call


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.position = 0

    def fail(self, message: str):
        raise IntrinsicSyntaxError(f"{message} at position {self.position} of '{self.text}'")

    def skip_space(self) -> None:
        while self.position < len(self.text) and self.text[self.position].isspace():
            self.position += 1

    def peek(self) -> str:
        return self.text[self.position] if self.position < len(self.text) else ""

    def call(self, depth: int) -> Call:
        if depth > MAX_NESTING:
            self.fail(f"intrinsic functions nest at most {MAX_NESTING} deep")
        start = self.position
        name = _NAME.match(self.text, self.position)
        if not name:
            self.fail("expected an intrinsic function name like 'States.Format'")
        if name.group(0) not in FUNCTIONS:
            self.fail(f"unknown intrinsic function '{name.group(0)}'")
        self.position = name.end()
        self.skip_space()
        if self.peek() != "(":
            self.fail(f"expected '(' after {name.group(0)}")
        self.position += 1
        arguments = []
        self.skip_space()
        if self.peek() == ")":
            self.position += 1
        else:
            while True:
                arguments.append(self.argument(depth))
                self.skip_space()
                if self.peek() == ",":
                    self.position += 1
                elif self.peek() == ")":
                    self.position += 1
                    break
                else:
                    self.fail("expected ',' or ')'")
        call = Call(name.group(0), tuple(arguments), self.text[start : self.position])
        _check_arity(call)
        return call

    def argument(self, depth: int):
        self.skip_space()
        char = self.peek()
        if char == "'":
            return self.string()
        if char == "$":
            return self.path()
        if self.text.startswith("States.", self.position):
            return self.call(depth + 1)
        number = _NUMBER.match(self.text, self.position)
        if number:
            self.position = number.end()
            literal = number.group(0)
            return Literal(float(literal) if any(c in literal for c in ".eE") else int(literal))
        for keyword, value in _KEYWORDS.items():
            if self.text.startswith(keyword, self.position):
                self.position += len(keyword)
                return Literal(value)
        self.fail("expected a string, number, path, null, true, false or intrinsic call")

    def string(self) -> Literal:
        self.position += 1
        chars: list[tuple[str, bool]] = []  # (character, was escaped)
        while True:
            char = self.peek()
            if not char:
                self.fail("unterminated string")
            self.position += 1
            if char == "'":
                break
            if char == "\\":
                escaped = self.peek()
                if escaped not in ("'", "{", "}", "\\"):
                    self.fail("open escape: only \\', \\{, \\} and \\\\ may follow a backslash")
                self.position += 1
                chars.append((escaped, True))
            else:
                chars.append((char, False))
        pieces, current, index = [], [], 0
        while index < len(chars):
            char, escaped = chars[index]
            if char == "{" and not escaped and index + 1 < len(chars) and chars[index + 1] == ("}", False):
                pieces.append("".join(current))
                current = []
                index += 2
                continue
            current.append(char)
            index += 1
        pieces.append("".join(current))
        return Literal("".join(char for char, _ in chars), tuple(pieces))

    def path(self) -> PathArgument:
        start, depth, quote = self.position, 0, ""
        while self.position < len(self.text):
            char = self.text[self.position]
            if quote:
                if char == "\\":
                    self.position += 1
                elif char == quote:
                    quote = ""
            elif char in "'\"" and depth:
                quote = char
            elif char in "[(":
                depth += 1
            elif char in "])":
                if depth == 0:
                    break
                depth -= 1
            elif char == "," and depth == 0:
                break
            self.position += 1
        try:
            return PathArgument(parse_path(self.text[start : self.position].rstrip()))
        except InvalidPath as error:
            raise IntrinsicSyntaxError(str(error)) from None


def _check_arity(call: Call) -> None:
    low, high = FUNCTIONS[call.name][1]
    count = len(call.arguments)
    if count < low or (high is not None and count > high):
        expected = f"{low}" if low == high else f"{low} to {high}" if high is not None else f"at least {low}"
        raise IntrinsicSyntaxError(f"{call.name} takes {expected} argument(s), got {count}: '{call.text}'")
    if call.name == "States.Format":
        template = call.arguments[0]
        if isinstance(template, Literal):
            if not isinstance(template.value, str):
                raise IntrinsicSyntaxError(f"the first argument of States.Format must be a string: '{call.text}'")
            if len(template.format_pieces) - 1 != count - 1:
                raise IntrinsicSyntaxError(
                    f"States.Format has {len(template.format_pieces) - 1} '{{}}' placeholder(s) "
                    f"but {count - 1} value(s): '{call.text}'"
                )


# --- evaluation -----------------------------------------------------------------------


def evaluate(call: Call, scope: Scope) -> Any:
    """Run a parsed call; raises :class:`IntrinsicFunctionError` with AWS's cause."""
    values = [_argument_value(argument, call, scope) for argument in call.arguments]
    function = FUNCTIONS[call.name][0]
    try:
        if call.name == "States.Format":
            return _format(call.arguments[0], values)
        if call.name in ("States.UUID", "States.MathRandom"):
            return function(*values, rng=scope.random or random_module)
        return function(*values)
    except InvalidArguments:
        raise IntrinsicFunctionError(f"Invalid arguments in {call.name}") from None


def _argument_value(argument, call: Call, scope: Scope) -> Any:
    if isinstance(argument, Literal):
        return argument.value
    if isinstance(argument, Call):
        return evaluate(argument, scope)
    path = argument.path
    try:
        return path.resolve(scope)
    except PathNotFound:
        try:
            problem = (
                f"The JsonPath argument for the field '{path.text}' could not be found in the input "
                f"'{to_json(scope.root(path.root, path.variable))}'"
            )
        except PathNotFound as undefined:
            problem = str(undefined)
        raise IntrinsicFunctionError(f"The function '{call.text}' had the following error: {problem}") from None


class InvalidArguments(Exception):
    """A function's argument values are outside what it accepts (AWS: "Invalid arguments in …")."""


def _require(condition: bool) -> None:
    if not condition:
        raise InvalidArguments()


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _java_round(value: Any) -> int:
    """Math.round as Java (which AWS runs) does it: half rounds up."""
    _require(is_number(value) and math.isfinite(value))
    return int(math.floor(value + 0.5)) if isinstance(value, float) else value


def _format(template_argument, values: list) -> str:
    template = values[0]
    _require(isinstance(template, str))
    pieces = template_argument.format_pieces if isinstance(template_argument, Literal) else template.split("{}")
    _require(len(pieces) == len(values))
    rendered = [pieces[0]]
    for piece, value in zip(pieces[1:], values[1:]):
        rendered.append(_java_string(value))
        rendered.append(piece)
    return "".join(rendered)


def _java_string(value: Any) -> str:
    """How AWS renders a value inside States.Format (Java's toString of JSON nodes)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_java_string(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={_java_string(item)}" for key, item in value.items()) + "}"
    return json.dumps(value)


def string_to_json(text: Any) -> Any:
    _require(isinstance(text, str))
    if not text.strip():  # AWS's parser reads blank text as no document: null
        return None
    try:
        return json_depth.parse(text, "the text")
    except (json.JSONDecodeError, json_depth.TooDeep):
        raise InvalidArguments() from None


def _json_to_string(value: Any) -> str:
    return to_json(value)


def _array(*values: Any) -> list:
    return list(values)


def array_partition(array: Any, size: Any) -> list:
    _require(isinstance(array, list) and is_number(size))
    chunk = int(size)  # AWS truncates a fractional chunk size
    _require(chunk > 0)
    return [array[start : start + chunk] for start in range(0, len(array), chunk)]


def _array_contains(array: Any, value: Any) -> bool:
    _require(isinstance(array, list))
    return any(_same_json(item, value) for item in array)


def _same_json(left: Any, right: Any) -> bool:
    if isinstance(left, bool) != isinstance(right, bool):
        return False
    return left == right


def array_range(start: Any, end: Any, step: Any) -> list:
    first, last, stride = _java_round(start), _java_round(end), _java_round(step)
    _require(stride != 0)
    _require(max(0, (last - first) // stride + 1) <= MAX_RANGE_LENGTH)  # counted before anything is built
    return list(range(first, last + (1 if stride > 0 else -1), stride))


def _array_get_item(array: Any, index: Any) -> Any:
    _require(isinstance(array, list) and is_number(index) and float(index).is_integer())
    _require(0 <= int(index) < len(array))
    return array[int(index)]


def _array_length(array: Any) -> int:
    _require(isinstance(array, list))
    return len(array)


def _array_unique(array: Any) -> list:
    _require(isinstance(array, list))
    seen, unique = set(), []
    for item in array:
        key = json.dumps(item, sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _base64_encode(text: Any) -> str:
    _require(isinstance(text, str) and len(text) <= MAX_ENCODING_LENGTH)
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _base64_decode(text: Any) -> str:
    _require(isinstance(text, str) and len(text) <= MAX_ENCODING_LENGTH)
    try:
        return base64.b64decode(text.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError):
        raise InvalidArguments() from None


def hash_text(data: Any, algorithm: Any) -> str:
    _require(isinstance(data, str) and len(data) <= MAX_ENCODING_LENGTH and algorithm in HASH_ALGORITHMS)
    return hashlib.new(HASH_ALGORITHMS[algorithm], data.encode("utf-8")).hexdigest()


def _json_merge(left: Any, right: Any, deep: Any) -> dict:
    # AWS supports only the shallow merge: the third argument must be false.
    _require(isinstance(left, dict) and isinstance(right, dict) and deep is False)
    return {**left, **right}


def _math_random(start: Any, end: Any, seed: Any = None, *, rng) -> int:
    low, high = _java_round(start), _java_round(end)
    _require(low < high)
    if seed is not None:
        rng = random_module.Random(_java_round(seed))
    return rng.randrange(low, high)


def _math_add(left: Any, right: Any) -> int:
    a, b = _java_round(left), _java_round(right)
    _require(INT32[0] <= a <= INT32[1] and INT32[0] <= b <= INT32[1])
    return a + b


def _string_split(text: Any, delimiters: Any) -> list:
    _require(isinstance(text, str) and isinstance(delimiters, str) and delimiters)
    pattern = "|".join(re.escape(char) for char in delimiters)
    return [part for part in re.split(pattern, text) if part]


def uuid(*, rng) -> str:
    return random_uuid(rng)


# name -> (implementation, (minimum arguments, maximum arguments or None))
FUNCTIONS: dict[str, tuple[Callable, tuple[int, int | None]]] = {
    "States.Format": (_format, (1, None)),
    "States.StringToJson": (string_to_json, (1, 1)),
    "States.JsonToString": (_json_to_string, (1, 1)),
    "States.Array": (_array, (0, None)),
    "States.ArrayPartition": (array_partition, (2, 2)),
    "States.ArrayContains": (_array_contains, (2, 2)),
    "States.ArrayRange": (array_range, (3, 3)),
    "States.ArrayGetItem": (_array_get_item, (2, 2)),
    "States.ArrayLength": (_array_length, (1, 1)),
    "States.ArrayUnique": (_array_unique, (1, 1)),
    "States.Base64Encode": (_base64_encode, (1, 1)),
    "States.Base64Decode": (_base64_decode, (1, 1)),
    "States.Hash": (hash_text, (2, 2)),
    "States.JsonMerge": (_json_merge, (3, 3)),
    "States.MathRandom": (_math_random, (2, 3)),
    "States.MathAdd": (_math_add, (2, 2)),
    "States.StringSplit": (_string_split, (2, 2)),
    "States.UUID": (uuid, (0, 0)),
}

# Intrinsics whose result is a string: the only ones ErrorPath and CausePath accept.
STRING_FUNCTIONS = frozenset(
    {
        "States.Format",
        "States.JsonToString",
        "States.ArrayGetItem",
        "States.Base64Encode",
        "States.Base64Decode",
        "States.Hash",
        "States.UUID",
    }
)
