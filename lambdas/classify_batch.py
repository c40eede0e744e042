"""classifyBatch: the child of ``scones batch``'s Distributed Map, classifying one batch of listed images.

The event is the ItemBatcher's ``{"BatchInput": {bucket, threshold, class_names}, "Items": [listed objects]}``.
The objects are read from S3 and sent to the endpoint ``$ENDPOINT_NAME``
(the built-in algorithm's endpoint takes one image per request), both
``CONCURRENCY`` at a time. An object that cannot be read or that the endpoint
refuses fails alone, in the result's ``failures``.
"""

from __future__ import annotations

from scones.batch_child import ConcurrentReads, classify_batch
from scones.clients import client
from scones.lambdas.classify_image import CONTENT_TYPE, endpoint_name

CONCURRENCY = 16


def read_object(bucket: str, key: str) -> bytes:
    return client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()


def classify_each(bodies) -> list:
    """Each body's probabilities from the endpoint, or the error (ModelError…) it alone failed with."""
    from concurrent.futures import ThreadPoolExecutor

    runtime, name = client("sagemaker-runtime"), endpoint_name()

    def one(body: bytes):
        try:
            return runtime.invoke_endpoint(EndpointName=name, ContentType=CONTENT_TYPE, Body=body)["Body"].read()
        except Exception as error:  # one refused image fails only itself
            return error

    with ThreadPoolExecutor(max(1, min(CONCURRENCY, len(bodies)))) as pool:
        return list(pool.map(one, bodies))


def lambda_handler(event, context):
    with ConcurrentReads(read_object, CONCURRENCY) as read:
        return classify_batch(event, read=read, classify=classify_each)
