"""classifyImage: send the decoded image to the SageMaker endpoint and add its inferences.

The endpoint is ``$ENDPOINT_NAME``. The response body, a JSON list of class
probabilities, is stored decoded under ``inferences``.
"""

from __future__ import annotations

import base64
import binascii
import json

from scones.clients import client
from scones.function_environment import environment
from scones.lambda_events import EventFormatError, event_body, require, response

CONTENT_TYPE = "image/png"


def endpoint_name() -> str:
    name = environment().get("ENDPOINT_NAME")
    if not name:
        raise EventFormatError("ENDPOINT_NAME is not set: configure the function with the endpoint's name")
    return name


def lambda_handler(event, context):
    body = event_body(event)
    encoded = require(body, "image_data", "the base64 image from serializeImageData")
    try:
        image = base64.b64decode(encoded, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise EventFormatError("image_data is not valid base64; pass serializeImageData's output") from None
    result = client("sagemaker-runtime").invoke_endpoint(
        EndpointName=endpoint_name(), ContentType=CONTENT_TYPE, Body=image
    )
    inferences = json.loads(result["Body"].read().decode("utf-8"))
    return response({**body, "inferences": inferences})
