"""How data moves through a state, in each of the two query languages.

JSONPath (the default) filters and reshapes with a pipeline of fields:

    raw input → InputPath → Parameters → (task) → ResultSelector → ResultPath → OutputPath

JSONata replaces that pipeline with two expression fields: ``Arguments``
(what the task receives) and ``Output`` (what the state emits), both able to
read ``$states.input`` and, after the task, ``$states.result``.

Both languages offer ``Assign``. :class:`JsonPathFlow` and :class:`JsonataFlow`
give the states one interface over the two, so each state type is written
once.

https://docs.aws.amazon.com/step-functions/latest/dg/concepts-input-output-filtering.html
https://docs.aws.amazon.com/step-functions/latest/dg/transforming-data.html
"""

from __future__ import annotations

from typing import Any, Callable

from . import intrinsics
from .errors import RUNTIME, StatesError
from .paths import (
    INPUT,
    Path,
    PathNotFound,
    Scope,
    Template,
    apply_result_path,
    compile_template,
    missing_path_cause,
    no_results_cause,
    parse_path,
    parse_reference_path,
)
from .query_jsonata import Expression, JsonataTemplate, is_expression

JSONPATH, JSONATA = "JSONPath", "JSONata"
_ABSENT = object()


def compile_dynamic(field: str, text: str) -> Callable[[Scope], Any]:
    """Compile the value of a ``field.$`` key: an intrinsic call or a path."""
    if intrinsics.is_intrinsic(text):
        call = intrinsics.parse(text)

        def run_intrinsic(scope: Scope) -> Any:
            try:
                return intrinsics.evaluate(call, scope)
            except intrinsics.IntrinsicFunctionError as error:
                raise StatesError(RUNTIME, str(error)) from None

        return run_intrinsic
    path = parse_path(text)

    def resolve(scope: Scope) -> Any:
        try:
            return path.resolve(scope)
        except PathNotFound:
            raise StatesError(RUNTIME, missing_path_cause(path, field, scope)) from None

    return resolve


def payload_template(value: Any) -> Template:
    """A JSONPath payload template (Parameters, ResultSelector, ItemSelector, Assign)."""
    return compile_template(value, compile_dynamic)


def select(path: Path | None, value: Any, scope: Scope) -> Any:
    """Apply InputPath/OutputPath/ItemsPath to ``value``: ``None`` (the field set to null) gives ``{}``.

    ``$`` is ``value``; a path rooted at ``$$`` reads the context object and one
    rooted at ``$name`` a variable, as AWS allows in these fields.
    """
    if path is None:
        return {}
    if path.steps == () and path.root == INPUT:
        return value
    try:
        return path.apply(value if path.root == INPUT else scope.root(path.root, path.variable))
    except PathNotFound:
        raise StatesError(RUNTIME, no_results_cause(path)) from None


def _optional_path(spec: dict, field: str, default: str = "$") -> Path | None:
    text = spec.get(field, default)
    return None if text is None else parse_path(text)


class JsonPathFlow:
    """InputPath, Parameters, ResultSelector, ResultPath, OutputPath and Assign of one state."""

    language = JSONPATH

    def __init__(self, spec: dict, *, takes_arguments: bool = True):
        self.input_path = _optional_path(spec, "InputPath")
        self.output_path = _optional_path(spec, "OutputPath")
        result_path = spec.get("ResultPath", "$")
        self.result_path = None if result_path is None else parse_reference_path(result_path)
        self.arguments = payload_template(spec["Parameters"]) if takes_arguments and "Parameters" in spec else None
        self.result_selector = payload_template(spec["ResultSelector"]) if "ResultSelector" in spec else None
        self.assign = payload_template(spec["Assign"]) if "Assign" in spec else None

    def effective_input(self, raw: Any, scope: Scope) -> Any:
        return select(self.input_path, raw, scope)

    def task_input(self, raw: Any, effective: Any, scope: Scope) -> Any:
        """What the task (or branch, or iteration) receives: Parameters applied to the effective input."""
        if self.arguments is None:
            return effective
        return self.arguments.evaluate(scope.with_input(effective))

    def assigned(self, value: Any, scope: Scope, states: dict | None = None) -> dict | None:
        """The variables ``Assign`` sets; its ``$`` is the result (or the input, for states without one)."""
        if self.assign is None:
            return None
        return self.assign.evaluate(scope.with_input(value))

    def result_output(self, raw: Any, result: Any, scope: Scope) -> Any:
        """ResultSelector, then ResultPath into the raw input, then OutputPath."""
        if self.result_selector is not None:
            result = self.result_selector.evaluate(scope.with_input(result))
        return select(self.output_path, apply_result_path(raw, result, self.result_path), scope)

    def plain_output(self, raw: Any, effective: Any, scope: Scope) -> Any:
        """The output of a state without a result (Choice, Wait, Succeed): OutputPath of the effective input."""
        return select(self.output_path, effective, scope)


class JsonataFlow:
    """Arguments, Output and Assign of one JSONata state."""

    language = JSONATA

    def __init__(self, spec: dict, *, takes_arguments: bool = True):
        self.arguments = JsonataTemplate(spec["Arguments"], "Arguments") if takes_arguments and "Arguments" in spec else None
        self.output = JsonataTemplate(spec["Output"], "Output") if "Output" in spec else None
        self.assign = JsonataTemplate(spec["Assign"], "Assign") if "Assign" in spec else None

    def effective_input(self, raw: Any, scope: Scope) -> Any:
        return raw

    def task_input(self, raw: Any, effective: Any, scope: Scope) -> Any:
        if self.arguments is None:
            return raw
        return self.arguments.evaluate(scope)

    def assigned(self, value: Any, scope: Scope, states: dict | None = None) -> dict | None:
        if self.assign is None:
            return None
        return self.assign.evaluate(scope, states)

    def result_output(self, raw: Any, result: Any, scope: Scope) -> Any:
        if self.output is None:
            return result
        return self.output.evaluate(scope, {"result": result})

    def plain_output(self, raw: Any, effective: Any, scope: Scope) -> Any:
        if self.output is None:
            return raw
        return self.output.evaluate(scope)


def flow_for(spec: dict, language: str, **fields) -> JsonPathFlow | JsonataFlow:
    return (JsonataFlow if language == JSONATA else JsonPathFlow)(spec, **fields)


class Setting:
    """A number or string a state reads at run time: a literal, a ``…Path`` field, or a JSONata expression.

    ``TimeoutSeconds``/``TimeoutSecondsPath``, ``Seconds``/``SecondsPath``,
    ``MaxConcurrency``/``MaxConcurrencyPath``, ``Error``/``ErrorPath``… all share
    this shape; ``check(value)`` returns an error text when the value is unusable.
    """

    def __init__(self, spec: dict, field: str, language: str):
        self.field = field
        self.literal = spec.get(field, _ABSENT)
        self.expression = Expression(self.literal, field) if is_expression(self.literal) else None
        path_text = spec.get(field + "Path") if language == JSONPATH else None
        self.path_text = path_text
        self.dynamic = compile_dynamic(field + "Path", path_text) if path_text is not None else None

    @property
    def present(self) -> bool:
        return self.literal is not _ABSENT or self.dynamic is not None

    def value(self, scope: Scope, default: Any = None) -> Any:
        if self.expression is not None:
            return self.expression.evaluate(scope)
        if self.dynamic is not None:
            return self.dynamic(scope)
        return default if self.literal is _ABSENT else self.literal
