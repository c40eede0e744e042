"""What a Task state's ``Resource`` resolves to, and how it is called.

Four shapes of ``Resource`` exist, each with its own history events:

============================================  ==========================  ================
Resource                                      runs                        events
============================================  ==========================  ================
``arn:aws:lambda:R:A:function:NAME[:Q]``      a registered Lambda         LambdaFunction…
``arn:aws:states:::lambda:invoke``            the Lambda named by         Task…
                                              ``Parameters.FunctionName``
``arn:aws:states:::SERVICE:ACTION[.sync…]``   a registered callable       Task…
``arn:aws:states:R:A:activity:NAME``          a registered callable       Activity…
============================================  ==========================  ================

Lambdas are looked up by function name, so ``serializeImageData``, its partial
ARN and its full ARN (with or without ``:$LATEST``) all find the handler
registered as ``serializeImageData``. Other resources are registered by their
exact ARN as ``fn(parameters, context) -> result``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from .clock import Clock
from .errors import PERMISSIONS, RUNTIME, StatesError
from .lambda_invoke import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_SECONDS, REQUEST_LIMIT_BYTES, LambdaFunction, invoke

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
STATES_PREFIX = "arn:aws:states:::"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
RESPONSE_ENVELOPE_BYTES = 4096  # more than the JSON of a lambda:invoke response without its Payload

Integration = Callable[[Any, "TaskContext"], Any]


def function_name_parts(function: str) -> tuple[str, str | None, str | None, str | None]:
    """Split a Lambda FunctionName into (name, qualifier, region, account).

    Accepts ``NAME[:Q]``, ``ACCOUNT:function:NAME[:Q]`` and
    ``arn:aws:lambda:REGION:ACCOUNT:function:NAME[:Q]``.
    """
    parts = function.split(":")
    if function.startswith("arn:") and len(parts) >= 7 and parts[5] == "function":
        return parts[6], (parts[7] if len(parts) > 7 else None), parts[3], parts[4]
    if len(parts) >= 3 and parts[1] == "function":
        return parts[2], (parts[3] if len(parts) > 3 else None), None, parts[0]
    return parts[0], (parts[1] if len(parts) > 1 else None), None, None


class Resources:
    """The registry of Lambda handlers and integration callables an execution may call."""

    def __init__(self, *, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT):
        self.region = region
        self.account = account
        self._lambdas: dict[str, LambdaFunction] = {}
        self._integrations: dict[str, Integration] = {}

    def add_lambda(
        self,
        function: str,
        handler: Callable[[Any, Any], Any],
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        memory_size: int = DEFAULT_MEMORY_MB,
    ) -> "Resources":
        """Register ``handler(event, context)`` as the Lambda function ``function`` (name or ARN)."""
        name, _, region, account = function_name_parts(function)
        self._lambdas[name] = LambdaFunction(
            name, handler, region or self.region, account or self.account, timeout, memory_size
        )
        return self

    def add_integration(self, resource: str, handler: Integration) -> "Resources":
        """Register ``handler(parameters, context)`` for the exact Resource ARN ``resource``."""
        self._integrations[resource] = handler
        return self

    def find_lambda(self, function: str) -> tuple[LambdaFunction, str | None, str] | None:
        """The function a FunctionName (name, partial or full ARN) refers to, its qualifier, and the ARN invoked."""
        name, qualifier, region, account = function_name_parts(function)
        registered = self._lambdas.get(name)
        if registered is None:
            return None
        arn = f"arn:aws:lambda:{region or registered.region}:{account or registered.account}:function:{name}"
        return registered, qualifier, arn + (f":{qualifier}" if qualifier else "")

    def find_integration(self, resource: str) -> Integration | None:
        return self._integrations.get(resource)

    # --- mock hooks: plain resources mock nothing (see mock_config.MockedResources) ---

    def mocks(self, state_name: str) -> bool:
        """Is the Task state ``state_name`` answered by a mock instead of a resource?"""
        return False

    def mocked_answer(self, state_name: str):
        """The mocked answer to this call of ``state_name``'s task, or None to call the resource."""
        return None

    def lambda_arn(self, function: str) -> str:
        """The qualified ARN a FunctionName stands for (used in not-found messages)."""
        name, qualifier, region, account = function_name_parts(function)
        arn = f"arn:aws:lambda:{region or self.region}:{account or self.account}:function:{name}"
        return f"{arn}:{qualifier or '$LATEST'}"  # Lambda names the version it resolved


