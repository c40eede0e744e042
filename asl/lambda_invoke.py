"""Running a Python Lambda handler in-process with Lambda's observable semantics.

What a handler sees and what Step Functions gets back are the same as on AWS:

- the event and the result cross a JSON boundary (so a handler can neither
  mutate the workflow's data nor return something that is not JSON);
- ``context`` has the attributes and ``get_remaining_time_in_millis()`` of the
  Python runtime's ``LambdaContext``;
- an exception becomes a function error named by the exception's class, with
  the cause the Python runtime writes: ``{"errorMessage", "errorType",
  "requestId", "stackTrace"}``;
- payloads over Lambda's 6 MB synchronous limit and handlers that outlive
  their timeout fail with Lambda's own error names.

https://docs.aws.amazon.com/lambda/latest/dg/python-context.html
https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html
"""

from __future__ import annotations

import decimal
import json
import sys
import traceback
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from .clock import Clock
from .errors import StatesError

REQUEST_LIMIT_BYTES = 6_291_456
RESPONSE_LIMIT_BYTES = 6_291_556
DEFAULT_TIMEOUT_SECONDS = 3
DEFAULT_MEMORY_MB = 128


@dataclass(frozen=True)
class LambdaFunction:
    """A function registered under ``name`` in ``region``/``account``."""

    name: str
    handler: Callable[[Any, Any], Any]
    region: str
    account: str
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    memory_size: int = DEFAULT_MEMORY_MB

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:function:{self.name}"


class LambdaContext:
    """The ``context`` argument of a handler, as the Python runtime builds it."""

    def __init__(self, function: LambdaFunction, request_id: str, qualifier: str | None, invoked_arn: str,
                 clock: Clock, started: datetime):
        self.aws_request_id = request_id
        self.function_name = function.name
        self.function_version = qualifier if qualifier and qualifier.isdigit() else "$LATEST"
        self.invoked_function_arn = invoked_arn
        self.memory_limit_in_mb = str(function.memory_size)  # the runtime reads it from the environment: a string
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.identity = None
        self.client_context = None
        self._clock = clock
        self._started = started
        self._deadline = started.timestamp() + function.timeout

    @property
    def log_stream_name(self) -> str:
        return f"{self._started:%Y/%m/%d}/[{self.function_version}]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - self._clock.now().timestamp()) * 1000))


def _encode_decimal(obj: Any) -> Any:
    if isinstance(obj, decimal.Decimal):
        return float(obj) if obj % 1 else int(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


# Encode like the Python runtime: Decimals allowed, anything else that is not JSON refused.
_lambda_json = json.JSONEncoder(default=_encode_decimal).encode


def _size(text: str) -> int:
    """UTF-8 size of ``text`` without encoding it when it is plainly small enough."""
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def _function_error(error_type: str, message: str, request_id: str, stack: list[str]) -> StatesError:
    cause = {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack}
    return StatesError(error_type, json.dumps(cause))


def invoke(
    function: LambdaFunction,
    event: Any,
    request_json: str,
    *,
    request_id: str,
    qualifier: str | None,
    invoked_arn: str,
    clock: Clock,
) -> tuple[Any, str]:
    """Invoke ``function`` with ``event``; return its result and the result's JSON text.

    ``event`` must be a fresh JSON value the handler may keep or mutate (parsed
    from ``request_json``, the request text whose size Lambda limits).
    Raises :class:`StatesError` with the error Step Functions would report.
    """
    if _size(request_json) > REQUEST_LIMIT_BYTES:
        raise StatesError(
            "Lambda.RequestTooLargeException",
            f"Request must be smaller than {REQUEST_LIMIT_BYTES} bytes for the InvokeFunction operation "
            f"(Service: AWSLambda; Status Code: 413; Error Code: RequestTooLargeException; "
            f"Request ID: {request_id}; Proxy: null)",
        )
    started = clock.now()
    context = LambdaContext(function, request_id, qualifier, invoked_arn, clock, started)
    try:
        result = function.handler(event, context)
    except Exception as error:  # any handler exception is a function error, as in Lambda
        frames = traceback.extract_tb(sys.exc_info()[2])[1:]  # drop this frame: Lambda shows only user code
        failure = _function_error(type(error).__name__, str(error), request_id, traceback.format_list(frames))
    else:
        failure = None
    if (clock.now() - started).total_seconds() > function.timeout:
        raise StatesError(
            "Sandbox.Timedout",
            json.dumps(
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {request_id} Error: Task timed out after {function.timeout:.2f} seconds",
                }
            ),
        )
    if failure:
        raise failure
    try:
        result_json = _lambda_json(result)
    except (TypeError, ValueError) as error:
        raise _function_error("Runtime.MarshalError", f"Unable to marshal response: {error}", request_id, []) from None
    if _size(result_json) > RESPONSE_LIMIT_BYTES:
        raise _function_error(
            "Function.ResponseSizeTooLarge",
            f"Response payload size exceeded maximum allowed payload size ({RESPONSE_LIMIT_BYTES} bytes).",
            request_id,
            [],
        )
    return json.loads(result_json), result_json
