"""serializeImageData: read the image named by the event from S3 and return it as base64.

Input ``{"s3_bucket": ..., "s3_key": ...}`` (also inside ``body``); output
``{"statusCode": 200, "body": {"image_data", "s3_bucket", "s3_key", "inferences": []}}``.
"""

from __future__ import annotations

import base64

from scones.clients import client
from scones.lambda_events import event_body, require, response


def lambda_handler(event, context):
    body = event_body(event)
    bucket = require(body, "s3_bucket", "the bucket holding the image")
    key = require(body, "s3_key", "the image's key, e.g. test/bicycle_s_000513.png")
    image = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    return response({
        "image_data": base64.b64encode(image).decode("ascii"),
        "s3_bucket": bucket,
        "s3_key": key,
        "inferences": [],
    })
