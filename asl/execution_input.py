"""The execution input as StartExecution accepts it: JSON, at most 256 KiB, nesting within the bound.

AWS refuses a bad input when the execution is started, not as a failed
execution: StartExecution answers ``InvalidExecutionInput`` ("The provided JSON
input data is not valid") and no execution exists. :func:`accepted_input` does
the same for every way an input can be bad (not JSON, not serialisable, too
large, too deep), so a caller catches one error and never a parser's traceback.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_StartExecution.html
"""

from __future__ import annotations

import json
from typing import Any

from scones import json_depth

from .states import PAYLOAD_LIMIT_BYTES


class InvalidExecutionInput(ValueError):
    """StartExecution's error for an input it refuses; ``code`` is AWS's error code."""

    code = "InvalidExecutionInput"

    def __init__(self, reason: str):
        super().__init__(f"{self.code}: {reason}")


def accepted_input(value: Any) -> tuple[str, Any]:
    """The input's JSON text and its value; :class:`InvalidExecutionInput` names what is wrong and the fix."""
    text = _input_text(value)
    size = len(text.encode("utf-8"))
    if size > PAYLOAD_LIMIT_BYTES:
        raise InvalidExecutionInput(f"the execution input is {size} bytes, larger than the "
                                    f"{PAYLOAD_LIMIT_BYTES}-byte limit of Step Functions; pass a reference "
                                    "(an S3 key) instead of the data")
    try:
        return text, json_depth.parse(text, "the execution input")
    except json_depth.TooDeep as error:
        raise InvalidExecutionInput(str(error)) from None
    except json.JSONDecodeError as error:
        raise InvalidExecutionInput(f"the execution input is not JSON ({error.msg} at line {error.lineno} "
                                    f"column {error.colno})") from None


def _input_text(value: Any) -> str:
    """JSON text as given, or a value's compact JSON (no input: ``{}``, as StartExecution defaults it)."""
    if isinstance(value, str):
        return value
    try:
        json_depth.check_value(value, "the execution input")
        # A full encoder checks the caller's value: it may not be JSON, or may be circular.
        return json.dumps({} if value is None else value, separators=(",", ":"), ensure_ascii=False)
    except json_depth.TooDeep as error:
        raise InvalidExecutionInput(str(error)) from None
    except (TypeError, ValueError) as error:
        raise InvalidExecutionInput(f"the execution input is no JSON value ({error})") from None