def as_resources(value: "Resources | Mapping[str, Callable] | None") -> Resources:
    """Accept a :class:`Resources`, or a plain dict ``{name or ARN: callable}``.

    In a dict, keys starting with ``arn:aws:states:`` are integrations or
    activities; every other key names a Lambda function.
    """
    if isinstance(value, Resources):
        return value
    resources = Resources()
    for key, handler in (value or {}).items():
        if key.startswith("arn:aws:states:"):
            resources.add_integration(key, handler)
        else:
            resources.add_lambda(key, handler)
    return resources


# The prefix of the history events each kind of task writes: LambdaFunctionScheduled, TaskScheduled…
LAMBDA_EVENTS, TASK_EVENTS, ACTIVITY_EVENTS = "LambdaFunction", "Task", "Activity"


class TaskContext:
    """The ``context`` an integration callable receives.

    ``heartbeat()`` is how a long-running callable tells the interpreter it is
    alive (what SendTaskHeartbeat does on AWS); ``task_token`` is set for
    ``.waitForTaskToken`` resources.
    """

    def __init__(self, *, execution_arn: str, state_name: str, task_token: str | None, clock: Clock):
        self.execution_arn = execution_arn
        self.state_name = state_name
        self.task_token = task_token
        self.clock = clock
        self.heartbeats: list[datetime] = []
        # An upper bound of the result's JSON size in bytes, set by integrations that know one (lambda:invoke).
        self.result_size_bound: int | None = None

    def heartbeat(self) -> None:
        self.heartbeats.append(self.clock.now())


@dataclass(frozen=True)
class TaskResource:
    """A Task's ``Resource``, classified once when the definition is loaded."""

    arn: str
    events: str  # the event prefix: LAMBDA_EVENTS, TASK_EVENTS or ACTIVITY_EVENTS
    resource_type: str | None = None  # for Task… events: "lambda", "aws-sdk:s3", "sagemaker"
    resource: str | None = None  # for Task… events: "invoke", "getObject", "createTransformJob.sync"

    @property
    def waits_for_task_token(self) -> bool:
        return self.arn.endswith(".waitForTaskToken")

    @property
    def is_lambda_invoke(self) -> bool:
        return self.arn.split(".")[0] == LAMBDA_INVOKE

    @property
    def is_lambda_function(self) -> bool:
        return self.events == LAMBDA_EVENTS

    def event_fields(self) -> dict:
        """The ``resourceType``/``resource`` pair Task… events carry (empty for the others)."""
        if self.resource_type is None:
            return {}
        return {"resourceType": self.resource_type, "resource": self.resource}


def classify(resource: str) -> TaskResource | None:
    """Classify a Resource ARN; None if it is not one Step Functions accepts."""
    if resource.startswith("arn:aws:lambda:") and function_name_parts(resource)[2]:
        return TaskResource(resource, LAMBDA_EVENTS)
    if resource.startswith(STATES_PREFIX) and ":" in resource[len(STATES_PREFIX):]:
        resource_type, action = resource[len(STATES_PREFIX):].rsplit(":", 1)
        return TaskResource(resource, TASK_EVENTS, resource_type, action)
    parts = resource.split(":")
    if resource.startswith("arn:aws:states:") and len(parts) == 7 and parts[5] == "activity":
        return TaskResource(resource, ACTIVITY_EVENTS)
    return None


def call(
    target: TaskResource,
    parameters_json: str,
    *,
    resources: Resources,
    context: TaskContext,
    request_id: str,
) -> Any:
    """Run the task with its parameters (as JSON text); return its raw result (before ResultSelector)."""
    mocked = resources.mocked_answer(context.state_name)
    if mocked is not None:
        return mocked.give()
    if target.is_lambda_function:
        return _call_lambda(target.arn, parameters_json, resources, context, request_id)
    if target.is_lambda_invoke:
        return _lambda_invoke(parameters_json, resources, context, request_id)
    handler = resources.find_integration(target.arn)
    if handler is None:
        raise StatesError(
            RUNTIME,
            f"No handler is registered for the resource '{target.arn}'. "
            f"Register one with Resources.add_integration('{target.arn}', fn).",
        )
    try:
        result = handler(json.loads(parameters_json), context)
    except StatesError:
        raise
    except PermissionError as error:  # an AccessDenied from the service behind the task
        raise StatesError(PERMISSIONS, str(error)) from None
    except Exception as error:
        raise StatesError(type(error).__name__, str(error)) from None
    return json.loads(json.dumps(result))


def lambda_not_found(function: str, resources: Resources, request_id: str) -> StatesError:
    """The error Step Functions reports for a Lambda function that does not exist."""
    return StatesError(
        "Lambda.ResourceNotFoundException",
        f"Function not found: {resources.lambda_arn(function)} (Service: AWSLambda; Status Code: 404; "
        f"Error Code: ResourceNotFoundException; Request ID: {request_id}; Proxy: null)",
    )


