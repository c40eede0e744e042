"""Reading a state machine definition, and filling its ``${Name}`` placeholders.

One definition file serves both AWS and this laptop: like SAM's
``DefinitionSubstitutions``, the file says ``"Resource": "${ClassifyFunctionArn}"``
and each side substitutes its own value. An unfilled placeholder is an error
that names it, never a silent literal.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Mapping, Union

from scones import json_depth

Definition = Union[str, bytes, os.PathLike, Mapping[str, Any]]

# ${Name} is replaced; ${!Name} is CloudFormation's escape for a literal ${Name}.
PLACEHOLDER = re.compile(r"\$\{(!?)([A-Za-z0-9_.:-]+)\}")


class DefinitionLoadError(ValueError):
    """The definition could not be read or parsed as JSON."""


class SubstitutionError(ValueError):
    """Placeholders were left without a value."""

    def __init__(self, missing: list[str]):
        names = ", ".join(f"${{{name}}}" for name in missing)
        super().__init__(f"no value given for placeholder(s) {names}: pass them as substitutions")
        self.missing = missing


def load(definition: Definition) -> dict:
    """Return the definition as a dict, from a dict, JSON text, or a file path.

    A string that starts with ``{`` (after whitespace) is JSON text; any other
    string or path-like is a file name.
    """
    if isinstance(definition, Mapping):
        try:
            json_depth.check_value(definition, "the definition")
        except json_depth.TooDeep as error:
            raise DefinitionLoadError(str(error)) from None
        return dict(definition)
    if isinstance(definition, bytes):
        definition = definition.decode("utf-8")
    if isinstance(definition, str) and definition.lstrip().startswith("{"):
        return _parse(definition, "definition text")
    path = os.fspath(definition)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise DefinitionLoadError(f"cannot read definition file {path}: {error.strerror}") from error
    return _parse(text, path)


def _parse(text: str, origin: str) -> dict:
    try:
        value = json_depth.parse(text, origin)
    except json_depth.TooDeep as error:
        raise DefinitionLoadError(str(error)) from None
    except json.JSONDecodeError as error:
        raise DefinitionLoadError(
            f"{origin} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from error
    if not isinstance(value, dict):
        raise DefinitionLoadError(f"{origin} must be a JSON object, not {type(value).__name__}")
    return value


def substitute(definition: str | Mapping[str, Any], substitutions: Mapping[str, Any]):
    """Replace every ``${Name}`` with ``substitutions["Name"]``.

    Text in, text out (values are inserted as strings, non-strings as JSON);
    dict in, dict out (keys and string values are rewritten; a string that is
    exactly one placeholder takes the value itself, so ``"${Retries}"`` can
    become the number 3). Raises :class:`SubstitutionError` naming every
    placeholder that has no value.
    """
    missing: list[str] = []

    def text_value(value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value)

    def replace(match: re.Match) -> str:
        escaped, name = match.groups()
        if escaped:
            return "${" + name + "}"
        if name not in substitutions:
            if name not in missing:
                missing.append(name)
            return match.group(0)
        return text_value(substitutions[name])

    def rewrite(value: Any) -> Any:
        if isinstance(value, str):
            whole = PLACEHOLDER.fullmatch(value)
            if whole and not whole.group(1) and whole.group(2) in substitutions:
                return substitutions[whole.group(2)]
            return PLACEHOLDER.sub(replace, value)
        if isinstance(value, Mapping):
            return {PLACEHOLDER.sub(replace, key): rewrite(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rewrite(item) for item in value]
        return value

    result = PLACEHOLDER.sub(replace, definition) if isinstance(definition, str) else rewrite(definition)
    if missing:
        raise SubstitutionError(missing)
    return result
