"""Does a mocked Task result look like what the integration really answers?

AWS's TestState API checks mocked results against the API's response model
with a ``fieldValidationMode``; this module does the same from botocore's
service models (shipped with boto3, so no network):

- ``STRICT`` (the default): every required field is present, and every field
  present is known to the model and of its type;
- ``PRESENT``: every field present is known and of its type;
- ``NONE``: nothing is checked.

Checked integrations are ``arn:aws:states:::lambda:invoke`` and the other
request-response integrations (``arn:aws:states:::sqs:sendMessage``…) and the
AWS SDK integrations (``arn:aws:states:::aws-sdk:s3:getObject``…). The results
of Lambda function ARNs, activities, ``.sync`` and ``.waitForTaskToken``
tasks are whatever the worker sent, so there is no shape to check.

https://docs.aws.amazon.com/step-functions/latest/apireference/API_MockInput.html
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

STRICT, PRESENT, NONE = "STRICT", "PRESENT", "NONE"
MODES = (STRICT, PRESENT, NONE)

_STATES_PREFIX = "arn:aws:states:::"
# Fields Step Functions adds to the responses of its optimized integrations.
_STEP_FUNCTIONS_FIELDS = ("SdkHttpMetadata", "SdkResponseMetadata")
# Where the SDK integrations' service names differ from botocore's.
_SERVICE_ALIASES = {"sfn": "stepfunctions", "cloudwatchlogs": "logs", "elasticloadbalancingv2": "elbv2",
                    "elasticloadbalancing": "elb"}
# Members the integration returns parsed, not as the API's blob: lambda:invoke's Payload is the function's JSON.
_JSON_MEMBERS = {("lambda", "Invoke"): frozenset({"Payload"})}
_SCALARS = {
    "string": (str,),
    "character": (str,),
    "blob": (str,),
    "timestamp": (str, int, float),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
}


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"field_validation_mode must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def integration_operation(resource: str) -> tuple[str, str, bool] | None:
    """(botocore service, action, is an SDK integration) a Task's Resource calls, or None if it has no API shape."""
    if not resource.startswith(_STATES_PREFIX) or "." in resource[len(_STATES_PREFIX):]:
        return None  # Lambda ARNs, activities, .sync and .waitForTaskToken
    parts = resource[len(_STATES_PREFIX):].split(":")
    if parts[0] == "aws-sdk" and len(parts) == 3:
        return _SERVICE_ALIASES.get(parts[1], parts[1]), parts[2], True
    if len(parts) == 2:
        return _SERVICE_ALIASES.get(parts[0], parts[0]), parts[1], False
    return None


@lru_cache(maxsize=64)
def _output_shape(service: str, action: str):
    """botocore's output shape of ``service``'s ``action`` (camelCase, as ASL spells it), or None if unknown."""
    import botocore.session  # only when a mock is checked: the interpreter stays light

    session = botocore.session.get_session()
    if service not in session.get_available_services():
        return None
    model = session.get_service_model(service)
    names = {name.lower(): name for name in model.operation_names}
    operation = names.get(action.lower())
    if operation is None:
        return None
    return operation, model.operation_model(operation).output_shape


def shape_problems(resource: str, value: Any, mode: str = STRICT) -> list[str]:
    """What is wrong with ``value`` as the result of a Task calling ``resource`` (empty: nothing)."""
    if check_mode(mode) == NONE:
        return []
    target = integration_operation(resource)
    if target is None:
        return []
    service, action, sdk = target
    found = _output_shape(service, action)
    if found is None:
        return [f"botocore knows no operation '{action}' of '{service}'"] if sdk else []
    operation, shape = found
    if shape is None:
        return [] if value == {} else ["the operation returns no fields"]
    problems: list[str] = []
    extra = () if sdk else _STEP_FUNCTIONS_FIELDS
    _check_structure(shape, value, "", mode, problems, extra, _JSON_MEMBERS.get((service, operation), frozenset()))
    return problems


def _check(shape, value: Any, where: str, mode: str, problems: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure":
        _check_structure(shape, value, where, mode, problems)
    elif kind == "list":
        if not isinstance(value, list):
            problems.append(f"'{where}' must be a list, not {_json_type(value)}")
            return
        for index, item in enumerate(value):
            _check(shape.member, item, f"{where}[{index}]", mode, problems)
    elif kind == "map":
        if not isinstance(value, dict):
            problems.append(f"'{where}' must be an object, not {_json_type(value)}")
            return
        for key, item in value.items():
            _check(shape.value, item, f"{where}.{key}", mode, problems)
    else:
        expected = _SCALARS.get(kind, ())
        if expected and (not isinstance(value, expected) or (bool not in expected and isinstance(value, bool))):
            problems.append(f"'{where}' must be of type {kind}, not {_json_type(value)}")


def _check_structure(shape, value: Any, where: str, mode: str, problems: list[str],
                     extra: tuple[str, ...] = (), json_members: frozenset = frozenset()) -> None:
    if not isinstance(value, dict):
        problems.append(f"'{where or '$'}' must be an object, not {_json_type(value)}")
        return
    prefix = f"{where}." if where else ""
    for name, item in value.items():
        if name in extra or name in json_members:
            continue
        member = shape.members.get(name)
        if member is None:
            problems.append(f"'{prefix}{name}' is not a field of {shape.name}")
        else:
            _check(member, item, prefix + name, mode, problems)
    if mode == STRICT:
        problems.extend(f"the required field '{prefix}{name}' is missing" for name in shape.required_members
                        if name not in value)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return {str: "a string", list: "a list", dict: "an object", type(None): "null"}[type(value)]