def _call_lambda(function: str, payload_json: str, resources: Resources, context: TaskContext, request_id: str) -> Any:
    found = resources.find_lambda(function)
    if found is None:
        raise lambda_not_found(function, resources, request_id)
    lambda_function, qualifier, invoked_arn = found
    return invoke(lambda_function, json.loads(payload_json), payload_json, request_id=request_id, qualifier=qualifier,
                  invoked_arn=invoked_arn, clock=context.clock)[0]


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(moment: datetime) -> str:
    """RFC 7231 date (``Mon, 01 Jan 2024 00:00:00 GMT``), independent of the locale."""
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} GMT"
    )


def payload_event(payload: Any) -> Any:
    """The event a handler receives for Invoke's ``Payload``.

    Step Functions sends no payload for null (the runtime's event is then
    ``{}``), sends a string that is JSON text as that text, and JSON-encodes
    everything else.
    """
    if payload is None:
        return {}
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except ValueError:
            return payload
    return payload


def log_tail(request_id: str, version: str, memory_mb: int) -> str:
    """``LogResult`` of ``LogType: Tail``: the base64 of the invocation's last log lines (Lambda's own lines)."""
    lines = (
        f"START RequestId: {request_id} Version: {version}\n"
        f"END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: 1.00 ms\tBilled Duration: 1 ms\t"
        f"Memory Size: {memory_mb} MB\tMax Memory Used: {min(memory_mb, 40)} MB\t\n"
    )
    return base64.b64encode(lines.encode("utf-8")).decode("ascii")


def _lambda_invoke(parameters_json: str, resources: Resources, context: TaskContext, request_id: str) -> dict:
    """The optimized ``lambda:invoke`` integration: the Invoke API's response, Payload parsed."""
    parameters = json.loads(parameters_json)  # a private copy: its Payload becomes the handler's event
    if not isinstance(parameters, dict) or not isinstance(parameters.get("FunctionName"), str):
        raise StatesError(
            RUNTIME, "The field 'FunctionName' is required in the Parameters of arn:aws:states:::lambda:invoke"
        )
    function = parameters["FunctionName"]
    if parameters.get("Qualifier"):
        function = f"{function}:{parameters['Qualifier']}"
    found = resources.find_lambda(function)
    if found is None:
        raise lambda_not_found(function, resources, request_id)
    lambda_function, qualifier, invoked_arn = found
    event = payload_event(parameters.get("Payload"))
    # The request is the Payload; the parameters' JSON bounds its size without encoding it again.
    request = parameters_json if len(parameters_json) * 4 <= REQUEST_LIMIT_BYTES else json.dumps(event)
    payload_result, body = invoke(lambda_function, event, request, request_id=request_id, qualifier=qualifier,
                                  invoked_arn=invoked_arn, clock=context.clock)
    asynchronous = parameters.get("InvocationType") == "Event"
    version = qualifier if qualifier and qualifier.isdigit() else "$LATEST"
    if asynchronous:
        body = ""
    status = 202 if asynchronous else 200
    log_result = log_tail(request_id, version, lambda_function.memory_size) if parameters.get("LogType") == "Tail" else None
    headers = {
        "Connection": "keep-alive",
        "Content-Length": str(len(body) if body.isascii() else len(body.encode("utf-8"))),
        "Content-Type": "application/json",
        "Date": http_date(context.clock.now()),
        "X-Amz-Executed-Version": version,
        **({"X-Amz-Log-Result": log_result} if log_result else {}),
        "x-amzn-Remapped-Content-Length": "0",
        "x-amzn-RequestId": request_id,
        "X-Amzn-Trace-Id": f"root=1-{request_id[:8]}-{request_id.replace('-', '')[8:32]};sampled=0",
    }
    # The Payload re-encoded compactly is never longer than the handler's ASCII JSON; the rest is headers.
    context.result_size_bound = len(body) + RESPONSE_ENVELOPE_BYTES + 2 * len(log_result or "")
    return {
        "ExecutedVersion": version,
        **({"LogResult": log_result} if log_result else {}),
        "Payload": "" if asynchronous else payload_result,
        "SdkHttpMetadata": {
            "AllHttpHeaders": {name: [value] for name, value in headers.items()},
            "HttpHeaders": headers,
            "HttpStatusCode": status,
        },
        "SdkResponseMetadata": {"RequestId": request_id},
        "StatusCode": status,
    }
