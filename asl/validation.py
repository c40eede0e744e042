"""Checking a definition before anything runs, and saying exactly where it is wrong.

:func:`validate` walks the whole definition — nested Parallel branches and Map
processors included — and returns every problem it finds as a
:class:`Diagnostic`: a JSON pointer to the offending value
(``/States/Classify/Next``), a message that says what to change, and one of
the codes AWS's ``ValidateStateMachineDefinition`` uses.

https://states-language.net/spec.html
https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any, Iterable

from . import intrinsics
from .choice_rules import COMPARISONS, OPERATORS, TYPE_TESTS
from .clock import parse_timestamp
from .definition import DefinitionLoadError, load
from .distributed_map import PUT_OBJECT
from .errors import ALL, PREDEFINED
from .paths import InvalidPath, parse_path, parse_reference_path
from .query_jsonata import JsonataSyntaxError, check_syntax, is_expression, is_partial_expression
from .resources import classify

JSONPATH, JSONATA = "JSONPath", "JSONata"
MAX_STATE_NAME_LENGTH = 80
MAX_SECONDS = 99_999_999
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Diagnostic:
    """One problem: where (a JSON pointer into the definition), what, and AWS's code for it."""

    pointer: str
    message: str
    code: str = "SCHEMA_VALIDATION_FAILED"

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


class DefinitionError(ValueError):
    """The definition is invalid; ``diagnostics`` lists every problem."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        lines = "\n".join(f"  {diagnostic}" for diagnostic in diagnostics)
        super().__init__(f"invalid state machine definition ({len(diagnostics)} problem(s)):\n{lines}")


def escape(token: str) -> str:
    """Escape one JSON-pointer token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


COMMON = {"Type", "Comment", "QueryLanguage"}
TRANSITION = {"Next", "End"}
ERROR_HANDLING = {"Retry", "Catch"}
JSONPATH_IO = {"InputPath", "OutputPath"}
JSONPATH_RESULT = {"ResultPath", "ResultSelector"}
TASK_SETTINGS = {"Resource", "TimeoutSeconds", "HeartbeatSeconds", "Credentials"}
MAP_SETTINGS = {
    "ItemProcessor", "Iterator", "ItemSelector", "ItemReader", "ItemBatcher", "ResultWriter",
    "MaxConcurrency", "ToleratedFailurePercentage", "ToleratedFailureCount", "Label",
}

ALLOWED_FIELDS: dict[tuple[str, str], set[str]] = {
    ("Pass", JSONPATH): COMMON | TRANSITION | JSONPATH_IO | {"Parameters", "Result", "ResultPath", "Assign"},
    ("Pass", JSONATA): COMMON | TRANSITION | {"Output", "Assign"},
    ("Task", JSONPATH): COMMON | TRANSITION | JSONPATH_IO | JSONPATH_RESULT | ERROR_HANDLING | TASK_SETTINGS
    | {"Parameters", "TimeoutSecondsPath", "HeartbeatSecondsPath", "Assign"},
    ("Task", JSONATA): COMMON | TRANSITION | ERROR_HANDLING | TASK_SETTINGS | {"Arguments", "Output", "Assign"},
    ("Choice", JSONPATH): COMMON | JSONPATH_IO | {"Choices", "Default", "Assign"},
    ("Choice", JSONATA): COMMON | {"Choices", "Default", "Output", "Assign"},
    ("Wait", JSONPATH): COMMON | TRANSITION | JSONPATH_IO
    | {"Seconds", "SecondsPath", "Timestamp", "TimestampPath", "Assign"},
    ("Wait", JSONATA): COMMON | TRANSITION | {"Seconds", "Timestamp", "Output", "Assign"},
    ("Succeed", JSONPATH): COMMON | JSONPATH_IO,
    ("Succeed", JSONATA): COMMON | {"Output"},
    ("Fail", JSONPATH): COMMON | {"Error", "ErrorPath", "Cause", "CausePath"},
    ("Fail", JSONATA): COMMON | {"Error", "Cause"},
    ("Parallel", JSONPATH): COMMON | TRANSITION | JSONPATH_IO | JSONPATH_RESULT | ERROR_HANDLING
    | {"Branches", "Parameters", "Assign"},
    ("Parallel", JSONATA): COMMON | TRANSITION | ERROR_HANDLING | {"Branches", "Arguments", "Output", "Assign"},
    ("Map", JSONPATH): COMMON | TRANSITION | JSONPATH_IO | JSONPATH_RESULT | ERROR_HANDLING | MAP_SETTINGS
    | {"Parameters", "ItemsPath", "MaxConcurrencyPath", "ToleratedFailurePercentagePath",
       "ToleratedFailureCountPath", "Assign"},
    ("Map", JSONATA): COMMON | TRANSITION | ERROR_HANDLING | MAP_SETTINGS | {"Items", "Output", "Assign"},
}
STATE_TYPES = sorted({state_type for state_type, _ in ALLOWED_FIELDS})
# Fields of the other query language, and what to use instead.
LANGUAGE_HINTS = {
    JSONATA: {
        "InputPath": "use Arguments or Output with {% $states.input… %}",
        "OutputPath": "use Output",
        "Parameters": "use Arguments",
        "ResultSelector": "use Output with {% $states.result… %}",
        "ResultPath": "use Output (or Assign)",
        "Result": "use Output",
        "ItemsPath": "use Items",
    },
    JSONPATH: {
        "Arguments": "use Parameters, or set \"QueryLanguage\": \"JSONata\"",
        "Output": "use OutputPath/ResultSelector, or set \"QueryLanguage\": \"JSONata\"",
        "Items": "use ItemsPath, or set \"QueryLanguage\": \"JSONata\"",
    },
}
RETRIER_FIELDS = {"ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy", "Comment"}
CATCHER_FIELDS = {JSONPATH: {"ErrorEquals", "Next", "ResultPath", "Assign", "Comment"},
                  JSONATA: {"ErrorEquals", "Next", "Output", "Assign", "Comment"}}


