"""The workflow both backends deploy: its three functions and its state machine definition.

The definition is ``asl/scones_workflow.asl.json``; its ``${…Arn}``
placeholders are the only thing that differs between running it here and on
AWS. Kept in one place so the local runner, the AWS deploy step and the IAM
policies can never disagree on a function's name or handler.
"""

from __future__ import annotations

import importlib
import importlib.resources
from typing import Callable, Mapping

from scones.errors import InputError
from scones.asl import load, substitute
from scones.workflow_functions import FUNCTIONS, HANDLER_MODULES

DEFINITION_FILE = "scones_workflow.asl.json"
def workflow_definition() -> dict:
    """The workflow as the repository ships it, placeholders and all."""
    return load(importlib.resources.files("scones.asl").joinpath(DEFINITION_FILE).read_text(encoding="utf-8"))


def fill_definition(definition: dict, function_arns: Mapping[str, str]) -> dict:
    """The definition with ``${SerializeImageDataArn}`` & co. replaced by the functions' ARNs."""
    return substitute(definition, {FUNCTIONS[logical]: arn for logical, arn in function_arns.items()})


def handler(logical: str) -> Callable:
    """The ``lambda_handler`` of a workflow function, imported from ``scones.lambdas``."""
    return importlib.import_module(f"scones.lambdas.{HANDLER_MODULES[logical]}").lambda_handler


def called_functions(definition: dict) -> list[str]:
    """The Lambda functions a definition calls, in the order its path from ``StartAt`` reaches them.

    A function is named by ``Parameters.FunctionName`` / ``Arguments.FunctionName``
    (the lambda:invoke integration) or by a Lambda ARN ``Resource`` (the legacy form).
    """
    states = definition.get("States", {})
    seen: list[str] = []
    name = definition.get("StartAt")
    visited = set()
    while name in states and name not in visited:
        visited.add(name)
        state = states[name]
        if state.get("Type") == "Task":
            fields = state.get("Parameters") or state.get("Arguments") or {}
            function = fields.get("FunctionName") if isinstance(fields, dict) else None
            if function is None and ":lambda:" in state.get("Resource", "") and ":function:" in state["Resource"]:
                function = state["Resource"]
            if isinstance(function, str) and function not in seen:
                seen.append(function)
        name = state.get("Next")
    return seen


def bind_by_order(definition: dict) -> dict[str, str]:
    """Map a user's exported workflow's functions to Scones's, by the order they are called.

    The course's state machines call the serializer, the classifier and the
    filter in that order, whatever their functions are named in the account
    they were exported from.
    """
    functions = called_functions(definition)
    if len(functions) != len(FUNCTIONS):
        raise InputError(f"the definition calls {len(functions)} Lambda function(s) ({', '.join(functions) or 'none'}); "
                         f"Scones binds exactly three, in order: {', '.join(FUNCTIONS)}")
    return dict(zip(functions, FUNCTIONS))


def bound_workflow(definition: dict | None, function_arn: Callable[[str], str]) -> tuple[dict[str, str], dict]:
    """``(functions, definition)`` of a workflow run in-process: Scones's own, its functions at
    ``function_arn(logical)``; or a user's ``definition`` as it is, its functions bound in call order."""
    if definition is None:
        functions = {logical: function_arn(logical) for logical in FUNCTIONS}
        return functions, fill_definition(workflow_definition(), functions)
    return {logical: called for called, logical in bind_by_order(definition).items()}, definition
