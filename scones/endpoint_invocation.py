"""Asking an endpoint for class probabilities over SageMaker's runtime API (both backends' endpoints speak it).

A body the model container refuses (not an image, over the pixel limit) comes
back as ``ModelError`` with the container's 4xx status and message: that is the
caller's input, so it is an :class:`EndpointRefusedInput` (one line in the CLI),
not a botocore traceback.
"""

from __future__ import annotations

import re

import botocore.exceptions

from scones.errors import InputError
from scones.inferences import parse_inferences

# SageMaker's wording: 'Received client error (400) from primary with message "…". See https://…'
_CONTAINER_MESSAGE = re.compile(r'Received client error \((4\d\d)\) from \w+ with message "(.*)"', re.DOTALL)


class EndpointRefusedInput(InputError):
    """The model container answered 4xx: the body sent is not something the model can read."""


def invoke_probabilities(runtime, endpoint_name: str, body: bytes, content_type: str) -> list[float]:
    """The endpoint's probabilities for ``body``; a container's 4xx refusal raises :class:`EndpointRefusedInput`."""
    try:
        response = runtime.invoke_endpoint(EndpointName=endpoint_name, ContentType=content_type, Body=body)
    except botocore.exceptions.ClientError as error:
        refusal = container_refusal(error.response.get("Error", {}).get("Code"), str(error))
        if refusal is None:
            raise
        raise EndpointRefusedInput(f"endpoint {endpoint_name} refused the {len(body)}-byte body: {refusal}") from None
    return parse_inferences(response["Body"].read())


def container_refusal(code: str | None, message: str) -> str | None:
    """The container's own message when a ModelError is its 4xx refusal of the input, else None."""
    found = _CONTAINER_MESSAGE.search(message) if code == "ModelError" else None
    return found.group(2) if found else None