def validate(definition: Any) -> list[Diagnostic]:
    """Every problem in ``definition`` (a dict, JSON text or file path); empty if it is valid."""
    try:
        data = load(definition)
    except DefinitionLoadError as error:
        return [Diagnostic("", str(error), "INVALID_JSON_DESCRIPTION")]
    checker = _Checker()
    checker.machine(data, "", JSONPATH, top=True)
    return checker.problems


class _Checker:
    def __init__(self) -> None:
        self.problems: list[Diagnostic] = []
        self.state_pointers: dict[str, str] = {}

    def report(self, pointer: str, message: str, code: str = "SCHEMA_VALIDATION_FAILED") -> None:
        self.problems.append(Diagnostic(pointer, message, code))

    # --- machines, branches, processors ------------------------------------------------

    def machine(self, spec: Any, pointer: str, language: str, *, top: bool = False, processor: bool = False) -> None:
        what = "the state machine" if top else "a Map ItemProcessor" if processor else "a Parallel branch"
        if not isinstance(spec, dict):
            self.report(pointer, f"{what} must be a JSON object with StartAt and States")
            return
        allowed = {"Comment", "StartAt", "States"}
        if top:
            allowed |= {"Version", "TimeoutSeconds", "QueryLanguage"}
            language = self.query_language(spec, pointer, JSONPATH) or JSONPATH
            if "TimeoutSeconds" in spec:
                self.seconds(spec["TimeoutSeconds"], f"{pointer}/TimeoutSeconds", positive=True)
        if processor:
            allowed |= {"ProcessorConfig"}
            self.processor_config(spec.get("ProcessorConfig"), f"{pointer}/ProcessorConfig")
        self.unknown_fields(spec, allowed, pointer, what)
        states = spec.get("States")
        if not isinstance(states, dict) or not states:
            self.report(f"{pointer}/States", f"{what} needs a non-empty 'States' object")
            states = {}
        start = spec.get("StartAt")
        if not isinstance(start, str):
            self.report(f"{pointer}/StartAt", f"{what} needs 'StartAt', the name of its first state")
        elif states and start not in states:
            self.report(f"{pointer}/StartAt", self.unknown_state_message("StartAt", start, states), "MISSING_TRANSITION_TARGET")
        for name, state in states.items():
            self.state(name, state, f"{pointer}/States/{escape(name)}", language, states)
        if not states or not isinstance(start, str) or start not in states:
            return
        if not any(self.is_terminal(state) for state in states.values()):
            self.report(f"{pointer}/States", f"{what} has no terminal state: give one state \"End\": true, "
                        "or add a Succeed or Fail state", "MISSING_END_STATE")
        reachable = self.reachable(start, states)
        for name in states:
            if name not in reachable:
                self.report(f"{pointer}/States/{escape(name)}",
                            f"state '{name}' is unreachable: no Next, Default, Choice or Catch leads to it from '{start}'",
                            "UNREACHABLE_STATE")

    @staticmethod
    def is_terminal(state: Any) -> bool:
        return isinstance(state, dict) and (state.get("End") is True or state.get("Type") in ("Succeed", "Fail"))

    @staticmethod
    def transitions(state: Any) -> Iterable[str]:
        if not isinstance(state, dict):
            return
        for target in [state.get("Next"), state.get("Default")]:
            if isinstance(target, str):
                yield target
        for field in ("Choices", "Catch"):
            items = state.get(field)
            for item in items if isinstance(items, list) else ():
                if isinstance(item, dict) and isinstance(item.get("Next"), str):
                    yield item["Next"]

    def reachable(self, start: str, states: dict) -> set[str]:
        seen, pending = {start}, [start]
        while pending:
            for target in self.transitions(states.get(pending.pop())):
                if target in states and target not in seen:
                    seen.add(target)
                    pending.append(target)
        return seen

    def unknown_state_message(self, field: str, target: str, states: dict) -> str:
        close = difflib.get_close_matches(target, list(states), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; the states here are: {', '.join(sorted(states))}"
        return f"{field} '{target}' does not name a state of this state machine{hint}"

    def unknown_fields(self, spec: dict, allowed: set[str], pointer: str, what: str, language: str | None = None) -> None:
        for key in spec:
            if key not in allowed:
                hints = LANGUAGE_HINTS.get(language, {})
                hint = f" in {language} states: {hints[key]}" if key in hints else ""
                self.report(f"{pointer}/{escape(key)}", f"the field '{key}' is not supported by {what}{hint}")

    def query_language(self, spec: dict, pointer: str, outer: str) -> str | None:
        if "QueryLanguage" not in spec:
            return outer
        value = spec["QueryLanguage"]
        if value not in (JSONPATH, JSONATA):
            self.report(f"{pointer}/QueryLanguage", f"QueryLanguage must be \"JSONPath\" or \"JSONata\", not {value!r}")
            return None
        if outer == JSONATA and value == JSONPATH and pointer:
            self.report(f"{pointer}/QueryLanguage", "a state cannot use JSONPath when the state machine's QueryLanguage is JSONata")
        return value

    # --- states --------------------------------------------------------------------------

    def state(self, name: str, spec: Any, pointer: str, outer_language: str, siblings: dict) -> None:
        if len(name) > MAX_STATE_NAME_LENGTH:
            self.report(pointer, f"state names are at most {MAX_STATE_NAME_LENGTH} characters", "INVALID_STATE_NAME")
        if name in self.state_pointers:
            self.report(pointer, f"state name '{name}' is already used at {self.state_pointers[name]}: "
                        "names must be unique in the whole state machine", "DUPLICATE_STATE_NAME")
        else:
            self.state_pointers[name] = pointer
        if not isinstance(spec, dict):
            self.report(pointer, "a state must be a JSON object with a Type")
            return
        state_type = spec.get("Type")
        if state_type not in STATE_TYPES:
            self.report(f"{pointer}/Type", f"Type must be one of {', '.join(STATE_TYPES)}, not {state_type!r}")
            return
        language = self.query_language(spec, pointer, outer_language)
        if language is None:
            return
        self.unknown_fields(spec, ALLOWED_FIELDS[(state_type, language)], pointer, f"{state_type} states", language)
        if state_type in ("Pass", "Task", "Wait", "Parallel", "Map"):
            self.transition(spec, pointer, siblings)
        if language == JSONATA:
            self.jsonata_fields(spec, pointer, state_type)
        else:
            self.jsonpath_fields(spec, pointer, state_type)
        if "Assign" in spec:
            self.assign(spec["Assign"], f"{pointer}/Assign", language)
        getattr(self, f"{state_type.lower()}_state")(spec, pointer, language, siblings)
        if "Retry" in spec:
            self.retriers(spec["Retry"], f"{pointer}/Retry")
        if "Catch" in spec:
            self.catchers(spec["Catch"], f"{pointer}/Catch", language, siblings)

    def transition(self, spec: dict, pointer: str, siblings: dict) -> None:
        has_next, end = "Next" in spec, spec.get("End")
        if "End" in spec and end is not True:
            self.report(f"{pointer}/End", "End must be true (remove it and use Next to continue)")
        if has_next and end is True:
            self.report(pointer, "a state cannot have both Next and \"End\": true")
        elif not has_next and end is not True:
            self.report(pointer, "this state needs Next (the state to go to) or \"End\": true", "MISSING_TRANSITION_TARGET")
        if has_next:
            self.target(spec["Next"], f"{pointer}/Next", "Next", siblings)

    def target(self, value: Any, pointer: str, field: str, siblings: dict) -> None:
        if not isinstance(value, str):
            self.report(pointer, f"{field} must be a state name (a string)")
        elif value not in siblings:
            self.report(pointer, self.unknown_state_message(field, value, siblings), "MISSING_TRANSITION_TARGET")

    def jsonpath_fields(self, spec: dict, pointer: str, state_type: str) -> None:
        for field in ("InputPath", "OutputPath", "ItemsPath"):
            if field in spec and spec[field] is not None:
                self.path(spec[field], f"{pointer}/{field}", field)
        if "ResultPath" in spec and spec["ResultPath"] is not None:
            self.reference_path(spec["ResultPath"], f"{pointer}/ResultPath")
        for field in ("Parameters", "ResultSelector", "ItemSelector"):
            if field in spec:
                self.payload_template(spec[field], f"{pointer}/{field}", field)
        for field in ("TimeoutSecondsPath", "HeartbeatSecondsPath", "SecondsPath", "TimestampPath",
                      "MaxConcurrencyPath", "ToleratedFailurePercentagePath", "ToleratedFailureCountPath"):
            if field in spec:
                self.path(spec[field], f"{pointer}/{field}", field)
                if field[:-4] in spec:
                    self.report(f"{pointer}/{field}", f"use either {field[:-4]} or {field}, not both")

    def jsonata_fields(self, spec: dict, pointer: str, state_type: str) -> None:
        for field, value in spec.items():
            if field in ("Type", "Comment", "QueryLanguage", "Next", "End", "Choices", "Branches",
                         "ItemProcessor", "Iterator", "Retry", "Catch", "Resource", "Default"):
                continue
            self.jsonata_value(value, f"{pointer}/{escape(field)}")

    def jsonata_value(self, value: Any, pointer: str) -> None:
        if is_expression(value):
            try:
                check_syntax(value)
            except JsonataSyntaxError as error:
                self.report(pointer, str(error))
        elif is_partial_expression(value):
            self.report(pointer, "a JSONata expression must be the whole string: \"{% … %}\" with nothing around it")
        elif isinstance(value, dict):
            for key, item in value.items():
                self.jsonata_value(item, f"{pointer}/{escape(key)}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.jsonata_value(item, f"{pointer}/{index}")

    def path(self, value: Any, pointer: str, field: str, *, intrinsics_allowed: frozenset = frozenset()) -> None:
        if intrinsics.is_intrinsic(value) and intrinsics_allowed:
            self.intrinsic(value, pointer, intrinsics_allowed)
            return
        try:
            parse_path(value)
        except InvalidPath as error:
            self.report(pointer, f"{field} must be a JSONPath: {error}")

    def reference_path(self, value: Any, pointer: str) -> None:
        try:
            parse_reference_path(value)
        except InvalidPath as error:
            self.report(pointer, f"ResultPath must be a reference path (or null): {error}")

    def intrinsic(self, text: str, pointer: str, allowed: frozenset | None = None) -> None:
        try:
            call = intrinsics.parse(text)
        except intrinsics.IntrinsicSyntaxError as error:
            self.report(pointer, f"invalid intrinsic function call: {error}")
            return
        if allowed is not None and call.name not in allowed:
            self.report(pointer, f"{call.name} cannot be used here; use one of {', '.join(sorted(allowed))}")

    def payload_template(self, value: Any, pointer: str, field: str) -> None:
        if isinstance(value, dict):
            plain = {key[:-2] if key.endswith(".$") else key for key in value}
            if len(plain) != len(value):
                self.report(pointer, "a field and the same field with '.$' cannot both be given")
            for key, item in value.items():
                item_pointer = f"{pointer}/{escape(key)}"
                if key.endswith(".$"):
                    if not isinstance(item, str):
                        self.report(item_pointer, f"'{key}' ends in '.$', so its value must be a path or an intrinsic function call")
                    elif intrinsics.is_intrinsic(item):
                        self.intrinsic(item, item_pointer)
                    else:
                        self.path(item, item_pointer, key)
                else:
                    self.payload_template(item, item_pointer, field)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.payload_template(item, f"{pointer}/{index}", field)

    def assign(self, value: Any, pointer: str, language: str) -> None:
        if not isinstance(value, dict):
            if not is_expression(value):
                self.report(pointer, "Assign must be an object of variable names and values")
            return
        for key in value:
            name = key[:-2] if language == JSONPATH and key.endswith(".$") else key
            if not VARIABLE_NAME.fullmatch(name) or name == "states":
                self.report(f"{pointer}/{escape(key)}", f"'{name}' is not a valid variable name: use letters, digits "
                            "and underscores, not starting with a digit ('states' is reserved)")
        if language == JSONPATH:
            self.payload_template(value, pointer, "Assign")

    def seconds(self, value: Any, pointer: str, *, positive: bool) -> None:
        if is_expression(value):
            return
        low = 1 if positive else 0
        if not (isinstance(value, int) and not isinstance(value, bool) and low <= value <= MAX_SECONDS):
            self.report(pointer, f"must be an integer from {low} to {MAX_SECONDS}")

    # --- one method per state type ---------------------------------------------------

    def pass_state(self, spec, pointer, language, siblings) -> None:
        pass  # Pass has no fields beyond the shared ones

    def succeed_state(self, spec, pointer, language, siblings) -> None:
        pass

    def task_state(self, spec, pointer, language, siblings) -> None:
        resource = spec.get("Resource")
        if not isinstance(resource, str):
            self.report(f"{pointer}/Resource", "a Task needs a Resource (a Lambda function ARN or an arn:aws:states::: integration)")
        elif classify(resource) is None:
            self.report(f"{pointer}/Resource", f"'{resource}' is not a Resource Step Functions accepts: use "
                        "arn:aws:lambda:REGION:ACCOUNT:function:NAME, arn:aws:states:::SERVICE:ACTION "
                        "or an activity ARN", "INVALID_RESOURCE")
        elif resource.split(".")[0] == "arn:aws:states:::lambda:invoke":
            arguments = spec.get("Arguments" if language == JSONATA else "Parameters")
            if isinstance(arguments, dict) and "FunctionName" not in arguments and "FunctionName.$" not in arguments:
                self.report(f"{pointer}/{'Arguments' if language == JSONATA else 'Parameters'}",
                            "arn:aws:states:::lambda:invoke needs FunctionName (the function's name or ARN)")
            elif arguments is None:
                self.report(pointer, f"arn:aws:states:::lambda:invoke needs {'Arguments' if language == JSONATA else 'Parameters'} "
                            "with FunctionName")
        for field in ("TimeoutSeconds", "HeartbeatSeconds"):
            if field in spec:
                self.seconds(spec[field], f"{pointer}/{field}", positive=True)
        timeout, heartbeat = spec.get("TimeoutSeconds"), spec.get("HeartbeatSeconds")
        if isinstance(timeout, int) and isinstance(heartbeat, int) and heartbeat >= timeout:
            self.report(f"{pointer}/HeartbeatSeconds", "HeartbeatSeconds must be smaller than TimeoutSeconds")

    def wait_state(self, spec, pointer, language, siblings) -> None:
        given = [field for field in ("Seconds", "SecondsPath", "Timestamp", "TimestampPath") if field in spec]
        if len(given) != 1:
            options = "Seconds or Timestamp" if language == JSONATA else "Seconds, SecondsPath, Timestamp or TimestampPath"
            self.report(pointer, f"a Wait state needs exactly one of {options}" + (f" (it has {', '.join(given)})" if given else ""))
        if "Seconds" in spec:
            self.seconds(spec["Seconds"], f"{pointer}/Seconds", positive=False)
        if "Timestamp" in spec and not is_expression(spec["Timestamp"]) and parse_timestamp(spec["Timestamp"]) is None:
            self.report(f"{pointer}/Timestamp", "Timestamp must be an RFC 3339 timestamp like 2024-01-01T00:00:00Z")

    def fail_state(self, spec, pointer, language, siblings) -> None:
        for field in ("Error", "Cause"):
            if field in spec and field + "Path" in spec:
                self.report(f"{pointer}/{field}Path", f"use either {field} or {field}Path, not both")
            if field in spec and not isinstance(spec[field], str):
                self.report(f"{pointer}/{field}", f"{field} must be a string")
            if field + "Path" in spec:
                self.path(spec[field + "Path"], f"{pointer}/{field}Path", field + "Path",
                          intrinsics_allowed=intrinsics.STRING_FUNCTIONS)

    def choice_state(self, spec, pointer, language, siblings) -> None:
        choices = spec.get("Choices")
        if not isinstance(choices, list) or not choices:
            self.report(f"{pointer}/Choices", "a Choice state needs a non-empty Choices list")
            choices = []
        for index, rule in enumerate(choices):
            self.choice_rule(rule, f"{pointer}/Choices/{index}", language, siblings, top=True)
        if "Default" in spec:
            self.target(spec["Default"], f"{pointer}/Default", "Default", siblings)

    def choice_rule(self, rule: Any, pointer: str, language: str, siblings: dict, *, top: bool) -> None:
        if not isinstance(rule, dict):
            self.report(pointer, "a Choice Rule must be a JSON object")
            return
        if top:
            if "Next" not in rule:
                self.report(pointer, "a Choice Rule needs Next, the state to go to when it matches", "MISSING_TRANSITION_TARGET")
            else:
                self.target(rule["Next"], f"{pointer}/Next", "Next", siblings)
            if "Assign" in rule:
                self.assign(rule["Assign"], f"{pointer}/Assign", language)
        elif "Next" in rule:
            self.report(f"{pointer}/Next", "only top-level Choice Rules have Next; nested rules inside And/Or/Not must not")
        if language == JSONATA:
            self.unknown_fields(rule, {"Condition", "Next", "Output", "Assign", "Comment"}, pointer, "JSONata Choice Rules")
            if not (is_expression(rule.get("Condition")) or isinstance(rule.get("Condition"), bool)):
                self.report(f"{pointer}/Condition",
                            "a JSONata Choice Rule needs a Condition: true, false or \"{% boolean expression %}\"")
            for field in ("Condition", "Output"):
                if field in rule:
                    self.jsonata_value(rule[field], f"{pointer}/{field}")
            return
        extra = {"Next", "Assign"} if top else {"Next"}  # a nested Next is reported above
        for combinator in ("And", "Or"):
            if combinator in rule:
                self.unknown_fields(rule, {combinator, "Comment"} | extra, pointer, f"{combinator} rules")
                items = rule[combinator]
                if not isinstance(items, list) or not items:
                    self.report(f"{pointer}/{combinator}", f"{combinator} needs a non-empty list of Choice Rules")
                    return
                for index, item in enumerate(items):
                    self.choice_rule(item, f"{pointer}/{combinator}/{index}", language, siblings, top=False)
                return
        if "Not" in rule:
            self.unknown_fields(rule, {"Not", "Comment"} | extra, pointer, "Not rules")
            self.choice_rule(rule["Not"], f"{pointer}/Not", language, siblings, top=False)
            return
        self.comparison(rule, pointer, extra)

    def comparison(self, rule: dict, pointer: str, extra: set) -> None:
        operators = [key for key in rule if key in OPERATORS]
        if len(operators) != 1:
            found = f" (found {', '.join(operators)})" if operators else ""
            self.report(pointer, f"a Choice Rule needs exactly one comparison operator such as StringEquals, "
                        f"or And/Or/Not{found}")
            return
        name = operators[0]
        self.unknown_fields(rule, {"Variable", name, "Comment"} | extra, pointer, "Choice Rules")
        if "Variable" not in rule:
            self.report(pointer, f"a Choice Rule with {name} needs Variable, the path of the value to test")
        else:
            self.path(rule["Variable"], f"{pointer}/Variable", "Variable")
        value, where = rule[name], f"{pointer}/{name}"
        if name.endswith("Path"):
            self.path(value, where, name)
        elif name in TYPE_TESTS or name == "IsPresent" or name == "BooleanEquals":
            if not isinstance(value, bool):
                self.report(where, f"{name} takes true or false")
        elif name == "StringMatches" or COMPARISONS[name][0] == "String":
            if not isinstance(value, str):
                self.report(where, f"{name} compares with a string")
        elif COMPARISONS[name][0] == "Numeric":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                self.report(where, f"{name} compares with a number")
        elif parse_timestamp(value) is None:
            self.report(where, f"{name} compares with an RFC 3339 timestamp like 2024-01-01T00:00:00Z")

    def parallel_state(self, spec, pointer, language, siblings) -> None:
        branches = spec.get("Branches")
        if not isinstance(branches, list) or not branches:
            self.report(f"{pointer}/Branches", "a Parallel state needs a non-empty Branches list")
            return
        for index, branch in enumerate(branches):
            self.machine(branch, f"{pointer}/Branches/{index}", language)

    def map_state(self, spec, pointer, language, siblings) -> None:
        given = [field for field in ("ItemProcessor", "Iterator") if field in spec]
        if len(given) != 1:
            self.report(pointer, "a Map state needs exactly one of ItemProcessor (or the older Iterator)")
        for field in given:
            self.machine(spec[field], f"{pointer}/{field}", language, processor=True)
        if "ItemSelector" in spec and "Parameters" in spec:
            self.report(f"{pointer}/Parameters", "use either ItemSelector or its older name Parameters, not both")
        if language == JSONPATH and "Parameters" in spec:
            self.payload_template(spec["Parameters"], f"{pointer}/Parameters", "Parameters")
        if "MaxConcurrency" in spec:
            self.seconds(spec["MaxConcurrency"], f"{pointer}/MaxConcurrency", positive=False)
        if "ToleratedFailureCount" in spec:
            self.seconds(spec["ToleratedFailureCount"], f"{pointer}/ToleratedFailureCount", positive=False)
        percentage = spec.get("ToleratedFailurePercentage")
        if "ToleratedFailurePercentage" in spec and not is_expression(percentage) and not (
            isinstance(percentage, (int, float)) and not isinstance(percentage, bool) and 0 <= percentage <= 100
        ):
            self.report(f"{pointer}/ToleratedFailurePercentage", "must be a number from 0 to 100")
        if language == JSONATA and "Items" in spec and not (is_expression(spec["Items"]) or isinstance(spec["Items"], list)):
            self.report(f"{pointer}/Items", "Items must be a JSON array or a JSONata expression")
        if "ItemBatcher" in spec:
            self.item_batcher(spec["ItemBatcher"], f"{pointer}/ItemBatcher", language)
        if "ItemReader" in spec:
            self.item_reader(spec["ItemReader"], f"{pointer}/ItemReader", language)
        if "ResultWriter" in spec:
            self.result_writer(spec["ResultWriter"], f"{pointer}/ResultWriter")

    def processor_config(self, config: Any, pointer: str) -> None:
        if config is None:
            return
        if not isinstance(config, dict):
            self.report(pointer, "ProcessorConfig must be an object")
            return
        self.unknown_fields(config, {"Mode", "ExecutionType"}, pointer, "ProcessorConfig")
        if config.get("Mode", "INLINE") not in ("INLINE", "DISTRIBUTED"):
            self.report(f"{pointer}/Mode", "Mode must be INLINE or DISTRIBUTED")
        if config.get("ExecutionType", "STANDARD") not in ("STANDARD", "EXPRESS"):
            self.report(f"{pointer}/ExecutionType", "ExecutionType must be STANDARD or EXPRESS")

    def item_batcher(self, batcher: Any, pointer: str, language: str) -> None:
        if not isinstance(batcher, dict):
            self.report(pointer, "ItemBatcher must be an object")
            return
        allowed = {"MaxItemsPerBatch", "MaxInputBytesPerBatch", "BatchInput"}
        if language == JSONPATH:
            allowed |= {"MaxItemsPerBatchPath", "MaxInputBytesPerBatchPath"}
        self.unknown_fields(batcher, allowed, pointer, "ItemBatcher")
        if not any(field in batcher for field in allowed - {"BatchInput"}):
            self.report(pointer, "ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch")
        for field in ("MaxItemsPerBatch", "MaxInputBytesPerBatch"):
            if field in batcher:
                self.seconds(batcher[field], f"{pointer}/{field}", positive=True)
            if field + "Path" in batcher:
                self.path(batcher[field + "Path"], f"{pointer}/{field}Path", field + "Path")
        if "BatchInput" in batcher and language == JSONPATH:
            self.payload_template(batcher["BatchInput"], f"{pointer}/BatchInput", "BatchInput")

    def result_writer(self, writer: Any, pointer: str) -> None:
        if not isinstance(writer, dict) or writer.get("Resource") != PUT_OBJECT:
            self.report(pointer, f"ResultWriter needs \"Resource\": \"{PUT_OBJECT}\" and Parameters with a Bucket")
            return
        self.unknown_fields(writer, {"Resource", "Parameters", "Arguments"}, pointer, "ResultWriter")
        if "Parameters" in writer:
            self.payload_template(writer["Parameters"], f"{pointer}/Parameters", "Parameters")

    def item_reader(self, reader: Any, pointer: str, language: str) -> None:
        if not isinstance(reader, dict) or not isinstance(reader.get("Resource"), str):
            self.report(pointer, "ItemReader needs a Resource, such as arn:aws:states:::s3:getObject")
            return
        self.unknown_fields(reader, {"Resource", "ReaderConfig", "Parameters", "Arguments"}, pointer, "ItemReader")
        if classify(reader["Resource"]) is None:
            self.report(f"{pointer}/Resource", f"'{reader['Resource']}' is not a Resource Step Functions accepts", "INVALID_RESOURCE")
        if "Parameters" in reader:
            self.payload_template(reader["Parameters"], f"{pointer}/Parameters", "Parameters")
        input_type = reader.get("ReaderConfig", {}).get("InputType", "JSON")
        if input_type not in ("JSON", "CSV"):
            self.report(f"{pointer}/ReaderConfig/InputType", f"InputType {input_type} is not supported locally "
                        "(JSON and CSV are)", "UNSUPPORTED_LOCALLY")

    # --- Retry and Catch ----------------------------------------------------------------

    def error_equals(self, value: Any, pointer: str, is_last: bool) -> None:
        if not isinstance(value, list) or not value or not all(isinstance(name, str) for name in value):
            self.report(pointer, "ErrorEquals must be a non-empty list of error names")
            return
        for name in value:
            if name.startswith("States.") and name not in PREDEFINED:
                close = difflib.get_close_matches(name, sorted(PREDEFINED), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                self.report(pointer, f"'{name}' is not a predefined error name (only AWS may use the 'States.' prefix){hint}")
        if ALL in value and len(value) > 1:
            self.report(pointer, "States.ALL must appear alone in its ErrorEquals")
        if ALL in value and not is_last:
            self.report(pointer, "the retrier or catcher with States.ALL must be the last one")

    def retriers(self, retriers: Any, pointer: str) -> None:
        if not isinstance(retriers, list):
            self.report(pointer, "Retry must be a list of retriers")
            return
        for index, retrier in enumerate(retriers):
            where = f"{pointer}/{index}"
            if not isinstance(retrier, dict):
                self.report(where, "a retrier must be an object with ErrorEquals")
                continue
            self.unknown_fields(retrier, RETRIER_FIELDS, where, "retriers")
            self.error_equals(retrier.get("ErrorEquals"), f"{where}/ErrorEquals", index == len(retriers) - 1)
            if "IntervalSeconds" in retrier:
                self.seconds(retrier["IntervalSeconds"], f"{where}/IntervalSeconds", positive=True)
            if "MaxDelaySeconds" in retrier:
                self.seconds(retrier["MaxDelaySeconds"], f"{where}/MaxDelaySeconds", positive=True)
            if "MaxAttempts" in retrier:
                self.seconds(retrier["MaxAttempts"], f"{where}/MaxAttempts", positive=False)
            rate = retrier.get("BackoffRate", 2.0)
            if not isinstance(rate, (int, float)) or isinstance(rate, bool) or rate < 1.0:
                self.report(f"{where}/BackoffRate", "BackoffRate must be a number of at least 1.0")
            if retrier.get("JitterStrategy", "NONE") not in ("FULL", "NONE"):
                self.report(f"{where}/JitterStrategy", "JitterStrategy must be FULL or NONE")

    def catchers(self, catchers: Any, pointer: str, language: str, siblings: dict) -> None:
        if not isinstance(catchers, list):
            self.report(pointer, "Catch must be a list of catchers")
            return
        for index, catcher in enumerate(catchers):
            where = f"{pointer}/{index}"
            if not isinstance(catcher, dict):
                self.report(where, "a catcher must be an object with ErrorEquals and Next")
                continue
            self.unknown_fields(catcher, CATCHER_FIELDS[language], where, f"{language} catchers", language)
            self.error_equals(catcher.get("ErrorEquals"), f"{where}/ErrorEquals", index == len(catchers) - 1)
            if "Next" not in catcher:
                self.report(where, "a catcher needs Next, the state to go to after the error", "MISSING_TRANSITION_TARGET")
            else:
                self.target(catcher["Next"], f"{where}/Next", "Next", siblings)
            if language == JSONPATH and catcher.get("ResultPath") is not None:
                self.reference_path(catcher["ResultPath"], f"{where}/ResultPath")
            if language == JSONATA and "Output" in catcher:
                self.jsonata_value(catcher["Output"], f"{where}/Output")
            if "Assign" in catcher:
                self.assign(catcher["Assign"], f"{where}/Assign", language)
                if language == JSONATA:
                    self.jsonata_value(catcher["Assign"], f"{where}/Assign")
