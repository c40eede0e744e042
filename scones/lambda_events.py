"""The workflow's event contract, shared by the three Lambda handlers.

Each handler returns ``{"statusCode": 200, "body": {...}}`` as the course's
do. Users' state machines hand the next function either that whole object,
just its ``body`` (``OutputPath: $.Payload.body`` or ``InputPath: $.body``),
or a ``body`` that is still a JSON string; :func:`event_body` accepts all of
them. Standard library only: this module ships inside the Lambda zips.
"""

from __future__ import annotations

import json

from scones.errors import InputError


class EventFormatError(InputError):
    """An event the workflow's Lambdas cannot read; the message names the field and the fix."""


def event_body(event) -> dict:
    """The workflow fields of ``event``, whichever of the accepted shapes it has."""
    if isinstance(event, str):
        event = _json_object(event, "the event")
    if not isinstance(event, dict):
        raise EventFormatError(f"the event must be a JSON object, got {type(event).__name__}")
    body = event.get("body", event)
    if isinstance(body, str):
        body = _json_object(body, "the event's body")
    if not isinstance(body, dict):
        raise EventFormatError(f"the event's body must be an object or a JSON string, got {type(body).__name__}")
    return body


def require(body: dict, field: str, hint: str) -> object:
    try:
        return body[field]
    except KeyError:
        raise EventFormatError(f"the event has no {field!r} ({hint}); it has {sorted(body)}") from None


def response(body: dict) -> dict:
    return {"statusCode": 200, "body": body}


def _json_object(text: str, what: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise EventFormatError(f"{what} is a string but not JSON: {text[:80]!r}") from None
    if not isinstance(value, dict):
        raise EventFormatError(f"{what} must decode to a JSON object, got {type(value).__name__}")
    return value
